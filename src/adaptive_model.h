#pragma once
// One stream's view of a resident bundle: it shares the bundle's base and
// adaptors with every other AdaptiveModel on the same bundle and keeps only
// its own selected level. select() swaps which weight table the next forward
// reads; it copies no weights.
#include "bundle.h"
#include "image.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

namespace gearnn {

class AdaptiveModel {
public:
  explicit AdaptiveModel(std::shared_ptr<const Bundle> bundle);

  const Bundle& bundle() const { return *bundle_; }
  const std::shared_ptr<const Bundle>& shared_bundle() const { return bundle_; }

  // Throws gearnn::Error for an unknown level.
  void select(size_t level);
  void select(const std::string& level_name);
  size_t level() const { return level_; }
  const std::string& level_name() const { return bundle_->manifest().levels[level_].name; }

  // Normalised N x 3 x H x W input (any device) -> log-probabilities on the
  // bundle's device. No autograd.
  at::Tensor forward(const at::Tensor& input) const;

  // A whole frame: normalise, pad to a multiple of 8, infer, crop, argmax.
  ClassMap segment(const RgbView& image) const;

private:
  std::shared_ptr<const Bundle> bundle_;
  const WeightTable* weights_;
  size_t level_;
};

// The normalised, padded 1 x 3 x H' x W' float tensor of an RGB frame on `device`
// (H', W' rounded up to multiples of 8 by repeating the last row and column).
at::Tensor frame_to_input(const RgbView& image, const Normalization& normalization, const at::Device& device);

// Class indices of log-probabilities, cropped to width x height.
ClassMap argmax_class_map(const at::Tensor& log_probs, int width, int height);

}  // namespace gearnn
