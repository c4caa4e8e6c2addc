#include "sensitivity.h"

#include "error.h"
#include "knapsack.h"

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

std::vector<std::string> choose_adaptor_layers(const Architecture& arch, const std::vector<double>& sensitivity,
                                               int64_t budget) {
  if (sensitivity.size() != arch.layers().size()) throw Error("one sensitivity per layer is needed");
  std::vector<KnapsackItem> items;
  for (size_t i = 0; i < arch.layers().size(); ++i) items.push_back({arch.layers()[i].size, sensitivity[i]});
  std::vector<std::string> chosen;
  for (size_t i : solve_knapsack(items, budget)) chosen.push_back(arch.layers()[i].name);
  return chosen;
}

}  // namespace gearnn
