#include "batch_segmenter.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <string>

namespace gearnn {
namespace {
// Compositions seen in a process are few (levels^batch in theory, a handful in
// practice); past this many the cache starts again rather than growing.
constexpr size_t kMaxPlans = 256;
}  // namespace

BatchSegmenter::BatchSegmenter(std::shared_ptr<const Bundle> bundle)
    : bundle_(std::move(bundle)), input_writer_(bundle_->manifest().normalization, bundle_->device()) {}

const MixedBatchPlan& BatchSegmenter::plan_for(const std::vector<size_t>& levels) {
  auto it = plans_.find(levels);
  if (it != plans_.end()) return *it->second;
  if (plans_.size() >= kMaxPlans) plans_.clear();
  return *plans_.emplace(levels, std::make_unique<MixedBatchPlan>(bundle_, levels)).first->second;
}

void BatchSegmenter::segment(const std::vector<BatchItem>& items) {
  if (items.empty()) return;
  const int width = items[0].frame.width, height = items[0].frame.height;
  for (const BatchItem& item : items) {
    FrameInput::check(item.frame);
    if (item.frame.width != width || item.frame.height != height)
      throw Error("batch of frames of different sizes (" + std::to_string(width) + "x" + std::to_string(height) +
                  " and " + std::to_string(item.frame.width) + "x" + std::to_string(item.frame.height) + ")");
  }
  c10::InferenceMode guard;
  const int64_t n = int64_t(items.size()), padded_h = (height + 7) / 8 * 8, padded_w = (width + 7) / 8 * 8;
  if (!cpu_input_.defined() || cpu_input_.size(0) != n || cpu_input_.size(2) != padded_h ||
      cpu_input_.size(3) != padded_w) {
    c10::InferenceMode normal(false);  // written in place by every later batch
    cpu_input_ = at::empty({n, 3, padded_h, padded_w}, at::kFloat);
    device_input_ = bundle_->device().is_cpu() ? cpu_input_ : at::empty(cpu_input_.sizes(), cpu_input_.options().device(bundle_->device()));
  }
  levels_.resize(items.size());
  const size_t sample = size_t(3 * padded_h * padded_w);
  for (size_t i = 0; i < items.size(); ++i) {
    input_writer_.write(items[i].frame, cpu_input_.data_ptr<float>() + i * sample, padded_h, padded_w);
    levels_[i] = items[i].level;
  }
  if (!bundle_->device().is_cpu()) device_input_.copy_(cpu_input_);
  const at::Tensor scores = plan_for(levels_).scores(device_input_);
  if (heads_.size() < items.size()) heads_.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i)
    heads_[i].run(scores.narrow(0, int64_t(i), 1), width, height, items[i].classes);
}

}  // namespace gearnn
