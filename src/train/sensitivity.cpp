#include "sensitivity.h"

#include "error.h"

#include <ATen/ATen.h>

namespace gearnn {

std::vector<double> layer_sensitivities(const Architecture& arch, const WeightTable& base,
                                        const WeightTable& fine_tuned) {
  std::vector<double> v;
  for (const Layer& layer : arch.layers()) {
    double sum = 0;
    int64_t count = 0;
    for (size_t s : layer.slots) {
      if (!arch.slots()[s].learnable) continue;
      sum += (base.at(s).detach() - fine_tuned.at(s).detach()).abs().sum().item<double>();
      count += base[s].numel();
    }
    v.push_back(count > 0 ? sum / double(count) : 0.0);
  }
  return v;
}

}  // namespace gearnn
