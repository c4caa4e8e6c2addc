// gearnn bench switch: what a level switch costs with GearNN's table swap,
// against copying the adaptor into the base and reloading a whole model.
// (gearnn bench forward and batch are in cmd_bench_forward.cpp and cmd_bench_batch.cpp.)
#include "adaptive_model.h"
#include "args.h"
#include "bench_timing.h"
#include "commands.h"
#include "error.h"
#include "weight_file.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

namespace gearnn::cli {
namespace {

const CommandSpec kSpec{
    "gearnn bench switch BUNDLE [--json] [--rounds N]",
    "Times a level switch three ways in one run: select() on a resident bundle\n"
    "(GearNN), copying the next level's adaptor into one model's weights, and\n"
    "reloading a whole model from disk. Reports medians.",
    {{"--json", "", "print JSON"},
     {"--rounds", "N", "timed rounds for select and copy (default 2000)"},
     {"--reloads", "N", "timed whole-model reloads (default 9)"},
     {"--device", "D", "cpu or cuda (default cpu)"}},
    1,
    1};

// Each round switches through every level once; select() is too quick for the
// clock alone, so a round is timed as a batch of switches.
double time_select(AdaptiveModel& model, int rounds) {
  const size_t levels = model.bundle().level_count();
  constexpr int kBatch = 256;
  std::vector<double> per_switch;
  size_t next = 0;
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < kBatch; ++i) {
      next = next + 1 == levels ? 0 : next + 1;
      model.select(next);
    }
    per_switch.push_back(micros(Clock::now() - start) / kBatch);
  }
  return median(per_switch);
}

// The alternative GearNN avoids: one private copy of the weights, into which
// every switch copies the layers that differ between the old and new level.
double time_copy(const Bundle& bundle, int rounds) {
  c10::InferenceMode guard;
  WeightTable work;
  for (const at::Tensor& t : bundle.base_weights()) work.push_back(t.clone());
  const Architecture& arch = bundle.architecture();
  std::vector<std::vector<size_t>> adaptor_slots(bundle.level_count());
  for (size_t l = 0; l < bundle.level_count(); ++l)
    if (const auto& a = bundle.manifest().levels[l].adaptor)
      for (const auto& name : a->layers)
        for (size_t s : arch.layers()[*arch.find_layer(name)].slots) adaptor_slots[l].push_back(s);

  // Switching from level l-1 to l rewrites the layers either of them adapts.
  const size_t levels = bundle.level_count();
  std::vector<std::vector<size_t>> to_copy(levels);
  for (size_t l = 0; l < levels; ++l) {
    std::set<size_t> slots(adaptor_slots[l].begin(), adaptor_slots[l].end());
    const auto& previous = adaptor_slots[(l + levels - 1) % levels];
    slots.insert(previous.begin(), previous.end());
    to_copy[l].assign(slots.begin(), slots.end());
  }

  std::vector<double> times;
  size_t current = 0;
  for (int r = 0; r < rounds; ++r) {
    const size_t next = (current + 1) % levels;
    const auto start = Clock::now();
    for (size_t s : to_copy[next]) work[s].copy_(bundle.weights(next)[s]);
    if (bundle.device().is_cuda()) at::zeros({1}, at::TensorOptions().device(bundle.device())).item<float>();
    times.push_back(micros(Clock::now() - start));
    current = next;
  }
  return median(times);
}

// Reading a whole model (every base tensor) back from disk onto the device.
double time_reload(const Bundle& bundle, int reloads) {
  const std::string path = (std::filesystem::path(bundle.folder()) / bundle.manifest().base_file).string();
  std::vector<double> times;
  for (int r = 0; r < reloads; ++r) {
    const auto start = Clock::now();
    const WeightTable weights = read_weights(bundle.architecture(), path, bundle.device());
    times.push_back(micros(Clock::now() - start) / 1000.0);
  }
  return median(times);
}

}  // namespace

int run_bench(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("missing benchmark name (switch, forward or batch)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << help_text(kSpec) << "\ngearnn bench forward --help: the class-map path against the exact forward\n"
              << "gearnn bench batch --help: many streams, batched through one forward\n";
    return 0;
  }
  if (argv[0] == "forward") return bench_forward(std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (argv[0] == "batch") return bench_batch(std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (argv[0] != "switch") throw UsageError("unknown benchmark '" + argv[0] + "' (switch, forward or batch)");
  const Args args(kSpec, std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (args.help()) {
    std::cout << help_text(kSpec);
    return 0;
  }
  const int rounds = args.get_int("--rounds", 2000), reloads = args.get_int("--reloads", 9);
  if (rounds < 1 || reloads < 1) throw UsageError("--rounds and --reloads must be at least 1");

  const auto bundle = Bundle::load(args.positional()[0], args.get("--device", "cpu"));
  if (bundle->level_count() < 2) throw Error(bundle->folder() + ": switching needs at least two levels");
  AdaptiveModel model(bundle);

  const double select_us = time_select(model, rounds);
  const double copy_us = time_copy(*bundle, rounds);
  const double reload_ms = time_reload(*bundle, reloads);

  if (args.has("--json")) {
    nlohmann::json j = {{"bundle", bundle->folder()},
                        {"levels", bundle->level_count()},
                        {"switch_us_median", select_us},
                        {"copy_us_median", copy_us},
                        {"reload_ms_median", reload_ms},
                        {"copy_over_switch", copy_us / select_us},
                        {"memory_overhead_percent", bundle->memory_overhead_percent()}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("bundle %s, %zu levels, %s\n", bundle->folder().c_str(), bundle->level_count(),
              bundle->architecture().name().c_str());
  std::printf("  select (GearNN):         %10.4f us median\n", select_us);
  std::printf("  copy adaptor into base:  %10.4f us median  (%.0fx select)\n", copy_us, copy_us / select_us);
  std::printf("  reload whole model:      %10.3f ms median\n", reload_ms);
  std::printf("  memory overhead:         %10.3f %%\n", bundle->memory_overhead_percent());
  return 0;
}

}  // namespace gearnn::cli
