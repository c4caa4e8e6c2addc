#include "adaptive_model.h"
#include "error.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

using gearnn::AdaptiveModel;
using gearnn::Bundle;

namespace {

std::set<size_t> adaptor_slots(const Bundle& b, size_t level) {
  std::set<size_t> slots;
  if (const auto& a = b.manifest().levels[level].adaptor)
    for (const auto& name : a->layers)
      for (size_t s : b.architecture().layers()[*b.architecture().find_layer(name)].slots) slots.insert(s);
  return slots;
}

at::Tensor test_input() {
  at::manual_seed(11);
  return at::randn({1, 3, 40, 48});
}

}  // namespace

TEST(AdaptiveModel, SelectMatchesCopyingTheAdaptorIntoTheBase) {
  const auto bundle = Bundle::load(gearnn::testing::small_bundle(3));
  AdaptiveModel model(bundle);
  const at::Tensor x = test_input();

  for (size_t b = 0; b < bundle->level_count(); ++b) {
    for (size_t a = 0; a < bundle->level_count(); ++a) {
      model.select(a);
      model.select(b);
      // The reference: a private copy of the base with b's adaptor copied in.
      c10::InferenceMode guard;
      gearnn::WeightTable copied;
      for (const auto& t : bundle->base_weights()) copied.push_back(t.clone());
      if (const auto& adaptor = bundle->manifest().levels[b].adaptor) {
        const auto file = gearnn::read_tensor_file(bundle->folder() + "/" + adaptor->file);
        for (const auto& [name, t] : file.tensors) copied[*bundle->architecture().find_slot(name)].copy_(t);
      }
      const at::Tensor expected = bundle->architecture().forward(copied, x);
      EXPECT_TRUE(at::equal(model.forward(x), expected)) << "select(" << a << ") then select(" << b << ")";
    }
  }
}

TEST(AdaptiveModel, LevelsReallyDiffer) {
  // Guards the test above against adaptors that change nothing.
  AdaptiveModel model(Bundle::load(gearnn::testing::small_bundle(3)));
  const at::Tensor x = test_input();
  model.select(size_t(0));
  const at::Tensor a = model.forward(x);
  model.select(size_t(2));
  EXPECT_FALSE(at::allclose(a, model.forward(x)));
}

TEST(AdaptiveModel, NonAdaptorTensorsAreSharedNotDuplicated) {
  const std::string path = gearnn::testing::small_bundle(3);
  const auto bundle = Bundle::load_shared(path);
  const auto again = Bundle::load_shared(path + "/manifest.json");
  EXPECT_EQ(bundle.get(), again.get()) << "one resident copy per bundle";

  AdaptiveModel cam1(bundle), cam2(again);
  cam1.select(size_t(0));
  cam2.select(size_t(1));
  const auto& base = bundle->base_weights();
  for (size_t level = 0; level < bundle->level_count(); ++level) {
    const auto replaced = adaptor_slots(*bundle, level);
    for (size_t s = 0; s < base.size(); ++s) {
      const at::Tensor& t = bundle->weights(level)[s];
      // (Entries emptied by BN folding are empty in every table.)
      if (replaced.count(s)) EXPECT_NE(t.data_ptr(), base[s].data_ptr()) << "level " << level << " slot " << s;
      else EXPECT_TRUE(t.is_same(base[s])) << "level " << level << " slot " << s;
    }
  }
  // Across instances the tables themselves are the bundle's, not copies.
  EXPECT_EQ(&cam1.bundle(), &cam2.bundle());
}

TEST(AdaptiveModel, SharedBundleIsReleasedWhenUnused) {
  const std::string path = gearnn::testing::small_bundle(3);
  std::weak_ptr<const Bundle> watch;
  {
    auto b = Bundle::load_shared(path);
    watch = b;
    EXPECT_EQ(Bundle::load_shared(path).get(), b.get());
  }
  EXPECT_TRUE(watch.expired()) << "the process's copy is freed once no stream holds it";
  auto fresh = Bundle::load_shared(path);
  EXPECT_EQ(fresh->level_count(), 3u);
}

