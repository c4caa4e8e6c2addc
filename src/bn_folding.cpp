#include "bn_folding.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstring>

namespace gearnn {
namespace {

// Plain loops rather than ATen ops: ATen would run them as OpenMP parallel
// regions on the loading thread (the application's, for an element), whose
// thread pool then competes with the streaming thread's and makes GNU OpenMP
// stop spin-waiting, which slowed every later forward (160x120 frames: 11 ms
// instead of 3.4 ms).
void fold_pair(const at::Tensor& gamma_t, const at::Tensor& beta_t, const at::Tensor& mean_t, const at::Tensor& var_t,
               const at::Tensor& weight, const at::Tensor& bias) {
  const at::Tensor gamma = gamma_t.to(at::kCPU).contiguous(), beta = beta_t.to(at::kCPU).contiguous();
  const at::Tensor mean = mean_t.to(at::kCPU).contiguous(), var = var_t.to(at::kCPU).contiguous();
  const int64_t out = weight.size(0), per_out = weight.numel() / out;
  float* w = weight.data_ptr<float>();
  float* b = bias.data_ptr<float>();
  for (int64_t o = 0; o < out; ++o) {
    const float scale = gamma.data_ptr<float>()[o] / std::sqrt(var.data_ptr<float>()[o] + 1e-5f);
    for (int64_t i = 0; i < per_out; ++i) w[o * per_out + i] *= scale;
    b[o] = beta.data_ptr<float>()[o] - mean.data_ptr<float>()[o] * scale;
  }
}

}  // namespace

FoldingReport fold_batch_norms(const Architecture& arch, const std::vector<bool>& adapted, WeightTable& base,
                               std::vector<WeightTable>& levels) {
  if (adapted.size() != arch.layers().size()) throw Error("fold_batch_norms: one flag per layer is needed");
  c10::InferenceMode guard;
  FoldingReport report;
  report.pairs = arch.conv_bn_pairs().size();
  std::vector<WeightTable*> tables{&base};
  for (WeightTable& level : levels) tables.push_back(&level);
  for (auto [conv, bn] : arch.conv_bn_pairs()) {
    if (adapted[conv] || adapted[bn]) continue;
    const size_t weight = arch.layers()[conv].slots[0];
    const auto& b = arch.layers()[bn].slots;  // weight, bias, running_mean, running_var
    const at::Tensor source = base[weight].to(at::kCPU).contiguous();
    const at::Tensor folded_weight = at::empty(source.sizes(), at::kFloat);
    std::memcpy(folded_weight.data_ptr<float>(), source.data_ptr<float>(), size_t(source.numel()) * sizeof(float));
    const at::Tensor folded_bias = at::empty({folded_weight.size(0)}, at::kFloat);
    fold_pair(base[b[0]], base[b[1]], base[b[2]], base[b[3]], folded_weight, folded_bias);
    report.values_before += base[weight].numel() + 4 * folded_bias.numel();
    report.values_after += folded_weight.numel() + folded_bias.numel();
    const at::Tensor on_device[2] = {folded_weight.to(base[weight].device()), folded_bias.to(base[weight].device())};
    ++report.folded;
    for (WeightTable* table : tables) {
      (*table)[weight] = on_device[0];
      (*table)[b[1]] = on_device[1];
      (*table)[b[0]] = (*table)[b[2]] = (*table)[b[3]] = at::Tensor();
    }
  }
  return report;
}

}  // namespace gearnn
