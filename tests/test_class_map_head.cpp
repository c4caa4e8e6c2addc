// The fused class-map path (scores at 1/8 resolution, bilinear up-sampling
// and argmax in one pass) against the exact one (transposed-conv up-sampling,
// log-softmax, argmax): the same class wherever the two best classes are not
// tied to rounding, per level and at odd sizes, borders included.
#include "adaptive_model.h"
#include "bundle.h"
#include "class_map_head.h"
#include "error.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <array>

namespace {

// Pixels where `fused` differs from the argmax of `log_probs`; each must be a
// near-tie there (its class within `tie` of the best).
int differing_pixels(const at::Tensor& log_probs, const std::vector<uint8_t>& fused, int width, int height,
                     double tie) {
  const gearnn::ClassMap exact = gearnn::argmax_class_map(log_probs, width, height);
  const auto lp = log_probs.accessor<float, 4>();
  int differing = 0;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const size_t i = size_t(y) * size_t(width) + size_t(x);
      if (fused[i] == exact.classes[i]) continue;
      ++differing;
      EXPECT_LT(lp[0][exact.classes[i]][y][x] - lp[0][fused[i]][y][x], tie) << "pixel " << x << "," << y;
    }
  return differing;
}

}  // namespace

TEST(ClassMapHead, FusedPathMatchesTheExactForwardOnEveryLevel) {
  c10::InferenceMode guard;
  gearnn::AdaptiveModel model(gearnn::Bundle::load(gearnn::testing::small_bundle(3)));
  const auto& n = model.bundle().manifest().normalization;
  long pixels = 0, differing = 0;
  for (size_t level = 0; level < model.bundle().level_count(); ++level) {
    model.select(level);
    for (auto [w, h] : {std::pair{37, 29}, std::pair{64, 48}, std::pair{8, 8}, std::pair{1, 1}, std::pair{121, 67}}) {
      gearnn::RgbImage img{w, h, std::vector<uint8_t>(size_t(w) * size_t(h) * 3)};
      for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 29 + level * 7) % 253);
      std::vector<uint8_t> fused(size_t(w) * size_t(h));
      model.segment_into(img.view(), fused.data());
      const at::Tensor exact = model.forward(gearnn::frame_to_input(img.view(), n, at::kCPU));
      differing += differing_pixels(exact, fused, w, h, 1e-4);
      pixels += long(w) * h;
    }
  }
  EXPECT_LE(differing * 10000, pixels) << differing << " of " << pixels << " pixels differ";
}

// Against ATen's own bilinear interpolation (align_corners=False, clamped at
// the border) of random scores, at sizes that crop the 8x output.
TEST(ClassMapHead, FusedUpsamplingEqualsBilinearInterpolation) {
  c10::InferenceMode guard;
  at::manual_seed(5);
  gearnn::UpsampledArgmax head;
  for (auto [h, w, height, width] : {std::array{5, 7, 37, 53}, std::array{2, 2, 16, 16}, std::array{1, 3, 3, 20},
                                     std::array{5, 7, 40, 56}}) {
    const at::Tensor scores = at::randn({1, 6, h, w});
    std::vector<uint8_t> fused(size_t(width) * size_t(height));
    head.run(scores, width, height, fused.data());
    const at::Tensor up = at::upsample_bilinear2d(scores, {8 * h, 8 * w}, false);
    EXPECT_EQ(differing_pixels(up, fused, width, height, 1e-5), 0) << h << "x" << w;
  }
}

TEST(ClassMapHead, ScoresSmallerThanTheFrameAreAnError) {
  gearnn::UpsampledArgmax head;
  std::vector<uint8_t> out(100 * 100);
  EXPECT_THROW(head.run(at::zeros({1, 3, 4, 4}), 33, 8, out.data()), gearnn::Error);
  EXPECT_THROW(head.run(at::zeros({2, 3, 4, 4}), 8, 8, out.data()), gearnn::Error);
}
