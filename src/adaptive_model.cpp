#include "adaptive_model.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace gearnn {

namespace {

const Bundle& checked(const std::shared_ptr<const Bundle>& bundle) {
  if (!bundle) throw Error("AdaptiveModel needs a bundle");
  return *bundle;
}

}  // namespace

AdaptiveModel::AdaptiveModel(std::shared_ptr<const Bundle> bundle)
    : bundle_(std::move(bundle)),
      input_(checked(bundle_).manifest().normalization, bundle_->device()) {
  level_ = bundle_->default_level();
  weights_ = &bundle_->weights(level_);
}

void AdaptiveModel::select(size_t level) {
  if (level >= bundle_->level_count())
    throw Error(bundle_->folder() + ": level " + std::to_string(level) + " does not exist (" +
                std::to_string(bundle_->level_count()) + " levels)");
  level_ = level;
  weights_ = &bundle_->weights(level);
}

void AdaptiveModel::select(const std::string& level_name) {
  const auto level = bundle_->find_level(level_name);
  if (!level) {
    std::string known;
    for (const auto& l : bundle_->manifest().levels) known += (known.empty() ? "" : ", ") + l.name;
    throw Error(bundle_->folder() + ": unknown level '" + level_name + "' (levels: " + known + ")");
  }
  select(*level);
}

at::Tensor AdaptiveModel::forward(const at::Tensor& input) const {
  c10::InferenceMode guard;
  return bundle_->architecture().forward(*weights_, input.to(bundle_->device()));
}

void AdaptiveModel::segment_into(const RgbView& image, uint8_t* classes) {
  c10::InferenceMode guard;
  const at::Tensor& input = input_.convert(image);
  head_.run(bundle_->architecture().scores(*weights_, input), image.width, image.height, classes);
}

ClassMap AdaptiveModel::segment(const RgbView& image) {
  ClassMap map{image.width, image.height, std::vector<uint8_t>(size_t(image.width) * size_t(image.height))};
  segment_into(image, map.classes.data());
  return map;
}


FrameInput::FrameInput(const Normalization& n, const at::Device& device) : device_(device) {
  for (size_t c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) table_[c][size_t(v)] = (float(v) / 255.0f - n.mean[c]) / n.std[c];
}

void FrameInput::reserve(int width, int height) {
  const int64_t padded_h = (int64_t(height) + 7) / 8 * 8, padded_w = (int64_t(width) + 7) / 8 * 8;
  if (cpu_.defined() && cpu_.size(2) == padded_h && cpu_.size(3) == padded_w) return;
  // Normal tensors whichever mode the caller is in: written in place by every
  // later call, in inference mode or not.
  c10::InferenceMode normal(false);
  cpu_ = at::empty({1, 3, padded_h, padded_w}, at::kFloat);
  on_device_ = device_.is_cpu() ? cpu_ : at::empty(cpu_.sizes(), cpu_.options().device(device_));
}

void FrameInput::check(const RgbView& image) {
  if (!image.data || image.width < 1 || image.height < 1 || image.stride < size_t(image.width) * 3)
    throw Error("frame input: empty frame or stride shorter than a row");
}

void FrameInput::write(const RgbView& image, float* planes, int64_t padded_h, int64_t padded_w) const {
  const int64_t height = image.height, width = image.width;
  // One pass from packed bytes to planar normalised floats through the table.
  const size_t plane = size_t(padded_h * padded_w);
  for (int64_t y = 0; y < padded_h; ++y) {
    // Padding rows and columns repeat the last row and column.
    const uint8_t* src = image.data + size_t(std::min(y, height - 1)) * image.stride;
    for (size_t c = 0; c < 3; ++c) {
      float* dst = planes + c * plane + size_t(y * padded_w);
      const float* lut = table_[c].data();
      for (int64_t i = 0; i < width; ++i) dst[i] = lut[src[3 * i + c]];
      for (int64_t i = width; i < padded_w; ++i) dst[i] = dst[width - 1];
    }
  }
}

const at::Tensor& FrameInput::convert(const RgbView& image) {
  check(image);
  reserve(image.width, image.height);
  write(image, cpu_.data_ptr<float>(), cpu_.size(2), cpu_.size(3));
  if (!device_.is_cpu()) on_device_.copy_(cpu_);
  return on_device_;
}

at::Tensor frame_to_input(const RgbView& image, const Normalization& n, const at::Device& device) {
  FrameInput input(n, device);
  return input.convert(image);
}

}  // namespace gearnn
