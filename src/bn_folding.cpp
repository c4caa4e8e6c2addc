#include "bn_folding.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace gearnn {

FoldingReport fold_batch_norms(const Architecture& arch, const std::vector<bool>& adapted, WeightTable& base,
                               std::vector<WeightTable>& levels) {
  if (adapted.size() != arch.layers().size()) throw Error("fold_batch_norms: one flag per layer is needed");
  c10::InferenceMode guard;
  FoldingReport report;
  report.pairs = arch.conv_bn_pairs().size();
  for (auto [conv, bn] : arch.conv_bn_pairs()) {
    if (adapted[conv] || adapted[bn]) continue;
    const size_t weight = arch.layers()[conv].slots[0];
    const auto& b = arch.layers()[bn].slots;  // weight, bias, running_mean, running_var
    const at::Tensor scale = base[b[0]] / at::sqrt(base[b[3]] + 1e-5);
    const at::Tensor folded_weight = base[weight] * scale.view({-1, 1, 1, 1});
    const at::Tensor folded_bias = base[b[1]] - base[b[2]] * scale;
    report.values_before += base[weight].numel() + 4 * scale.numel();
    report.values_after += folded_weight.numel() + folded_bias.numel();
    ++report.folded;
    for (WeightTable* table : [&] {
           std::vector<WeightTable*> all{&base};
           for (WeightTable& l : levels) all.push_back(&l);
           return all;
         }()) {
      (*table)[weight] = folded_weight;
      (*table)[b[1]] = folded_bias;
      (*table)[b[0]] = (*table)[b[2]] = (*table)[b[3]] = at::Tensor();
    }
  }
  return report;
}

}  // namespace gearnn
