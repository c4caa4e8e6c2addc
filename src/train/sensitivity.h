#pragma once
// GearNN's layer choice: each layer's distortion sensitivity (Eq. 1 of the
// paper) and the 0/1 knapsack that picks the adaptor under a memory budget.
#include "drn.h"

#include <string>
#include <vector>

namespace gearnn {

// v_i = (1/N_i) x sum_j |p_i^j - f_q(p_i^j)| over the learnable values of layer i
// (conv weight and bias; BN weight and bias), for every layer of `arch`.
std::vector<double> layer_sensitivities(const Architecture& arch, const WeightTable& base,
                                        const WeightTable& fine_tuned);

// Layers maximising the summed sensitivity with the summed adaptor size (every
// value the adaptor stores, BN running statistics included) within `budget`.
std::vector<std::string> choose_adaptor_layers(const Architecture& arch, const std::vector<double>& sensitivity,
                                               int64_t budget);

}  // namespace gearnn
