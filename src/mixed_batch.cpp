#include "mixed_batch.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <string>

namespace gearnn {

MixedBatchPlan::MixedBatchPlan(std::shared_ptr<const Bundle> bundle, std::vector<size_t> levels)
    : bundle_(std::move(bundle)), levels_(std::move(levels)) {
  if (levels_.empty()) throw Error("mixed batch: no samples");
  for (size_t l : levels_)
    if (l >= bundle_->level_count())
      throw Error(bundle_->folder() + ": mixed batch names level " + std::to_string(l) + " of " +
                  std::to_string(bundle_->level_count()));
  c10::InferenceMode guard;
  const Architecture& arch = bundle_->architecture();
  plans_.resize(arch.layers().size());
  for (size_t layer = 0; layer < arch.layers().size(); ++layer) {
    const std::vector<size_t>& slots = arch.layers()[layer].slots;
    // Consecutive samples whose levels read the same tensors for this layer
    // (the same objects where an adaptor leaves the layer alone) form a span.
    LayerPlan& plan = plans_[layer];
    for (size_t n = 0; n < levels_.size(); ++n) {
      const WeightTable* table = &bundle_->weights(levels_[n]);
      const bool same_as_previous =
          !plan.spans.empty() && std::all_of(slots.begin(), slots.end(), [&](size_t s) {
            return (*plan.spans.back().table)[s].is_same((*table)[s]);
          });
      if (same_as_previous)
        ++plan.spans.back().count;
      else
        plan.spans.push_back({table, int64_t(n), 1});
    }
    if (plan.spans.size() == 1) continue;
    ++split_layers_;
    if (arch.layers()[layer].kind != Layer::Kind::batch_norm) continue;
    // y = (x - mean) / sqrt(var + eps) * weight + bias = x * scale + shift, per sample.
    std::vector<at::Tensor> scales, shifts;
    for (size_t n = 0; n < levels_.size(); ++n) {
      const WeightTable& w = bundle_->weights(levels_[n]);
      const at::Tensor scale = w[slots[0]] / at::sqrt(w[slots[3]] + 1e-5);
      scales.push_back(scale);
      shifts.push_back(w[slots[1]] - w[slots[2]] * scale);
    }
    plan.scale = at::stack(scales).unsqueeze(-1).unsqueeze(-1);
    plan.shift = at::stack(shifts).unsqueeze(-1).unsqueeze(-1);
  }
}

at::Tensor MixedBatchPlan::scores(const at::Tensor& input) const {
  if (input.dim() != 4 || input.size(0) != int64_t(levels_.size()))
    throw Error("mixed batch: input of " + std::to_string(input.dim() == 4 ? input.size(0) : -1) +
                " samples for a plan of " + std::to_string(levels_.size()));
  c10::InferenceMode guard;
  return bundle_->architecture().scores(*this, input);
}

// `bias_of_bn`: the folded bias where the BN layer was folded into this conv.
at::Tensor MixedBatchPlan::conv(int layer, const at::Tensor& x, int stride, int padding, int dilation,
                                const at::Tensor& bias_of_bn) const {
  const std::vector<size_t>& slots = bundle_->architecture().layers()[size_t(layer)].slots;
  const LayerPlan& plan = plans_[size_t(layer)];
  auto run = [&](const WeightTable& w, const at::Tensor& in) {
    const at::Tensor bias = bias_of_bn.defined() ? bias_of_bn : slots.size() > 1 ? w[slots[1]] : at::Tensor();
    return conv2d(in, w[slots[0]], bias, stride, padding, dilation);
  };
  if (plan.spans.size() == 1) return run(*plan.spans[0].table, x);
  std::vector<at::Tensor> parts;
  parts.reserve(plan.spans.size());
  for (const SampleSpan& span : plan.spans) parts.push_back(run(*span.table, x.narrow(0, span.first, span.count)));
  return at::cat(parts);
}

at::Tensor MixedBatchPlan::conv_bn(int conv_layer, int bn_layer, const at::Tensor& x, int stride, int padding,
                                   int dilation) const {
  const std::vector<size_t>& bn = bundle_->architecture().layers()[size_t(bn_layer)].slots;
  const LayerPlan& plan = plans_[size_t(bn_layer)];
  const WeightTable& first = *plan.spans[0].table;
  // Folded pairs (no adaptor touches them): one conv with the folded bias, shared by all.
  if (!first[bn[0]].defined()) return conv(conv_layer, x, stride, padding, dilation, first[bn[1]]);
  const at::Tensor y = conv(conv_layer, x, stride, padding, dilation, at::Tensor());
  if (plan.spans.size() == 1)
    return at::batch_norm(y, first[bn[0]], first[bn[1]], first[bn[2]], first[bn[3]], false, 0.0, 1e-5, true);
  return at::addcmul(plan.shift, y, plan.scale);
}

at::Tensor MixedBatchPlan::classifier(int layer, const at::Tensor& x) const {
  return conv(layer, x, 1, 0, 1, at::Tensor());
}

}  // namespace gearnn
