#pragma once
// Small synthetic images for the distortion tests: smooth ramps with edges
// and texture, so that codecs have something to lose.
#include "image.h"

#include <cmath>
#include <cstdint>

namespace gearnn::testing {

// `shift` moves the pattern right and down, for video frames.
inline RgbImage pattern_image(int width, int height, int shift = 0) {
  RgbImage img{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const int u = x + 2 * shift, v = y + shift;
      uint8_t* p = img.pixels.data() + (size_t(y) * width + x) * 3;
      const bool square = ((u / 12) + (v / 12)) % 2 == 0;
      p[0] = uint8_t(255.0 * x / std::max(1, width - 1));
      p[1] = uint8_t(square ? 200 : 40);
      p[2] = uint8_t(128 + 100 * std::sin(0.35 * u) * std::cos(0.23 * v));
    }
  return img;
}

inline double mean_squared_error(const RgbImage& a, const RgbImage& b) {
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = double(a.pixels[i]) - double(b.pixels[i]);
    sum += d * d;
  }
  return sum / double(a.pixels.size());
}

}  // namespace gearnn::testing
