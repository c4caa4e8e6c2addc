#pragma once
// One forward over a batch whose samples run different levels of one bundle
// (Punica/S-LoRA's idea for vision adaptors). Every layer that all the
// batch's levels share runs once over the whole batch. A BN layer that some
// level's adaptor replaces applies a per-sample scale and shift (N x C x 1 x 1,
// gathered when the plan is made); a conv that differs runs once per span of
// consecutive samples sharing its weights, on a view of the batch (callers
// order samples by level: at most one span per level), and the parts are
// joined for the next layer. No weights are copied: the plan holds references
// to the bundle's tensors and the small per-sample BN terms. Outputs equal
// each sample's single-frame forward at its own level within float rounding
// (tests/test_mixed_batch.cpp).
#include "bundle.h"
#include "drn.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace gearnn {

class MixedBatchPlan final : public LayerRunner {
public:
  // levels[i]: the level of sample i. Throws gearnn::Error for an unknown level.
  MixedBatchPlan(std::shared_ptr<const Bundle> bundle, std::vector<size_t> levels);

  const std::vector<size_t>& levels() const { return levels_; }
  size_t batch_size() const { return levels_.size(); }
  // Layers that run per span of samples (convs) or per sample (BN), for reports.
  size_t split_layers() const { return split_layers_; }

  // N x 3 x H x W normalised input, N = batch_size(), on the bundle's device ->
  // N x classes x H/8 x W/8 scores. Inference only.
  at::Tensor scores(const at::Tensor& input) const;

  at::Tensor conv_bn(int conv_layer, int bn_layer, const at::Tensor& x, int stride, int padding,
                     int dilation) const override;
  at::Tensor classifier(int layer, const at::Tensor& x) const override;

private:
  struct SampleSpan {
    const WeightTable* table;  // a table samples [first, first + count) share for this layer
    int64_t first, count;
  };
  struct LayerPlan {
    std::vector<SampleSpan> spans;  // one span: the whole batch
    at::Tensor scale, shift;        // BN layers split per sample: N x C x 1 x 1
  };
  at::Tensor conv(int layer, const at::Tensor& x, int stride, int padding, int dilation, const at::Tensor& bias_of_bn) const;

  std::shared_ptr<const Bundle> bundle_;
  std::vector<size_t> levels_;
  std::vector<LayerPlan> plans_;  // per Architecture::layers()
  size_t split_layers_ = 0;
};

}  // namespace gearnn
