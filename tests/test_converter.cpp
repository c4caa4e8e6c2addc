// End to end: a small DRN made and saved by PyTorch (legacy torch.save, training
// checkpoint with module. prefixes; and a zip-format plain state dict),
// converted by models/convert_drn_checkpoint.py, loaded here, same output.
#include "bundle.h"
#include "drn.h"
#include "tensor_file.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cstdlib>

using gearnn::testing::env;

namespace {

gearnn::WeightTable table_from(const gearnn::Architecture& arch, const gearnn::NamedTensors& named) {
  gearnn::WeightTable w;
  for (const auto& slot : arch.slots()) {
    auto it = named.find(slot.name);
    EXPECT_NE(it, named.end()) << slot.name;
    w.push_back(it == named.end() ? at::Tensor() : it->second);
  }
  return w;
}

}  // namespace

TEST(Converter, PyTorchCheckpointGivesTheSameOutputInCpp) {
  const std::string python = env("GEARNN_PYTHON"), root = env("GEARNN_SOURCE_ROOT");
  if (python.empty() || root.empty()) GTEST_SKIP() << "GEARNN_PYTHON/GEARNN_SOURCE_ROOT unset (run through meson test)";
  if (std::system(("'" + python + "' -c 'import torch' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "SKIPPED: " << python << " has no torch module (install python3-torch)";

  const std::string dir = gearnn::testing::scratch_dir("converter");
  const std::string command = "'" + python + "' '" + root + "/tests/make_reference_drn.py' '" + dir + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  const gearnn::Architecture arch("drn_d_22", 5, 0.125);
  const auto io = gearnn::read_tensor_file(dir + "/io.safetensors");
  c10::InferenceMode guard;
  for (const char* file : {"weights_from_legacy.safetensors", "weights_from_zip.safetensors"}) {
    const auto weights = gearnn::read_tensor_file(dir + "/" + file);
    EXPECT_EQ(weights.tensors.size(), arch.slots().size()) << file;
    const at::Tensor out = arch.forward(table_from(arch, weights.tensors), io.tensors.at("input"));
    const double diff = (out - io.tensors.at("output")).abs().max().item<double>();
    EXPECT_LT(diff, 1e-4) << file;
  }
}
