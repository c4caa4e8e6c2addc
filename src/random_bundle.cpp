#include "random_bundle.h"

#include "bundle.h"
#include "error.h"
#include "knapsack.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>

namespace gearnn {

namespace {

// BN layers with non-trivial statistics, so that adaptors change outputs.
void randomize_batch_norm(const Architecture& arch, WeightTable& w, at::Generator& gen) {
  for (const Layer& layer : arch.layers()) {
    if (layer.kind != Layer::Kind::batch_norm) continue;
    const auto& s = layer.slots;
    w[s[0]].uniform_(0.5, 1.5, gen);
    w[s[1]].normal_(0.0, 0.1, gen);
    w[s[2]].normal_(0.0, 0.1, gen);
    w[s[3]].uniform_(0.5, 1.5, gen);
  }
}

// Levels ordered from most to least distorted.
std::vector<LevelSpec> random_bundle_levels(const RandomBundleOptions& o) {
  std::vector<LevelSpec> levels;
  if (o.kind == "abr") {
    for (auto [w, h] : {std::pair{240, 180}, std::pair{320, 240}, std::pair{480, 360}})
      for (int qp : {38, 30, 22}) {
        LevelSpec l;
        l.name = std::to_string(w) + "x" + std::to_string(h) + "-qp" + std::to_string(qp);
        l.distortion.resolution = Resolution{w, h};
        l.distortion.h264_qp = qp;
        levels.push_back(l);
      }
    return levels;
  }
  if (o.levels < 1) throw Error("a bundle needs at least one level");
  for (int i = 0; i < o.levels; ++i) {
    const double t = o.levels == 1 ? 1.0 : double(i) / (o.levels - 1);
    LevelSpec l;
    if (o.kind == "jpeg") {
      const int quality = int(std::lround(10 + 90 * t));
      l.name = "q" + std::to_string(quality);
      l.distortion.jpeg_quality = quality;
    } else if (o.kind == "brightness") {
      const double factor = std::round((0.2 + 0.8 * t) * 100) / 100;
      char name[32];
      std::snprintf(name, sizeof name, "b%.2f", factor);
      l.name = name;
      l.distortion.brightness = factor;
    } else {
      throw Error("unknown random bundle kind '" + o.kind + "' (jpeg, brightness, abr)");
    }
    levels.push_back(l);
  }
  return levels;
}

}  // namespace

void write_random_bundle(const std::string& folder, const RandomBundleOptions& o) {
  const Architecture arch(o.architecture, o.classes, o.width);
  at::Generator gen = at::detail::createCPUGenerator(o.seed);
  WeightTable base = arch.initial_weights(o.seed);
  randomize_batch_norm(arch, base, gen);

  const int64_t budget = parse_budget(o.budget, arch.params_with_buffers());
  std::vector<double> sizes;  // no sensitivities here: fill the budget
  for (const Layer& layer : arch.layers()) sizes.push_back(double(layer.size));
  const std::vector<std::string> layout = choose_adaptor_layers(arch, sizes, budget);
  if (layout.empty() && o.levels > 1) throw Error("budget " + o.budget + " fits no layer of " + arch.name());

  Manifest m;
  m.architecture = arch.name();
  m.width = arch.width();
  m.classes = o.classes == 19 ? builtin_classes("cityscapes")
              : o.classes == 11 ? builtin_classes("camvid")
                                : generic_classes(o.classes);
  const std::vector<LevelSpec> levels = random_bundle_levels(o);
  std::vector<NamedTensors> adaptors;
  for (size_t i = 0; i < levels.size(); ++i) {
    LevelSpec level = levels[i];
    NamedTensors adaptor;
    if (i + 1 < levels.size()) {  // the last level (least distorted) runs the base as it is
      level.adaptor = AdaptorRef{"", "", layout};
      for (const auto& [name, t] : named_layers(arch, base, layout)) {
        const double spread = t.std().item<double>() * 0.2 + 0.01;
        adaptor[name] = t + at::empty_like(t).normal_(0.0, spread, gen);
        if (name.size() > 12 && name.compare(name.size() - 12, 12, ".running_var") == 0)
          adaptor[name] = adaptor[name].abs() + 0.1;
      }
    }
    m.levels.push_back(level);
    adaptors.push_back(std::move(adaptor));
  }
  write_bundle(folder, m, named_weights(arch, base), adaptors);
  if (!o.exits.empty()) {
    std::vector<ExitHead> heads;
    for (size_t i = 0; i < o.exits.size(); ++i) {
      ExitSpec spec;
      spec.after = o.exits[i];
      spec.convs = 1;
      spec.channels = o.exit_channels;
      spec.threshold = o.exit_threshold;
      if (i < o.exit_dilations.size()) spec.dilation = o.exit_dilations[i];
      heads.push_back(initial_exit_head(arch, spec, o.seed + 1000 + i));
      exit_head_layout(arch, spec, i > 0 ? &heads[i - 1] : nullptr);  // refuses stages out of trunk order
    }
    write_bundle_exits(folder, heads);
  }
}

}  // namespace gearnn