TEST(AdaptiveModel, TwoInstancesOnTwoThreadsMatchSequentialRuns) {
  const auto bundle = Bundle::load_shared(gearnn::testing::small_bundle(3));
  AdaptiveModel a(bundle), b(bundle);
  a.select(size_t(0));
  b.select(size_t(1));
  const at::Tensor x = test_input();
  const at::Tensor expected_a = a.forward(x), expected_b = b.forward(x);
  ASSERT_FALSE(at::equal(expected_a, expected_b));

  bool same_a = true, same_b = true;
  std::thread ta([&] {
    for (int i = 0; i < 8; ++i) same_a = same_a && at::equal(a.forward(x), expected_a);
  });
  std::thread tb([&] {
    for (int i = 0; i < 8; ++i) same_b = same_b && at::equal(b.forward(x), expected_b);
  });
  ta.join();
  tb.join();
  EXPECT_TRUE(same_a);
  EXPECT_TRUE(same_b);
}

TEST(AdaptiveModel, SelectByNameAndErrors) {
  AdaptiveModel model(Bundle::load(gearnn::testing::small_bundle(3)));
  const std::string name = model.bundle().manifest().levels[1].name;
  model.select(name);
  EXPECT_EQ(model.level(), 1u);
  model.select(name);  // the same level again changes nothing
  EXPECT_EQ(model.level_name(), name);
  EXPECT_THROW(model.select("no-such-level"), gearnn::Error);
  EXPECT_THROW(model.select(size_t(3)), gearnn::Error);
  EXPECT_EQ(model.level(), 1u);  // a failed select keeps the level
}

TEST(AdaptiveModel, SegmentHandlesOddSizesAndMatchesForward) {
  AdaptiveModel model(Bundle::load(gearnn::testing::small_bundle(3)));
  model.select(size_t(0));
  for (auto [w, h] : {std::pair{37, 29}, std::pair{8, 8}, std::pair{1, 1}, std::pair{64, 17}}) {
    gearnn::RgbImage img{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 37) % 251);
    const gearnn::ClassMap map = model.segment(img.view());
    ASSERT_EQ(map.width, w);
    ASSERT_EQ(map.height, h);
    const at::Tensor input =
        gearnn::frame_to_input(img.view(), model.bundle().manifest().normalization, at::kCPU);
    EXPECT_EQ(input.size(2) % 8, 0);
    EXPECT_EQ(input.size(3) % 8, 0);
    const gearnn::ClassMap direct = gearnn::argmax_class_map(model.forward(input), w, h);
    EXPECT_EQ(map.classes, direct.classes);
  }
}

TEST(AdaptiveModel, FrameToInputNormalisesAndHonoursStride) {
  // 2x1 frame in a buffer with 2 bytes of row padding.
  const uint8_t pixels[] = {255, 0, 51, 0, 255, 102, 9, 9};
  const gearnn::Normalization n{{0.5f, 0.5f, 0.5f}, {0.5f, 0.25f, 0.2f}};
  const at::Tensor x = gearnn::frame_to_input({pixels, 2, 1, 8}, n, at::kCPU);
  ASSERT_EQ(x.sizes().vec(), (std::vector<int64_t>{1, 3, 8, 8}));
  EXPECT_NEAR(x[0][0][0][0].item<float>(), 1.0f, 1e-6);   // (1 - 0.5) / 0.5
  EXPECT_NEAR(x[0][1][0][1].item<float>(), 2.0f, 1e-6);   // (1 - 0.5) / 0.25
  EXPECT_NEAR(x[0][2][0][0].item<float>(), -1.5f, 1e-6);  // (0.2 - 0.5) / 0.2
  EXPECT_TRUE(at::equal(x[0][0][7], x[0][0][0]));           // padded rows repeat the last row
}

// The fused one-pass conversion against the same arithmetic in plain ATen ops.
TEST(AdaptiveModel, FrameToInputMatchesAtenReference) {
  const gearnn::Normalization n{{0.41f, 0.43f, 0.44f}, {0.31f, 0.30f, 0.29f}};
  for (auto [w, h] : {std::pair{37, 29}, std::pair{48, 16}, std::pair{1, 9}}) {
    const size_t stride = size_t(w) * 3 + 5;  // padded rows
    std::vector<uint8_t> bytes(stride * size_t(h), 77);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t((i * 131 + 7) % 256);
    const at::Tensor x = gearnn::frame_to_input({bytes.data(), w, h, stride}, n, at::kCPU);

    const at::Tensor hwc = at::from_blob(bytes.data(), {h, w, 3}, {int64_t(stride), 3, 1}, at::kByte);
    at::Tensor ref = hwc.permute({2, 0, 1}).to(at::kFloat).div(255.0f);
    ref = (ref - at::tensor(at::ArrayRef<float>(n.mean.data(), 3)).view({3, 1, 1})) /
          at::tensor(at::ArrayRef<float>(n.std.data(), 3)).view({3, 1, 1});
    ref = at::replication_pad2d(ref.unsqueeze(0), {0, (8 - w % 8) % 8, 0, (8 - h % 8) % 8});
    ASSERT_EQ(x.sizes(), ref.sizes()) << w << "x" << h;
    EXPECT_LT((x - ref).abs().max().item<float>(), 1e-6f) << w << "x" << h;
  }
}

