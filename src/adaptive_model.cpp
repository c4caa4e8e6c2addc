#include "adaptive_model.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <array>
#include <cmath>
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
  update_thresholds();
}

void AdaptiveModel::select(size_t level) {
  if (level >= bundle_->level_count())
    throw Error(bundle_->folder() + ": level " + std::to_string(level) + " does not exist (" +
                std::to_string(bundle_->level_count()) + " levels)");
  level_ = level;
  weights_ = &bundle_->weights(level);
  update_thresholds();
}

void AdaptiveModel::set_early_exit(bool on, double threshold_scale) {
  if (!(threshold_scale > 0) || !std::isfinite(threshold_scale))
    throw Error(bundle_->folder() + ": the exit threshold scale must be a positive number");
  exits_on_ = on && !bundle_->exits().empty();
  threshold_scale_ = threshold_scale;
  update_thresholds();
}

void AdaptiveModel::update_thresholds() {
  thresholds_.clear();
  for (size_t i = 0; i < bundle_->exits().size(); ++i)
    thresholds_.push_back(std::min(1.0, bundle_->exit_threshold(i, level_) * threshold_scale_));
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
  const Architecture& arch = bundle_->architecture();
  if (!exits_on_) {
    last_exit_ = {};
    last_compute_fraction_ = 1.0;
    head_.run(arch.scores(*weights_, input), image.width, image.height, classes);
    return;
  }
  if (input.size(2) != costs_h_ || input.size(3) != costs_w_) {
    costs_h_ = input.size(2), costs_w_ = input.size(3);
    costs_ = exit_costs(arch, bundle_->exits(), costs_h_, costs_w_);
  }
  head_.run(scores_with_exits(arch, *weights_, bundle_->exits(), thresholds_, input, last_exit_), image.width,
            image.height, classes);
  const int64_t cost = last_exit_.exit < 0 ? costs_.through : costs_.at_exit[size_t(last_exit_.exit)];
  last_compute_fraction_ = double(cost) / double(costs_.full);
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
