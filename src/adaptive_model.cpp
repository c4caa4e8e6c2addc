#include "adaptive_model.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstring>

namespace gearnn {

AdaptiveModel::AdaptiveModel(std::shared_ptr<const Bundle> bundle) : bundle_(std::move(bundle)) {
  if (!bundle_) throw Error("AdaptiveModel needs a bundle");
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

ClassMap AdaptiveModel::segment(const RgbView& image) const {
  c10::InferenceMode guard;
  const at::Tensor input = frame_to_input(image, bundle_->manifest().normalization, bundle_->device());
  return argmax_class_map(forward(input), image.width, image.height);
}

at::Tensor frame_to_input(const RgbView& image, const Normalization& n, const at::Device& device) {
  if (!image.data || image.width < 1 || image.height < 1 || image.stride < size_t(image.width) * 3)
    throw Error("frame_to_input: empty frame or stride shorter than a row");
  const at::Tensor hwc = at::from_blob(const_cast<uint8_t*>(image.data), {image.height, image.width, 3},
                                       {int64_t(image.stride), 3, 1}, at::kByte);
  at::Tensor x = hwc.to(device).permute({2, 0, 1}).to(at::kFloat).div_(255.0f);
  const auto opts = at::TensorOptions().device(device);
  const at::Tensor mean = at::tensor(at::ArrayRef<float>(n.mean.data(), 3), opts).view({3, 1, 1});
  const at::Tensor std = at::tensor(at::ArrayRef<float>(n.std.data(), 3), opts).view({3, 1, 1});
  x = ((x - mean) / std).unsqueeze(0);
  const int64_t pad_h = (8 - image.height % 8) % 8, pad_w = (8 - image.width % 8) % 8;
  if (pad_h || pad_w) x = at::replication_pad2d(x, {0, pad_w, 0, pad_h});
  return x.contiguous();
}

ClassMap argmax_class_map(const at::Tensor& log_probs, int width, int height) {
  const at::Tensor classes = log_probs[0]
                                 .argmax(0)
                                 .narrow(0, 0, height)
                                 .narrow(1, 0, width)
                                 .to(at::kByte)
                                 .to(at::kCPU)
                                 .contiguous();
  ClassMap map{width, height, std::vector<uint8_t>(size_t(width) * height)};
  std::memcpy(map.classes.data(), classes.data_ptr<uint8_t>(), map.classes.size());
  return map;
}

}  // namespace gearnn
