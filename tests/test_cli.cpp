// Runs the real gearnn executable and checks exit codes and outputs.
#include "image.h"
#include "tensor_file.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <sys/wait.h>

using gearnn::testing::env;
using gearnn::testing::scratch_dir;

namespace {

struct CliRun {
  int code;
  std::string out;  // stdout and stderr together
};

CliRun gearnn_cli(const std::string& args) {
  const std::string cli = env("GEARNN_CLI");
  const std::string command = "'" + cli + "' " + args + " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  CliRun r{-1, ""};
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

nlohmann::json json_of(const CliRun& r) {
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception&) {
    ADD_FAILURE() << "not JSON: " << r.out;
    return {};
  }
}

class Cli : public ::testing::Test {
protected:
  void SetUp() override {
    if (env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  }
};

}  // namespace

TEST_F(Cli, HelpExitsZeroForEveryCommand) {
  for (const char* c : {"--help", "inspect --help", "bundle --help", "bundle random --help", "bundle base --help",
                        "segment --help", "bench switch --help"}) {
    const CliRun r = gearnn_cli(c);
    EXPECT_EQ(r.code, 0) << c << "\n" << r.out;
    EXPECT_NE(r.out.find("usage:"), std::string::npos) << c;
  }
}

TEST_F(Cli, BadUsageExitsTwo) {
  for (const char* c : {"", "frobnicate", "inspect", "inspect --arch drn_d_22", "inspect --bogus x",
                        "bundle", "bundle random --arch drn_d_22", "bundle random --classes 5 --levels x -o d",
                        "segment only-one-arg", "bench", "bench switch"}) {
    const CliRun r = gearnn_cli(c);
    EXPECT_EQ(r.code, 2) << "'" << c << "'\n" << r.out;
  }
}

TEST_F(Cli, FailuresExitOneAndNameTheFile) {
  const CliRun missing = gearnn_cli("inspect /nonexistent/bundle-dir");
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_NE(missing.out.find("/nonexistent/bundle-dir"), std::string::npos) << missing.out;

  const CliRun arch = gearnn_cli("inspect --arch drn_q_9 --classes 3");
  EXPECT_EQ(arch.code, 1) << arch.out;
  EXPECT_NE(arch.out.find("unknown architecture"), std::string::npos) << arch.out;

  const std::string bundle = gearnn::testing::small_bundle(3);
  const CliRun level = gearnn_cli("segment " + bundle + " /nonexistent.png -o /tmp/x.png");
  EXPECT_EQ(level.code, 1) << level.out;
  EXPECT_NE(level.out.find("/nonexistent.png"), std::string::npos) << level.out;
}

TEST_F(Cli, InspectArchitectureJson) {
  const auto j = json_of(gearnn_cli("inspect --arch drn_d_38 --classes 19 --json"));
  EXPECT_EQ(j["learnable_params"], 26003523);
  EXPECT_EQ(j["params_with_buffers"], 26022723);
}

TEST_F(Cli, RandomBundleThenInspect) {
  const std::string dir = scratch_dir("cli-bundle");
  const CliRun made = gearnn_cli("bundle random --arch drn_c_26 --classes 7 --width 0.125 --levels 4 --budget 1% -o " + dir);
  ASSERT_EQ(made.code, 0) << made.out;
  const auto j = json_of(gearnn_cli("inspect " + dir + " --json"));
  ASSERT_EQ(j["levels"].size(), 4u);
  EXPECT_EQ(j["architecture"], "drn_c_26");
  const int64_t base = j["base_params"];
  int64_t adaptors = 0, without = 0;
  for (const auto& l : j["levels"]) {
    adaptors += l["adaptor_params"].get<int64_t>();
    without += l["adaptor_params"] == 0;
    EXPECT_LE(l["adaptor_params"].get<int64_t>(), base / 100) << l["name"];
  }
  EXPECT_EQ(without, 1);
  EXPECT_NEAR(j["memory_overhead_percent"].get<double>(), 100.0 * adaptors / base, 1e-9);
}

TEST_F(Cli, SegmentWritesIndexAndColourPngs) {
  const std::string dir = scratch_dir("cli-segment");
  gearnn::RgbImage img{45, 31, std::vector<uint8_t>(45 * 31 * 3)};
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t(i * 7);
  gearnn::write_png_rgb(dir + "/in.png", img);
  const std::string bundle = gearnn::testing::small_bundle(3);
  const CliRun r = gearnn_cli("segment " + bundle + " " + dir + "/in.png --level q10 -o " + dir + "/cls.png --color " +
                           dir + "/col.png");
  ASSERT_EQ(r.code, 0) << r.out;
  const gearnn::ClassMap cls = gearnn::read_png_gray(dir + "/cls.png");
  EXPECT_EQ(cls.width, 45);
  EXPECT_EQ(cls.height, 31);
  for (uint8_t c : cls.classes) ASSERT_LT(c, 5);
  const gearnn::RgbImage col = gearnn::read_png_rgb(dir + "/col.png");
  EXPECT_EQ(col.width, 45);

  const CliRun unknown = gearnn_cli("segment " + bundle + " " + dir + "/in.png --level q999 -o " + dir + "/x.png");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.out.find("unknown level 'q999'"), std::string::npos) << unknown.out;
}

