#pragma once
// Each layer's distortion sensitivity (Eq. 1 of the GearNN paper), the value
// that choose_adaptor_layers (knapsack.h) maximises under a memory budget.
#include "drn.h"

#include <string>
#include <vector>

namespace gearnn {

// v_i = (1/N_i) x sum_j |p_i^j - f_q(p_i^j)| over the learnable values of layer i
// (conv weight and bias; BN weight and bias), for every layer of `arch`.
std::vector<double> layer_sensitivities(const Architecture& arch, const WeightTable& base,
                                        const WeightTable& fine_tuned);

}  // namespace gearnn
