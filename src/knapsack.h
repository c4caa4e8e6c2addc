#pragma once
// Exact 0/1 knapsack by dynamic programming over item sizes (GearNN picks the
// adaptor layers this way: value = distortion sensitivity, size = values stored).
#include <cstdint>
#include <string>
#include <vector>

namespace gearnn {

class Architecture;

struct KnapsackItem {
  int64_t size;
  double value;
};

// Indices (ascending) of the items of highest total value whose sizes sum to at
// most `capacity`. Sizes must be positive; values may be anything (negative
// ones are never taken).
std::vector<size_t> solve_knapsack(const std::vector<KnapsackItem>& items, int64_t capacity);

// The layers of `arch` (names, in the architecture's order) of highest total
// `value` (one per layer) whose adaptor sizes fit in `budget` values: GearNN's
// choice of an adaptor. Throws gearnn::Error when `value` has the wrong length.
std::vector<std::string> choose_adaptor_layers(const Architecture& arch, const std::vector<double>& value,
                                               int64_t budget);

// "0.2%" of `total` or a plain count such as "31800". Throws gearnn::Error.
int64_t parse_budget(const std::string& text, int64_t total);

}  // namespace gearnn
