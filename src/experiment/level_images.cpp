#include "experiment/level_images.h"

#include "distort/distort_images.h"
#include "measure/stream_quality.h"

#include <map>

namespace gearnn {

LevelImages::LevelImages(const Dataset& dataset, const DistortionSetting& setting, const std::string& cache_dir,
                         int threads)
    : setting_(setting) {
  std::vector<std::string> images, sequences;
  for (const Sample& s : dataset.samples()) {
    images.push_back(s.image_path);
    sequences.push_back(s.sequence);
  }
  for (const DistortedImage& d : distort_images(images, sequences, setting, cache_dir, threads)) {
    paths_.push_back(d.path);
    measured_.push_back(d.measured);
    mean_luma_.push_back(d.mean_luma);
  }
}

RgbImage LevelImages::image(size_t i) const { return read_png_rgb(paths_.at(i)); }

Distortion LevelImages::describe(double reference_luma) const {
  Distortion out;
  std::map<std::pair<int, int>, size_t> sizes;
  double sums[3] = {0, 0, 0};
  size_t counts[3] = {0, 0, 0};
  for (size_t i = 0; i < measured_.size(); ++i) {
    const Distortion& d = measured_[i];
    if (d.resolution) ++sizes[{d.resolution->width, d.resolution->height}];
    const std::optional<double> brightness =
        mean_luma_[i] ? std::optional<double>(relative_brightness(*mean_luma_[i], reference_luma)) : std::nullopt;
    const std::optional<double> values[3] = {d.h264_qp, d.jpeg_quality, brightness};
    for (int k = 0; k < 3; ++k)
      if (values[k]) {
        sums[k] += *values[k];
        ++counts[k];
      }
  }
  size_t best = 0;
  for (const auto& [size, n] : sizes)
    if (n > best) {
      best = n;
      out.resolution = Resolution{size.first, size.second};
    }
  if (counts[0]) out.h264_qp = sums[0] / double(counts[0]);
  if (counts[1]) out.jpeg_quality = sums[1] / double(counts[1]);
  if (counts[2]) out.brightness = sums[2] / double(counts[2]);

  using Kind = DistortionSetting::Kind;
  const Kind kind = setting_.kind;
  if (!(kind == Kind::resize || (kind == Kind::h264 && setting_.size))) out.resolution.reset();
  if (kind != Kind::h264) out.h264_qp.reset();
  if (kind != Kind::jpeg) out.jpeg_quality.reset();
  if (kind != Kind::brightness) out.brightness.reset();
  return out;
}

}  // namespace gearnn
