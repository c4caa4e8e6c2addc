#include "data/augment.h"

#include "data/random.h"
#include "data/resize.h"
#include "distort/image_ops.h"
#include "distort/jpeg.h"
#include "error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace gearnn {
namespace {

constexpr uint8_t kVoid = 255;

struct Draws {
  double scale, crop_x, crop_y, flip, brightness, contrast, saturation;
  double blur_on, blur, noise_on, noise, compress_on, compress;
  uint64_t noise_seed;
};

Draws draw(uint64_t seed) {
  SplitMix64 rng(seed);
  Draws d;
  // Appended draws leave the earlier ones (and so older runs' crops) unchanged.
  for (double* v : {&d.scale, &d.crop_x, &d.crop_y, &d.flip, &d.brightness, &d.contrast, &d.saturation, &d.blur_on,
                    &d.blur, &d.noise_on, &d.noise, &d.compress_on, &d.compress})
    *v = rng.uniform();
  d.noise_seed = rng.next();
  return d;
}

void resize_pair(RgbImage& image, ClassMap& label, int width, int height) {
  if (width == image.width && height == image.height) return;
  image = resize_rgb(image, width, height);
  label = resize_nearest(label, width, height);
}

// Offsets along one axis: where the window starts in the source, and where
// the source lands in the window when the source is the smaller.
void place(int src, int window, double u, int& src_off, int& dst_off) {
  const int slack = std::abs(src - window);
  const int off = std::min(slack, int(u * (slack + 1)));
  src_off = src >= window ? off : 0;
  dst_off = src >= window ? 0 : off;
}

void crop_pair(RgbImage& image, ClassMap& label, int width, int height, double ux, double uy) {
  int sx, dx, sy, dy;
  place(image.width, width, ux, sx, dx);
  place(image.height, height, uy, sy, dy);
  RgbImage out_image{width, height, std::vector<uint8_t>(size_t(width) * size_t(height) * 3, 0)};
  ClassMap out_label{width, height, std::vector<uint8_t>(size_t(width) * size_t(height), kVoid)};
  const int cols = std::min(image.width - sx, width - dx), rows = std::min(image.height - sy, height - dy);
  for (int r = 0; r < rows; ++r) {
    const size_t src = size_t(sy + r) * size_t(image.width) + size_t(sx);
    const size_t dst = size_t(dy + r) * size_t(width) + size_t(dx);
    std::memcpy(&out_image.pixels[dst * 3], &image.pixels[src * 3], size_t(cols) * 3);
    std::memcpy(&out_label.classes[dst], &label.classes[src], size_t(cols));
  }
  image = std::move(out_image);
  label = std::move(out_label);
}

void flip_pair(RgbImage& image, ClassMap& label) {
  const size_t w = size_t(image.width);
  for (size_t y = 0; y < size_t(image.height); ++y) {
    uint8_t* px = &image.pixels[y * w * 3];
    uint8_t* lb = &label.classes[y * w];
    for (size_t a = 0, b = w - 1; a < b; ++a, --b) {
      std::swap_ranges(px + a * 3, px + a * 3 + 3, px + b * 3);
      std::swap(lb[a], lb[b]);
    }
  }
}

float luma(const uint8_t* p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; }

// Brightness scales, contrast blends towards the frame's mean grey, saturation
// towards each pixel's own grey (as Pillow's ImageEnhance does), one rounding at the end.
void jitter_colours(RgbImage& image, float brightness, float contrast, float saturation) {
  const size_t n = image.pixels.size() / 3;
  double mean = 0;
  for (size_t i = 0; i < n; ++i) mean += luma(&image.pixels[i * 3]);
  const float grey_mean = float(mean / double(std::max<size_t>(n, 1))) * brightness;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = &image.pixels[i * 3];
    float v[3] = {p[0] * brightness, p[1] * brightness, p[2] * brightness};
    for (float& c : v) c = grey_mean + contrast * (c - grey_mean);
    const float grey = 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
    for (int c = 0; c < 3; ++c) p[c] = uint8_t(std::clamp(std::lround(grey + saturation * (v[c] - grey)), 0L, 255L));
  }
}

// Separable Gaussian, taps out to 3 sigma, borders clamped.
void blur_image(RgbImage& image, double sigma) {
  const int radius = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<float> taps(size_t(2 * radius + 1));
  float sum = 0;
  for (int k = -radius; k <= radius; ++k) sum += taps[size_t(k + radius)] = float(std::exp(-k * k / (2 * sigma * sigma)));
  for (float& t : taps) t /= sum;
  const int w = image.width, h = image.height;
  std::vector<float> rows(image.pixels.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        float v = 0;
        for (int k = -radius; k <= radius; ++k)
          v += taps[size_t(k + radius)] * image.pixels[(size_t(y) * w + size_t(std::clamp(x + k, 0, w - 1))) * 3 + c];
        rows[(size_t(y) * w + x) * 3 + c] = v;
      }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        float v = 0;
        for (int k = -radius; k <= radius; ++k)
          v += taps[size_t(k + radius)] * rows[(size_t(std::clamp(y + k, 0, h - 1)) * w + x) * 3 + c];
        image.pixels[(size_t(y) * w + x) * 3 + c] = uint8_t(std::clamp(std::lround(v), 0L, 255L));
      }
}