TEST(AdaptiveModel, ArgmaxClassMapMatchesAtArgmaxAndCrops) {
  at::manual_seed(5);
  // Coarse values make ties common: both must keep the lowest class.
  const at::Tensor scores = at::randint(0, 4, {1, 11, 24, 40}).to(at::kFloat);
  const int w = 37, h = 21;
  const gearnn::ClassMap map = gearnn::argmax_class_map(scores, w, h);
  const at::Tensor expected = scores[0].argmax(0).narrow(0, 0, h).narrow(1, 0, w).to(at::kByte).contiguous();
  ASSERT_EQ(map.classes.size(), size_t(w * h));
  EXPECT_EQ(map.classes, std::vector<uint8_t>(expected.data_ptr<uint8_t>(), expected.data_ptr<uint8_t>() + w * h));
  EXPECT_THROW(gearnn::argmax_class_map(scores, 41, h), gearnn::Error);
}

TEST(AdaptiveModel, CudaMatchesCpu) {
  if (!at::hasCUDA()) GTEST_SKIP() << "SKIPPED: no CUDA device or LibTorch without CUDA (build with -Dcuda=enabled)";
  const std::string path = gearnn::testing::small_bundle(3);
  AdaptiveModel cpu(Bundle::load(path, "cpu")), gpu(Bundle::load(path, "cuda"));
  EXPECT_TRUE(gpu.bundle().weights(0)[0].is_cuda());
  const at::Tensor x = test_input();
  for (size_t level = 0; level < 3; ++level) {
    cpu.select(level);
    gpu.select(level);
    // cuDNN may run convolutions in TF32, so compare relative to the output's scale.
    const at::Tensor expected = cpu.forward(x);
    const double diff = (expected - gpu.forward(x).cpu()).abs().max().item<double>();
    EXPECT_LT(diff, 1e-3 * expected.abs().max().item<double>()) << "level " << level;
  }
}

// A stream's frames of one size go through the same input buffer; a new size gets a new one.
TEST(AdaptiveModel, FrameInputKeepsItsBufferWhileTheSizeHolds) {
  const gearnn::Normalization n{{0.4f, 0.4f, 0.4f}, {0.3f, 0.3f, 0.3f}};
  gearnn::FrameInput input(n, at::kCPU);
  std::vector<uint8_t> a(37 * 29 * 3, 10), b(37 * 29 * 3, 200), c(64 * 16 * 3, 90);
  input.reserve(37, 29);
  const void* reserved = input.convert({a.data(), 37, 29, 37 * 3}).data_ptr();
  const at::Tensor second = input.convert({b.data(), 37, 29, 37 * 3});
  EXPECT_EQ(second.data_ptr(), reserved);
  EXPECT_TRUE(at::equal(second, gearnn::frame_to_input({b.data(), 37, 29, 37 * 3}, n, at::kCPU)));
  const at::Tensor other = input.convert({c.data(), 64, 16, 64 * 3});
  EXPECT_EQ(other.sizes().vec(), (std::vector<int64_t>{1, 3, 16, 64}));
  EXPECT_TRUE(at::equal(other, gearnn::frame_to_input({c.data(), 64, 16, 64 * 3}, n, at::kCPU)));
}

TEST(AdaptiveModel, SegmentIntoWritesTheSameMapAsSegment) {
  AdaptiveModel model(Bundle::load(gearnn::testing::small_bundle(3)));
  model.select(size_t(1));
  gearnn::RgbImage img{45, 23, std::vector<uint8_t>(45 * 23 * 3)};
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 53) % 253);
  std::vector<uint8_t> classes(45 * 23 + 1, 0xEE);  // one guard byte past the map
  model.segment_into(img.view(), classes.data());
  EXPECT_EQ(classes.back(), 0xEE);
  classes.pop_back();
  EXPECT_EQ(classes, model.segment(img.view()).classes);
}
