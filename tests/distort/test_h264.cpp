// H.264 round trips through libx264 and libavcodec's decoder.
#include "distort/h264.h"
#include "error.h"
#include "synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <malloc.h>
#include <numeric>

using namespace gearnn;
using gearnn::testing::mean_squared_error;
using gearnn::testing::pattern_image;

namespace {

std::vector<RgbImage> moving_pattern(int count, int width, int height) {
  std::vector<RgbImage> frames;
  for (int i = 0; i < count; ++i) frames.push_back(pattern_image(width, height, 3 * i));
  return frames;
}

double average(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

}  // namespace

TEST(H264, DecodesEveryFrameAtTheRequestedSize) {
  const auto frames = moving_pattern(12, 160, 120);
  for (const Resolution size : {Resolution{160, 120}, Resolution{96, 64}}) {
    const H264Roundtrip r = h264_roundtrip(frames, 23, size);
    ASSERT_EQ(r.frames.size(), frames.size());
    ASSERT_EQ(r.mean_qp.size(), frames.size());
    for (const RgbImage& f : r.frames) {
      EXPECT_EQ(f.width, size.width);
      EXPECT_EQ(f.height, size.height);
      EXPECT_EQ(f.pixels.size(), size_t(size.width) * size.height * 3);
    }
    for (double qp : r.mean_qp) {
      EXPECT_GE(qp, 0.0);
      EXPECT_LE(qp, 51.0);
    }
  }
}

TEST(H264, MeanQpRisesWithCrf) {
  const auto frames = moving_pattern(12, 160, 120);
  double previous_qp = -1, previous_error = -1;
  for (int crf : {18, 30, 42}) {
    const H264Roundtrip r = h264_roundtrip(frames, crf, Resolution{160, 120});
    const double qp = average(r.mean_qp);
    double error = 0;
    for (size_t i = 0; i < frames.size(); ++i) error += mean_squared_error(frames[i], r.frames[i]);
    EXPECT_GT(qp, previous_qp) << "crf " << crf;
    EXPECT_GT(error, previous_error) << "crf " << crf;
    previous_qp = qp;
    previous_error = error;
  }
}

TEST(H264, LowCrfKeepsThePicture) {
  auto frames = moving_pattern(4, 160, 120);
  for (RgbImage& f : frames)  // grey, so that 4:2:0 chroma loses nothing
    for (size_t i = 0; i < f.pixels.size(); i += 3) f.pixels[i] = f.pixels[i + 2] = f.pixels[i + 1];
  const H264Roundtrip r = h264_roundtrip(frames, 12, std::nullopt);
  for (size_t i = 0; i < frames.size(); ++i) {
    const double psnr = 10 * std::log10(255.0 * 255.0 / mean_squared_error(frames[i], r.frames[i]));
    EXPECT_GT(psnr, 30.0) << "frame " << i;
  }
}

TEST(H264, OddFrameSizesComeBackUncropped) {
  const H264Roundtrip r = h264_roundtrip(moving_pattern(3, 37, 29), 20, std::nullopt);
  ASSERT_EQ(r.frames.size(), 3u);
  EXPECT_EQ(r.frames[0].width, 37);
  EXPECT_EQ(r.frames[0].height, 29);
}

TEST(H264, IsDeterministic) {
  const auto frames = moving_pattern(8, 64, 48);
  const H264Roundtrip a = h264_roundtrip(frames, 28, std::nullopt);
  const H264Roundtrip b = h264_roundtrip(frames, 28, std::nullopt);
  ASSERT_EQ(a.frames.size(), b.frames.size());
  for (size_t i = 0; i < a.frames.size(); ++i) EXPECT_EQ(a.frames[i].pixels, b.frames[i].pixels) << i;
  EXPECT_EQ(a.mean_qp, b.mean_qp);
}

#ifdef M_PERTURB
// glibc fills fresh allocations with a byte pattern under M_PERTURB; x264's
// AVX-512 code used to pick up such leftovers (see h264.cpp).
TEST(H264, DoesNotDependOnLeftoverMemory) {
  std::vector<RgbImage> frames;
  for (int i = 0; i < 12; ++i) frames.push_back(pattern_image(64, 48, 4 + 3 * i));
  std::vector<H264Roundtrip> runs;
  for (int fill : {1, 200}) {
    mallopt(M_PERTURB, fill);
    runs.push_back(h264_roundtrip(frames, 30, std::nullopt));
    mallopt(M_PERTURB, 0);
  }
  EXPECT_EQ(runs[0].mean_qp, runs[1].mean_qp);
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(runs[0].frames[i].pixels, runs[1].frames[i].pixels) << i;
}
#endif

TEST(H264, StreamingMatchesTheWholeSequence) {
  const auto frames = moving_pattern(6, 64, 48);
  const H264Roundtrip whole = h264_roundtrip(frames, 30, Resolution{32, 24});
  std::vector<size_t> order;
  h264_roundtrip_stream(
      frames.size(), [&](size_t i) { return frames[i]; },
      [&](size_t i, RgbImage&& frame, double qp) {
        order.push_back(i);
        EXPECT_EQ(frame.pixels, whole.frames[i].pixels);
        EXPECT_EQ(qp, whole.mean_qp[i]);
      },
      30, Resolution{32, 24});
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4, 5}));
}

TEST(H264, BadArgumentsAreErrors) {
  const auto frames = moving_pattern(2, 32, 32);
  EXPECT_THROW(h264_roundtrip(frames, 52, std::nullopt), Error);
  EXPECT_THROW(h264_roundtrip(frames, 20, Resolution{33, 32}), Error);
  std::vector<RgbImage> mixed = {pattern_image(32, 32), pattern_image(48, 32)};
  EXPECT_THROW(h264_roundtrip(mixed, 20, std::nullopt), Error);
  EXPECT_NO_THROW(h264_roundtrip(mixed, 20, Resolution{32, 32}));
  EXPECT_TRUE(h264_roundtrip({}, 20, std::nullopt).frames.empty());
}