// Box-Muller from the generator, so that the noise is the same on every platform.
void add_noise(RgbImage& image, double sigma, uint64_t seed) {
  SplitMix64 rng(seed);
  for (size_t i = 0; i < image.pixels.size(); i += 2) {
    const double u1 = std::max(rng.uniform(), 1e-12), u2 = rng.uniform();
    const double r = sigma * std::sqrt(-2 * std::log(u1));
    const double n[2] = {r * std::cos(6.283185307179586 * u2), r * std::sin(6.283185307179586 * u2)};
    for (size_t k = 0; k < 2 && i + k < image.pixels.size(); ++k)
      image.pixels[i + k] = uint8_t(std::clamp(std::lround(image.pixels[i + k] + n[k]), 0L, 255L));
  }
}

void compress_image(RgbImage& image, int quality) {
  const std::vector<uint8_t> bytes = encode_jpeg(image, quality);
  image = decode_jpeg(bytes.data(), bytes.size(), "augmentation's JPEG round trip");
}

}  // namespace

void check_augment_options(const AugmentOptions& o) {
  auto fail = [](const std::string& what) { throw Error("augmentation options: " + what); };
  if (o.resize_width < 0 || o.resize_height < 0) fail("resize size must not be negative");
  if (o.crop_width < 0 || o.crop_height < 0) fail("crop size must not be negative");
  if (!(o.scale_min > 0 && o.scale_min <= o.scale_max))
    fail("scale range [" + std::to_string(o.scale_min) + ", " + std::to_string(o.scale_max) + "] needs 0 < min <= max");
  for (double j : {o.brightness_jitter, o.contrast_jitter, o.saturation_jitter})
    if (!(j >= 0 && j <= 1)) fail("colour jitter " + std::to_string(j) + " is outside [0, 1]");
  if (!(o.blur_sigma_max == 0 || (o.blur_sigma_max >= 0.3 && o.blur_sigma_max <= 10)))
    fail("blur sigma " + std::to_string(o.blur_sigma_max) + " is outside [0.3, 10] (0: off)");
  if (!(o.noise_sigma_max >= 0 && o.noise_sigma_max <= 100))
    fail("noise sigma " + std::to_string(o.noise_sigma_max) + " is outside [0, 100]");
  if (o.compress_quality_min != 0 && (o.compress_quality_min < 1 || o.compress_quality_min > 95))
    fail("JPEG quality " + std::to_string(o.compress_quality_min) + " is outside [1, 95] (0: off)");
}

void augment_pair(RgbImage& image, ClassMap& label, const AugmentOptions& o, uint64_t seed) {
  if (image.width != label.width || image.height != label.height)
    throw Error("augment_pair: image " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " and label " + std::to_string(label.width) + "x" + std::to_string(label.height) + " differ in size");
  const Draws d = draw(seed);

  if (o.resize_width > 0 || o.resize_height > 0) {
    const int w = o.resize_width > 0 ? o.resize_width
                                     : std::max(1, int(std::lround(double(image.width) * o.resize_height / image.height)));
    const int h = o.resize_height > 0 ? o.resize_height
                                      : std::max(1, int(std::lround(double(image.height) * o.resize_width / image.width)));
    resize_pair(image, label, w, h);
  }
  if (o.scale_min != 1.0 || o.scale_max != 1.0) {
    const double s = o.scale_min + (o.scale_max - o.scale_min) * d.scale;
    resize_pair(image, label, std::max(1, int(std::lround(image.width * s))),
                std::max(1, int(std::lround(image.height * s))));
  }
  if (o.crop_width > 0 || o.crop_height > 0)
    crop_pair(image, label, o.crop_width > 0 ? o.crop_width : image.width,
              o.crop_height > 0 ? o.crop_height : image.height, d.crop_x, d.crop_y);
  if (o.flip && d.flip < 0.5) flip_pair(image, label);

  const auto factor = [](double jitter, double u) { return float(1.0 - jitter + 2.0 * jitter * u); };
  if (o.brightness_jitter > 0 || o.contrast_jitter > 0 || o.saturation_jitter > 0)
    jitter_colours(image, factor(o.brightness_jitter, d.brightness), factor(o.contrast_jitter, d.contrast),
                   factor(o.saturation_jitter, d.saturation));
  if (o.blur_sigma_max > 0 && d.blur_on < 0.5) blur_image(image, 0.3 + (o.blur_sigma_max - 0.3) * d.blur);
  if (o.noise_sigma_max > 0 && d.noise_on < 0.5) add_noise(image, o.noise_sigma_max * d.noise, d.noise_seed);
  if (o.compress_quality_min > 0 && d.compress_on < 0.5)
    compress_image(image, o.compress_quality_min + int(d.compress * (96 - o.compress_quality_min)));
}

}  // namespace gearnn
