#include "experiment/evaluate.h"

#include "adaptive_model.h"
#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace gearnn {
namespace {

std::vector<bool> every_bn_layer(const Architecture& arch) {
  std::vector<bool> on(arch.layers().size());
  for (size_t l = 0; l < on.size(); ++l) on[l] = arch.layers()[l].kind == Layer::Kind::batch_norm;
  return on;
}

// Fresh running-statistics tensors for every BN layer, so that updating them
// leaves the caller's table untouched.
WeightTable with_own_bn_statistics(const Architecture& arch, const WeightTable& weights) {
  WeightTable w = weights;
  for (const Layer& layer : arch.layers())
    if (layer.kind == Layer::Kind::batch_norm)
      for (size_t s : {layer.slots[2], layer.slots[3]}) w[s] = weights[s].clone();
  return w;
}

}  // namespace

ConfusionMatrix evaluate(const Architecture& arch, const WeightTable& weights, const Normalization& normalization,
                         const Dataset& dataset, const std::function<RgbImage(size_t)>& image_source,
                         bool frame_statistics) {
  c10::InferenceMode guard;
  ConfusionMatrix confusion(arch.classes());
  const at::Device device = weights.empty() ? at::Device(at::kCPU) : weights[0].device();
  // Momentum 0: each frame is normalised with its own statistics and the running ones stay as they are.
  const std::vector<bool> batch_stats = frame_statistics ? every_bn_layer(arch) : std::vector<bool>{};
  const WeightTable w = frame_statistics ? with_own_bn_statistics(arch, weights) : weights;
  for (size_t i = 0; i < dataset.size(); ++i) {
    const RgbImage image = image_source ? image_source(i) : dataset.load_image(i);
    const at::Tensor log_probs = arch.forward(w, frame_to_input(image.view(), normalization, device), batch_stats, 0.0);
    confusion.add(argmax_class_map(log_probs, image.width, image.height), dataset.load_label(i));
  }
  return confusion;
}

WeightTable adapt_bn_statistics(const Architecture& arch, const WeightTable& weights,
                                const Normalization& normalization, const Dataset& dataset,
                                const std::function<RgbImage(size_t)>& image_source, int batch) {
  c10::InferenceMode guard;
  const at::Device device = weights.empty() ? at::Device(at::kCPU) : weights[0].device();
  WeightTable w = with_own_bn_statistics(arch, weights);
  for (const Layer& layer : arch.layers())
    if (layer.kind == Layer::Kind::batch_norm) {
      w[layer.slots[2]].zero_();
      w[layer.slots[3]].fill_(1.0);
    }
  if (batch < 1) throw Error("BN adaptation: batch must be at least 1");
  const std::vector<bool> batch_stats = every_bn_layer(arch);
  std::vector<at::Tensor> pending;
  size_t frames = 0;
  // A batch of n enters with momentum n / (frames so far): the running
  // statistics end as the mean of the batch statistics weighted by frames.
  const auto flush = [&] {
    if (pending.empty()) return;
    frames += pending.size();
    arch.scores(w, at::cat(pending), batch_stats, double(pending.size()) / double(frames));
    pending.clear();
  };
  for (size_t i = 0; i < dataset.size(); ++i) {
    const RgbImage image = image_source ? image_source(i) : dataset.load_image(i);
    at::Tensor input = frame_to_input(image.view(), normalization, device);
    if (!pending.empty() && (pending[0].sizes() != input.sizes() || int(pending.size()) == batch)) flush();
    pending.push_back(std::move(input));
  }
  flush();
  return w;
}

}  // namespace gearnn