TEST_F(Cli, BenchSwitchJson) {
  const auto j = json_of(gearnn_cli("bench switch " + gearnn::testing::small_bundle(3) + " --json --rounds 20 --reloads 2"));
  for (const char* key : {"switch_us_median", "copy_us_median", "reload_ms_median", "memory_overhead_percent"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j[key].get<double>(), 0.0) << key;
  }
}

// --stages splits segment_into() into its parts: the input, every stage of the
// trunk in order, the class map; their MACs shares add up to the network's.
TEST_F(Cli, BenchForwardStagesJson) {
  const auto j = json_of(gearnn_cli("bench forward " + gearnn::testing::small_bundle(1) +
                                    " --size 64x48 --frames 2 --warmup 0 --stages --json"));
  ASSERT_TRUE(j.contains("stages")) << j.dump();
  const auto& parts = j["stages"];
  ASSERT_EQ(parts.size(), 11u) << j.dump();
  EXPECT_EQ(parts.front()["stage"], "input");
  EXPECT_EQ(parts.back()["stage"], "class map");
  double share = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i >= 1 && i <= 9) EXPECT_EQ(parts[i]["stage"], "base." + std::to_string(i - 1));
    EXPECT_GT(parts[i]["ms_median"].get<double>(), 0.0) << parts[i].dump();
    share += parts[i]["macs_share"].get<double>();
  }
  EXPECT_EQ(parts.front()["macs_share"].get<double>(), 0.0);
  EXPECT_NEAR(share, 1.0, 1e-9);
}

// A bundle's exits add their own parts, apart from the network's: each
// exit's head (with its MACs), confidence and class map, in trunk order.
TEST_F(Cli, BenchForwardStagesTimesEachExitsParts) {
  const std::string bundle = scratch_dir("cli-bench-exits") + "/bundle";
  const CliRun made = gearnn_cli("bundle random --arch drn_d_22 --width 0.125 --classes 5 --levels 1 "
                                 "--exits base.4,base.6 -o " + bundle);
  ASSERT_EQ(made.code, 0) << made.out;
  const auto j = json_of(gearnn_cli("bench forward " + bundle + " --size 64x48 --frames 2 --warmup 0 --stages --json"));
  ASSERT_EQ(j["stages"].size(), 11u) << j.dump();
  ASSERT_TRUE(j.contains("exit_parts")) << j.dump();
  const auto& parts = j["exit_parts"];
  ASSERT_EQ(parts.size(), 6u) << j.dump();
  size_t i = 0;
  for (const std::string after : {"base.4", "base.6"})
    for (const std::string part : {"head", "confidence", "class map"}) {
      EXPECT_EQ(parts[i]["stage"], "exit " + after + " " + part);
      EXPECT_GT(parts[i]["ms_median"].get<double>(), 0.0) << parts[i].dump();
      if (part == "head") EXPECT_GT(parts[i]["macs_share"].get<double>(), 0.0) << parts[i].dump();
      else EXPECT_EQ(parts[i]["macs_share"].get<double>(), 0.0) << parts[i].dump();
      ++i;
    }
}

// `bundle base` takes exactly the architecture's float32 tensors, as the
// converter writes them; anything else is refused with the tensor's name.
TEST_F(Cli, BundleBaseTakesExactlyTheArchitecturesTensors) {
  const std::string dir = scratch_dir("cli-bundle-base");
  const std::string weights = gearnn::testing::small_bundle(3) + "/base.safetensors";
  const std::string args = "bundle base --arch drn_d_22 --width 0.125 --classes 5 ";
  const CliRun ok = gearnn_cli(args + "--weights " + weights + " -o " + dir + "/ok");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/ok/manifest.json"));

  gearnn::TensorFile file = gearnn::read_tensor_file(weights);
  file.tensors["base.0.1.num_batches_tracked"] = at::zeros({1}, at::kLong);
  gearnn::write_tensor_file(dir + "/extra.safetensors", file.tensors);
  const CliRun extra = gearnn_cli(args + "--weights " + dir + "/extra.safetensors -o " + dir + "/extra");
  EXPECT_EQ(extra.code, 1) << extra.out;
  EXPECT_NE(extra.out.find("'base.0.1.num_batches_tracked' is not part of drn_d_22"), std::string::npos) << extra.out;
  EXPECT_NE(extra.out.find("convert_drn_checkpoint.py"), std::string::npos) << extra.out;

  file.tensors.erase("base.0.1.num_batches_tracked");
  file.tensors["seg.bias"] = file.tensors["seg.bias"].to(at::kDouble);
  gearnn::write_tensor_file(dir + "/double.safetensors", file.tensors);
  const CliRun wide = gearnn_cli(args + "--weights " + dir + "/double.safetensors -o " + dir + "/double");
  EXPECT_EQ(wide.code, 1) << wide.out;
  EXPECT_NE(wide.out.find("'seg.bias': dtype Double, expected float32"), std::string::npos) << wide.out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/double/manifest.json"));
}
