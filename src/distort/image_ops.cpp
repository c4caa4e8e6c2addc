#include "distort/image_ops.h"

#include "error.h"

#include <algorithm>
#include <cmath>

namespace gearnn {
namespace {

void check(const RgbImage& image, const char* what) {
  if (image.width <= 0 || image.height <= 0 || image.pixels.size() != size_t(image.width) * image.height * 3)
    throw Error(std::string(what) + ": image of " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + " holds " + std::to_string(image.pixels.size()) + " bytes");
}

// Filter taps of one axis: output i reads source first[i] .. first[i]+count[i]-1.
struct Taps {
  std::vector<int> first, count;
  std::vector<float> weights;  // count[i] weights per output, packed
  std::vector<size_t> offset;
};

Taps make_taps(int in, int out) {
  Taps t;
  const double scale = double(in) / out;
  const double support = std::max(scale, 1.0);
  for (int i = 0; i < out; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(0, int(std::floor(center - support)));
    const int hi = std::min(in, int(std::ceil(center + support)));
    std::vector<double> w;
    double sum = 0;
    for (int j = lo; j < hi; ++j) {
      const double x = std::abs((j + 0.5 - center) / support);
      w.push_back(std::max(0.0, 1.0 - x));
      sum += w.back();
    }
    t.first.push_back(lo);
    t.count.push_back(int(w.size()));
    t.offset.push_back(t.weights.size());
    for (double v : w) t.weights.push_back(float(v / sum));
  }
  return t;
}

}  // namespace

RgbImage resize_rgb(const RgbImage& image, int width, int height) {
  check(image, "resize_rgb");
  if (width <= 0 || height <= 0)
    throw Error("resize_rgb: target size " + std::to_string(width) + "x" + std::to_string(height) + " is empty");
  if (width == image.width && height == image.height) return image;

  const Taps tx = make_taps(image.width, width), ty = make_taps(image.height, height);
  // Horizontal pass into floats, then vertical pass into bytes.
  std::vector<float> rows(size_t(image.height) * width * 3);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* src = image.pixels.data() + size_t(y) * image.width * 3;
    float* dst = rows.data() + size_t(y) * width * 3;
    for (int x = 0; x < width; ++x) {
      float r = 0, g = 0, b = 0;
      const float* w = tx.weights.data() + tx.offset[x];
      const uint8_t* p = src + size_t(tx.first[x]) * 3;
      for (int k = 0; k < tx.count[x]; ++k, p += 3) {
        r += w[k] * p[0];
        g += w[k] * p[1];
        b += w[k] * p[2];
      }
      dst[3 * x] = r;
      dst[3 * x + 1] = g;
      dst[3 * x + 2] = b;
    }
  }
  RgbImage out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  const size_t row = size_t(width) * 3;
  std::vector<float> acc(row);
  for (int y = 0; y < height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* w = ty.weights.data() + ty.offset[y];
    for (int k = 0; k < ty.count[y]; ++k) {
      const float* src = rows.data() + size_t(ty.first[y] + k) * row;
      for (size_t i = 0; i < row; ++i) acc[i] += w[k] * src[i];
    }
    uint8_t* dst = out.pixels.data() + size_t(y) * row;
    for (size_t i = 0; i < row; ++i) dst[i] = uint8_t(std::clamp(std::lround(acc[i]), 0L, 255L));
  }
  return out;
}

RgbImage adjust_brightness(const RgbImage& image, double factor) {
  check(image, "adjust_brightness");
  if (!std::isfinite(factor)) throw Error("adjust_brightness: factor is not a finite number");
  RgbImage out = image;
  // Pillow takes the factor as a C float and blends in float arithmetic; copy
  // that exactly, since a double would round differently at a few values.
  const float alpha = float(factor);
  if (alpha == 1.0f) return out;
  for (uint8_t& v : out.pixels) {
    const float t = alpha * float(v);
    v = t <= 0.0f ? 0 : t >= 255.0f ? 255 : uint8_t(t);
  }
  return out;
}

}  // namespace gearnn
