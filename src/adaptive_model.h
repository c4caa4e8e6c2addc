#pragma once
// One stream's view of a resident bundle: it shares the bundle's base and
// adaptors with every other AdaptiveModel on the same bundle and keeps only
// its own selected level and its input buffers (so it is not copyable, and
// one thread uses it at a time). select() swaps which weight table the next
// forward reads; it copies no weights.
#include "bundle.h"
#include "class_map_head.h"
#include "image.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace gearnn {

// Packed RGB frames to the network's input, for one stream: the
// normalisation table is built once, and the input tensor (on the CPU and, for
// another device, there too) is kept while frames keep their size.
class FrameInput {
public:
  FrameInput(const Normalization& normalization, const at::Device& device);
  // Normalised 1 x 3 x H' x W' input on the device (H', W' rounded up to
  // multiples of 8 by repeating the last row and column). Valid until the next call.
  const at::Tensor& convert(const RgbView& image);
  // Allocates the buffers for frames of this size now (at caps time) rather than at the next frame.
  void reserve(int width, int height);
  // The conversion alone, into 3 planes of padded_h x padded_w floats
  // (padded_h >= height, padded_w >= width) that the caller owns.
  void write(const RgbView& image, float* planes, int64_t padded_h, int64_t padded_w) const;
  // Throws gearnn::Error for an empty frame or a stride shorter than a row.
  static void check(const RgbView& image);

private:
  std::array<std::array<float, 256>, 3> table_;  // (v / 255 - mean) / std per channel
  at::Device device_;
  at::Tensor cpu_, on_device_;
};

class AdaptiveModel {
public:
  explicit AdaptiveModel(std::shared_ptr<const Bundle> bundle);
  AdaptiveModel(const AdaptiveModel&) = delete;
  AdaptiveModel& operator=(const AdaptiveModel&) = delete;

  const Bundle& bundle() const { return *bundle_; }
  const std::shared_ptr<const Bundle>& shared_bundle() const { return bundle_; }

  // Throws gearnn::Error for an unknown level.
  void select(size_t level);
  void select(const std::string& level_name);
  size_t level() const { return level_; }
  const std::string& level_name() const { return bundle_->manifest().levels[level_].name; }

  // The bundle's early exits (early_exit.h), off until turned on here.
  // `threshold_scale` multiplies every threshold (capped at 1): above 1 fewer
  // frames leave early and accuracy rises, below 1 the reverse. Throws for a
  // scale <= 0; turning exits on in a bundle without any does nothing.
  void set_early_exit(bool on, double threshold_scale = 1.0);
  bool early_exit() const { return exits_on_; }
  // Of the last segment_into: the exit taken (-1: the whole network) and the
  // fraction of the whole network's multiply-accumulates the frame cost.
  const ExitOutcome& last_exit() const { return last_exit_; }
  double last_compute_fraction() const { return last_compute_fraction_; }

  // Normalised N x 3 x H x W input (any device) -> log-probabilities on the
  // bundle's device. No autograd.
  at::Tensor forward(const at::Tensor& input) const;

  // A whole frame: normalise, pad to a multiple of 8, run the network to its
  // 1/8-resolution scores, then the fused up-sampling and argmax
  // (class_map_head.h). Writes width x height class indices, row-major, to
  // `classes`; frames of one size reuse the same buffers.
  void segment_into(const RgbView& image, uint8_t* classes);
  // Sizes the input buffers for frames of width x height (a stream's caps).
  void prepare(int width, int height) { input_.reserve(width, height); }
  ClassMap segment(const RgbView& image);

private:
  std::shared_ptr<const Bundle> bundle_;
  const WeightTable* weights_;
  size_t level_;
  FrameInput input_;
  UpsampledArgmax head_;

  void update_thresholds();
  bool exits_on_ = false;
  double threshold_scale_ = 1.0;
  std::vector<double> thresholds_;  // the selected level's, scaled
  ExitOutcome last_exit_;
  double last_compute_fraction_ = 1.0;
  // Costs at the input size they were counted for.
  int64_t costs_h_ = 0, costs_w_ = 0;
  ExitCosts costs_;
};

// The normalised, padded 1 x 3 x H' x W' float tensor of an RGB frame on `device`
// (H', W' rounded up to multiples of 8 by repeating the last row and column).
at::Tensor frame_to_input(const RgbView& image, const Normalization& normalization, const at::Device& device);


}  // namespace gearnn
