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
  // "jpeg": `levels` qualities over 10..100; "brightness": `levels` factors over
  // 0.2..1.0; "abr": a ladder of 480x360, 320x240, 240x180 crossed with mean
  // QP 22, 30, 38 (`levels` is ignored). The least distorted level runs the base.
  std::string kind = "jpeg";
  int levels = 10;
  std::string budget = "0.2%";
  uint64_t seed = 1;
  // Early exits with random heads (one 3x3 conv of `exit_channels`) after
  // these stages, each with `exit_threshold` and `exit_dilations[i]` (1 where not given).
  std::vector<std::string> exits;
  std::vector<int> exit_dilations;
  int exit_channels = 16;
  double exit_threshold = 0.5;
};

void write_random_bundle(const std::string& folder, const RandomBundleOptions& options);

}  // namespace gearnn
