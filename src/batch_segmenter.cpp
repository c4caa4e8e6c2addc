#include "batch_segmenter.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace gearnn {
namespace {
// Compositions seen in a process are few (levels^batch in theory, a handful in
// practice); past this many the cache starts again rather than growing.
constexpr size_t kMaxPlans = 256;
}  // namespace

BatchSegmenter::BatchSegmenter(std::shared_ptr<const Bundle> bundle, size_t max_pixels)
    : bundle_(std::move(bundle)),
      max_pixels_(max_pixels ? max_pixels : bundle_->device().is_cpu() ? kCpuMaxBatchPixels : SIZE_MAX),
      input_writer_(bundle_->manifest().normalization, bundle_->device()) {}

size_t BatchSegmenter::chunk_for(int width, int height) const {
  const size_t pixels = size_t((width + 7) / 8 * 8) * size_t((height + 7) / 8 * 8);
  return std::max<size_t>(1, max_pixels_ / std::max<size_t>(1, pixels));
}

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
    if (item.level >= bundle_->level_count())
      throw Error(bundle_->folder() + ": batch names level " + std::to_string(item.level) + " of " +
                  std::to_string(bundle_->level_count()));
    if (item.frame.width != width || item.frame.height != height)
      throw Error("batch of frames of different sizes (" + std::to_string(width) + "x" + std::to_string(height) +
                  " and " + std::to_string(item.frame.width) + "x" + std::to_string(item.frame.height) + ")");
  }
  c10::InferenceMode guard;
  const size_t chunk = std::min(chunk_for(width, height), items.size());
  const int64_t padded_h = (height + 7) / 8 * 8, padded_w = (width + 7) / 8 * 8;
  const size_t sample = size_t(3 * padded_h * padded_w);
  // Sample i of the forwards is item order_[i]: sorted by level (stable)
  // before chunking, so that a chunk holds as few levels as it can.
  order_.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) order_[i] = i;
  std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) { return items[a].level < items[b].level; });
  for (size_t begin = 0; begin < items.size(); begin += chunk) {
    const size_t count = std::min(chunk, items.size() - begin);
    // Room for a whole chunk; a shorter last chunk uses the first rows.
    if (!cpu_input_.defined() || cpu_input_.size(0) < int64_t(chunk) || cpu_input_.size(2) != padded_h ||
        cpu_input_.size(3) != padded_w) {
      c10::InferenceMode normal(false);  // written in place by every later batch
      cpu_input_ = at::empty({int64_t(chunk), 3, padded_h, padded_w}, at::kFloat);
      device_input_ = bundle_->device().is_cpu() ? cpu_input_
                                                 : at::empty(cpu_input_.sizes(), cpu_input_.options().device(bundle_->device()));
    }
    chunk_levels_.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const BatchItem& item = items[order_[begin + i]];
      input_writer_.write(item.frame, cpu_input_.data_ptr<float>() + i * sample, padded_h, padded_w);
      chunk_levels_[i] = item.level;
    }
    const at::Tensor input = device_input_.narrow(0, 0, int64_t(count));
    if (!bundle_->device().is_cpu()) input.copy_(cpu_input_.narrow(0, 0, int64_t(count)));
    const at::Tensor scores = plan_for(chunk_levels_).scores(input);
    if (heads_.size() < count) heads_.resize(count);
    for (size_t i = 0; i < count; ++i)
      heads_[i].run(scores.narrow(0, int64_t(i), 1), width, height, items[order_[begin + i]].classes);
  }
}

}  // namespace gearnn
