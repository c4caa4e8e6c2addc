// Yuv420ToRgb on its own (the exact match with libjpeg and with the offline
// H.264 decode is tested through the real decoders in tests/gst/test_conversion.cpp):
// layouts, odd sizes, neutral chroma, bad sizes. Also run under the sanitizers.
#include "error.h"
#include "yuv420_to_rgb.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

using gearnn::Yuv420ToRgb;
using gearnn::Yuv420View;
using gearnn::YuvMatrix;
using gearnn::YuvRange;

namespace {

// One frame's planes, tightly packed, with random samples.
struct Planes {
  int width, height, chroma_width, chroma_height;
  std::vector<uint8_t> y, u, v;
  Planes(int w, int h, unsigned seed)
      : width(w), height(h), chroma_width((w + 1) / 2), chroma_height((h + 1) / 2) {
    std::mt19937 rng(seed);
    auto fill = [&](std::vector<uint8_t>& p, size_t n) {
      p.resize(n);
      for (auto& b : p) b = uint8_t(rng() & 0xff);
    };
    fill(y, size_t(w) * h);
    fill(u, size_t(chroma_width) * chroma_height);
    fill(v, size_t(chroma_width) * chroma_height);
  }
  Yuv420View planar() const {
    Yuv420View view;
    view.plane = {y.data(), u.data(), v.data()};
    view.stride = {size_t(width), size_t(chroma_width), size_t(chroma_width)};
    return view;
  }
};

std::vector<uint8_t> convert(Yuv420ToRgb& c, const Yuv420View& view) {
  std::vector<uint8_t> bytes(size_t(c.width()) * size_t(c.height()) * 3);
  c.convert(view, bytes.data(), size_t(c.width()) * 3);
  return bytes;
}

}  // namespace

TEST(Yuv420ToRgb, InterleavedChromaGivesTheSameBytesAsPlanar) {
  for (YuvRange range : {YuvRange::video, YuvRange::full}) {
    for (const auto& [w, h] : {std::pair{64, 48}, std::pair{37, 23}, std::pair{1, 1}}) {
      const Planes p(w, h, unsigned(w * h));
      std::vector<uint8_t> uv;  // NV12: U and V samples alternating in one plane
      for (size_t i = 0; i < p.u.size(); ++i) {
        uv.push_back(p.u[i]);
        uv.push_back(p.v[i]);
      }
      Yuv420View nv12 = p.planar();
      nv12.plane[1] = uv.data();
      nv12.plane[2] = uv.data() + 1;
      nv12.stride[1] = nv12.stride[2] = size_t(p.chroma_width) * 2;
      nv12.chroma_step = 2;
      Yuv420ToRgb c(w, h, range, YuvMatrix::bt601);
      EXPECT_EQ(convert(c, nv12), convert(c, p.planar())) << w << "x" << h;
    }
  }
}

// An odd-sized frame is the even-sized one (same chroma) with its last luma
// column and row cropped off, whatever they held.
TEST(Yuv420ToRgb, AnOddSizedFrameIsTheEvenSizedOneCropped) {
  for (YuvRange range : {YuvRange::video, YuvRange::full}) {
    const Planes odd(37, 23, 5);
    Planes even(38, 24, 6);
    even.u = odd.u;
    even.v = odd.v;
    for (int row = 0; row < odd.height; ++row)
      std::copy_n(odd.y.begin() + row * odd.width, odd.width, even.y.begin() + row * even.width);
    Yuv420ToRgb small(37, 23, range, YuvMatrix::bt601), large(38, 24, range, YuvMatrix::bt601);
    const std::vector<uint8_t> a = convert(small, odd.planar()), b = convert(large, even.planar());
    for (int row = 0; row < odd.height; ++row)
      ASSERT_TRUE(std::equal(a.begin() + row * 37 * 3, a.begin() + (row + 1) * 37 * 3, b.begin() + row * 38 * 3))
          << "row " << row << (range == YuvRange::full ? " full range" : " video range");
  }
}

// Neutral chroma gives grey: full range keeps Y as it is (JFIF); video range
// stretches 16..235 to 0..255.
TEST(Yuv420ToRgb, NeutralChromaGivesGrey) {
  Planes p(16, 2, 1);
  for (int x = 0; x < 16; ++x) p.y[size_t(x)] = p.y[size_t(16 + x)] = uint8_t(x * 17);
  std::fill(p.u.begin(), p.u.end(), 128);
  std::fill(p.v.begin(), p.v.end(), 128);
  Yuv420ToRgb full(16, 2, YuvRange::full, YuvMatrix::bt601);
  const std::vector<uint8_t> f = convert(full, p.planar());
  for (int x = 0; x < 16; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(f[size_t(x * 3 + c)], x * 17) << "x " << x << " channel " << c;

  p.y[0] = 16;
  p.y[1] = 235;
  p.y[2] = 126;  // (126 - 16) * 255 / 219 = 128.1
  Yuv420ToRgb video(16, 2, YuvRange::video, YuvMatrix::bt601);
  const std::vector<uint8_t> v = convert(video, p.planar());
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(v[size_t(c)], 0);
    EXPECT_EQ(v[size_t(3 + c)], 255);
    EXPECT_NEAR(v[size_t(6 + c)], 128, 1);
  }
}

TEST(Yuv420ToRgb, RefusesAnEmptyFrame) {
  try {
    Yuv420ToRgb c(0, 240, YuvRange::video, YuvMatrix::bt601);
    FAIL() << "a 0x240 frame was accepted";
  } catch (const gearnn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("0x240"), std::string::npos) << e.what();
  }
}
