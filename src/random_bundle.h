#pragma once
// Bundles with random weights, for tests and benchmarks: a base and N-1
// adaptors whose layout fills the budget (knapsack by parameter count alone).
#include <cstdint>
#include <string>
#include <vector>

namespace gearnn {

class Architecture;

struct RandomBundleOptions {
  std::string architecture = "drn_d_22";
  int classes = 19;
  double width = 1.0;
  int levels = 10;  // JPEG qualities spread over 10..100; the last runs the base as it is
  std::string budget = "0.2%";
  uint64_t seed = 1;
};

// The layers whose sizes fill `budget` values best.
std::vector<std::string> layers_filling_budget(const Architecture& arch, int64_t budget);

void write_random_bundle(const std::string& folder, const RandomBundleOptions& options);

}  // namespace gearnn
