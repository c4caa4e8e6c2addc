#include "args.h"
#include "bundle.h"
#include "commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace gearnn::cli {
namespace {

const CommandSpec kSpec{
    "gearnn inspect BUNDLE [--json]\n       gearnn inspect --arch A --classes C [--width W] [--json]",
    "Shows a bundle's architecture, levels, adaptor layers, parameter counts and\n"
    "memory overhead; or, with --arch, the sizes of a bare architecture.",
    {{"--json", "", "print JSON instead of text"},
     {"--arch", "A", "drn_c_26, drn_d_22 or drn_d_38"},
     {"--classes", "C", "number of classes (with --arch)"},
     {"--width", "W", "channel width multiplier (with --arch, default 1)"}},
    0,
    1};

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > (n < 0 ? 1 : 0); i -= 3) s.insert(size_t(i), ",");
  return s;
}

nlohmann::json distortion_json(const Distortion& d) {
  nlohmann::json j = nlohmann::json::object();
  for (Dimension dim : kDimensions) {
    if (!d.has(dim)) continue;
    if (dim == Dimension::resolution) j["resolution"] = {d.resolution->width, d.resolution->height};
    else j[dimension_name(dim)] = *d.value(dim);
  }
  return j;
}

int inspect_architecture(const Args& args) {
  const Architecture arch(args.require("--arch"), args.get_int("--classes", 0), args.get_double("--width", 1.0));
  if (args.has("--json")) {
    nlohmann::json j = {{"architecture", arch.name()},
                        {"width", arch.width()},
                        {"classes", arch.classes()},
                        {"learnable_params", arch.learnable_params()},
                        {"params_with_buffers", arch.params_with_buffers()},
                        {"layers", arch.layers().size()},
                        {"tensors", arch.slots().size()}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << arch.name() << " (width " << arch.width() << "), " << arch.classes() << " classes\n"
            << "  learnable parameters:       " << with_commas(arch.learnable_params()) << "\n"
            << "  with BN running statistics: " << with_commas(arch.params_with_buffers()) << "\n"
            << "  adaptable layers:           " << arch.layers().size() << "\n";
  return 0;
}

// The budget and the most sensitive layers (Eq. 1), as gearnn adapt recorded them.
std::string sensitivity_line(const LevelSpec& l) {
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [layer, v] : l.sensitivity) ranked.emplace_back(v, layer);
  std::sort(ranked.rbegin(), ranked.rend());
  std::string out = "    budget " + with_commas(l.budget) + " values; most sensitive:";
  char item[96];
  for (size_t k = 0; k < std::min<size_t>(5, ranked.size()); ++k) {
    std::snprintf(item, sizeof item, " %s %.3g", ranked[k].second.c_str(), ranked[k].first);
    out += item;
  }
  return out + "\n";
}

}  // namespace

int run_inspect(const std::vector<std::string>& argv) {
  const Args args(kSpec, argv);
  if (args.help()) {
    std::cout << help_text(kSpec);
    return 0;
  }
  if (args.has("--arch")) {
    if (!args.positional().empty()) throw UsageError("give either BUNDLE or --arch, not both");
    if (!args.has("--classes")) throw UsageError("--arch needs --classes");
    return inspect_architecture(args);
  }
  if (args.positional().empty()) throw UsageError("missing BUNDLE (or --arch)");

  const auto bundle = Bundle::load(args.positional()[0], "cpu", DescriptorCheck::skip);
  const Manifest& m = bundle->manifest();
  const Architecture& arch = bundle->architecture();

  if (args.has("--json")) {
    nlohmann::json levels = nlohmann::json::array();
    for (size_t i = 0; i < bundle->level_count(); ++i) {
      const LevelSpec& l = m.levels[i];
      nlohmann::json level = {{"name", l.name},
                              {"distortion", distortion_json(l.distortion)},
                              {"adaptor_params", bundle->adaptor_params(i)},
                              {"adaptor_layers", l.adaptor ? l.adaptor->layers : std::vector<std::string>{}}};
      if (!l.sensitivity.empty()) {
        level["budget"] = l.budget;
        level["sensitivity"] = l.sensitivity;
      }
      levels.push_back(level);
    }
    nlohmann::json j = {{"bundle", bundle->folder()},
                        {"architecture", arch.name()},
                        {"width", arch.width()},
                        {"classes", arch.classes()},
                        {"learnable_params", arch.learnable_params()},
                        {"params_with_buffers", arch.params_with_buffers()},
                        {"base_params", bundle->base_params()},
                        {"levels", levels},
                        {"memory_overhead_percent", bundle->memory_overhead_percent()}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << "bundle:        " << bundle->folder() << "\n"
            << "architecture:  " << arch.name() << " (width " << arch.width() << "), " << arch.classes()
            << " classes\n"
            << "base:          " << with_commas(bundle->base_params()) << " values ("
            << with_commas(arch.learnable_params()) << " learnable)\n"
            << "levels:        " << bundle->level_count() << "\n";
  int adaptors = 0;
  for (size_t i = 0; i < bundle->level_count(); ++i) {
    const LevelSpec& l = m.levels[i];
    std::printf("  %-14s %-22s ", l.name.c_str(), l.distortion.describe().c_str());
    if (!l.adaptor) {
      std::printf("base as it is\n");
      continue;
    }
    ++adaptors;
    const int64_t n = bundle->adaptor_params(i);
    std::printf("adaptor %s values (%.3f%%), %zu layers:", with_commas(n).c_str(),
                100.0 * double(n) / double(bundle->base_params()), l.adaptor->layers.size());
    for (const auto& layer : l.adaptor->layers) std::printf(" %s", layer.c_str());
    std::printf("\n");
    if (!l.sensitivity.empty()) std::printf("%s", sensitivity_line(l).c_str());
  }
  std::fflush(stdout);
  std::printf("memory overhead: %.3f%% for %d adaptors (DNN switching: %d%%)\n", bundle->memory_overhead_percent(),
              adaptors, adaptors * 100);
  if (!bundle->exits().empty()) {
    const ExitCosts c = exit_costs(arch, bundle->exits(), 360, 480);
    std::printf("early exits:   %zu (MACs at 480x360, of the network's %.2f G)\n", bundle->exits().size(),
                double(c.full) / 1e9);
    for (size_t i = 0; i < bundle->exits().size(); ++i) {
      const ExitSpec& e = bundle->exits()[i].spec;
      std::printf("  after %-8s %s, %s values, threshold %.4f, leaving there costs %.1f%%", e.after.c_str(),
                  exit_head_text(e).c_str(),
                  with_commas(bundle->exits()[i].params()).c_str(), e.threshold, 100.0 * double(c.at_exit[i]) / double(c.full));
      if (e.saving_ratio) std::printf(", R %.2f", *e.saving_ratio);
      std::printf("\n");
    }
  }
  return 0;
}

}  // namespace gearnn::cli
