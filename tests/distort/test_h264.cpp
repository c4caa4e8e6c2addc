// H.264 round trips through libx264 and libavcodec's decoder.
#include "distort/h264.h"
#include "error.h"
#include "synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
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

std::vector<double> qps(const H264Roundtrip& r) {
  std::vector<double> out;
  for (const H264FrameQp& f : r.frame_qp) out.push_back(f.qp);
  return out;
}

double average(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

}  // namespace

TEST(H264, DecodesEveryFrameAtTheRequestedSize) {
  const auto frames = moving_pattern(12, 160, 120);
  for (const Resolution size : {Resolution{160, 120}, Resolution{96, 64}}) {
    const H264Roundtrip r = h264_roundtrip(frames, 23, size);
    ASSERT_EQ(r.frames.size(), frames.size());
    ASSERT_EQ(r.frame_qp.size(), frames.size());
    for (const RgbImage& f : r.frames) {
      EXPECT_EQ(f.width, size.width);
      EXPECT_EQ(f.height, size.height);
      EXPECT_EQ(f.pixels.size(), size_t(size.width) * size.height * 3);
    }
    for (double qp : qps(r)) {
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
    const double qp = average(qps(r));
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
  EXPECT_EQ(qps(a), qps(b));
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
  EXPECT_EQ(qps(runs[0]), qps(runs[1]));
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(runs[0].frames[i].pixels, runs[1].frames[i].pixels) << i;
}
#endif

TEST(H264, StreamingMatchesTheWholeSequence) {
  const auto frames = moving_pattern(6, 64, 48);
  const H264Roundtrip whole = h264_roundtrip(frames, 30, Resolution{32, 24});
  std::vector<size_t> order;
  h264_roundtrip_stream(
      frames.size(), [&](size_t i) { return frames[i]; },
      [&](size_t i, RgbImage&& frame, const H264FrameQp& qp) {
        order.push_back(i);
        EXPECT_EQ(frame.pixels, whole.frames[i].pixels);
        EXPECT_EQ(qp.qp, whole.frame_qp[i].qp);
        EXPECT_EQ(qp.type, whole.frame_qp[i].type);
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

// x264's default preset on a moving sequence: a fixed GOP of 30 frames
// (keyframes at 0 and 30, none at scene cuts), B frames in between, and each
// frame type's slice QP in the order x264's ratios put them (I < P < B).
TEST(H264, EncodesAStreamWithIPAndBFrames) {
  std::vector<RgbImage> frames;
  for (int i = 0; i < 40; ++i) frames.push_back(pattern_image(96, 64, 2 * i));
  frames[17] = pattern_image(96, 64, 1000);  // a scene cut, which must not start a GOP
  const H264Roundtrip r = h264_roundtrip(frames, 28, std::nullopt);
  ASSERT_EQ(r.frame_qp.size(), frames.size());
  double sums[3] = {0, 0, 0};
  int counts[3] = {0, 0, 0};
  for (size_t i = 0; i < r.frame_qp.size(); ++i) {
    const H264FrameQp& f = r.frame_qp[i];
    EXPECT_EQ(f.type == H264FrameType::I, i == 0 || i == 30) << "frame " << i << " is " << h264_frame_type_name(f.type);
    EXPECT_EQ(f.idr, f.type == H264FrameType::I) << i;
    EXPECT_EQ(f.slices, 1);
    sums[int(f.type)] += f.qp;
    ++counts[int(f.type)];
  }
  ASSERT_GT(counts[int(H264FrameType::P)], 0);
  ASSERT_GT(counts[int(H264FrameType::B)], 0);
  const double i_qp = sums[0] / counts[0], p_qp = sums[1] / counts[1], b_qp = sums[2] / counts[2];
  EXPECT_LT(i_qp, p_qp);
  EXPECT_LT(p_qp, b_qp);
}

TEST(H264, BitrateLevelsSpendAboutTheirRate) {
  std::vector<RgbImage> frames;
  for (int i = 0; i < 30; ++i) frames.push_back(pattern_image(160, 120, 5 * i));
  double previous = 100;
  for (int kbps : {100, 400, 1600}) {
    const double qp = average(qps(h264_roundtrip(frames, H264RateControl::bitrate(kbps), std::nullopt)));
    EXPECT_LT(qp, previous) << kbps << " kbit/s";  // more bits, finer quantiser
    previous = qp;
  }
}

// The recipe is part of every H.264 cache key: it names the x264 build that
// makes the pixels (read from the stream x264 writes), not only FFmpeg's.
TEST(H264, RecipeNamesTheX264Build) {
  const std::string recipe = h264_recipe();
  const size_t at = recipe.find("; x264 core ");
  ASSERT_NE(at, std::string::npos) << recipe;
  const std::string build = recipe.substr(at + 12, recipe.find(';', at + 1) - at - 12);
  EXPECT_GT(std::atoi(build.c_str()), 100) << "x264's API build number: " << recipe;
  EXPECT_NE(build.find(" r"), std::string::npos) << "and its revision: " << recipe;
  EXPECT_EQ(h264_recipe(), recipe);
}
