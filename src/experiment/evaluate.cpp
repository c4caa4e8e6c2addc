#include "experiment/evaluate.h"

#include "adaptive_model.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace gearnn {

ConfusionMatrix evaluate(const Architecture& arch, const WeightTable& weights, const Normalization& normalization,
                         const Dataset& dataset, const std::function<RgbImage(size_t)>& image_source) {
  c10::InferenceMode guard;
  ConfusionMatrix confusion(arch.classes());
  const at::Device device = weights.empty() ? at::Device(at::kCPU) : weights[0].device();
  for (size_t i = 0; i < dataset.size(); ++i) {
    const RgbImage image = image_source ? image_source(i) : dataset.load_image(i);
    const at::Tensor log_probs = arch.forward(weights, frame_to_input(image.view(), normalization, device));
    confusion.add(argmax_class_map(log_probs, image.width, image.height), dataset.load_label(i));
  }
  return confusion;
}

}  // namespace gearnn
