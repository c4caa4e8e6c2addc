#pragma once
// Class maps for a batch of frames of one size, each frame on its own level of
// one resident bundle: the frames are normalised into one N x 3 x H x W input,
// run through one MixedBatchPlan forward, and each sample's scores go through
// the fused up-sampling and argmax. Samples are ordered by level before the
// batch is cut into forwards, so that a forward holds as few levels as it can,
// a plan is kept per set of levels (not per arrival order) and samples sharing
// a layer's weights are contiguous (MixedBatchPlan runs them on one view). Input
// buffers are kept while the size and batch size hold. One thread uses it at a time.
//
// On a CPU a batch of large frames is slower per frame than single frames:
// the activations of 8 frames at 480x360 (88 MB for the first layer alone)
// leave the caches, and the forward becomes bound by memory bandwidth (0.6x
// the single-frame throughput on a 2-core AVX2 machine). So the batch runs in
// chunks of at most `max_pixels` input pixels (at least one frame each):
// small frames batch, large ones run one at a time through the same plan.
#include "adaptive_model.h"
#include "bundle.h"
#include "class_map_head.h"
#include "image.h"
#include "mixed_batch.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace gearnn {

struct BatchItem {
  RgbView frame;
  size_t level = 0;
  uint8_t* classes = nullptr;  // frame.width x frame.height bytes, written by segment()
};

class BatchSegmenter {
public:
  // max_pixels 0: the default for the bundle's device (kCpuMaxBatchPixels on
  // a CPU, unlimited elsewhere); SIZE_MAX: unlimited.
  explicit BatchSegmenter(std::shared_ptr<const Bundle> bundle, size_t max_pixels = 0);
  static constexpr size_t kCpuMaxBatchPixels = 200000;
  BatchSegmenter(const BatchSegmenter&) = delete;
  BatchSegmenter& operator=(const BatchSegmenter&) = delete;

  const Bundle& bundle() const { return *bundle_; }
  // Every frame must have the size of the first. Throws gearnn::Error for
  // mixed sizes, an unknown level or an empty frame.
  void segment(const std::vector<BatchItem>& items);
  size_t cached_plans() const { return plans_.size(); }
  // Frames per forward for frames of this size.
  size_t chunk_for(int width, int height) const;

private:
  const MixedBatchPlan& plan_for(const std::vector<size_t>& levels);

  std::shared_ptr<const Bundle> bundle_;
  size_t max_pixels_;
  FrameInput input_writer_;
  at::Tensor cpu_input_, device_input_;  // N x 3 x H' x W'
  std::map<std::vector<size_t>, std::unique_ptr<MixedBatchPlan>> plans_;
  std::vector<UpsampledArgmax> heads_;
  std::vector<size_t> chunk_levels_, order_;
};

}  // namespace gearnn
