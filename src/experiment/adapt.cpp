#include "experiment/adapt.h"

#include "bundle.h"
#include "distort/h264.h"
#include "error.h"
#include "experiment/level_images.h"
#include "experiment/train_data.h"
#include "knapsack.h"
#include "measure/stream_quality.h"
#include "train/sensitivity.h"
#include "train/trainer.h"
#include "weight_file.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace gearnn {
namespace fs = std::filesystem;

namespace {

// Everything a level's results depend on. A level's work folder remembers it,
// so that a rerun with other settings fails instead of reusing stale work.
nlohmann::json level_settings(const Dataset& train_set, const AdaptOptions& o, const Bundle& base) {
  const AugmentOptions& a = o.augment;
  return {{"base_sha256", base.manifest().base_sha256},
          {"class_weights", base.manifest().class_weights},
          {"data", train_set.root()},
          {"split", train_set.split()},
          {"images", train_set.size()},
          {"budget", o.budget},
          {"base_level", o.base_level},
          {"full_epochs", o.full_epochs},
          {"full_lr", o.full_lr},
          {"adaptor_epochs", o.adaptor_epochs},
          {"adaptor_lr", o.adaptor_lr},
          {"batch", o.batch_size},
          {"seed", o.seed},
          {"augment",
           {a.resize_width, a.resize_height, a.scale_min, a.scale_max, a.crop_width, a.crop_height, a.flip,
            a.brightness_jitter, a.contrast_jitter, a.saturation_jitter, a.blur_sigma_max, a.noise_sigma_max,
            a.compress_quality_min}}};
}

void check_level_settings(const std::string& level_work, const nlohmann::json& settings) {
  const fs::path file = fs::path(level_work) / "settings.json";
  if (fs::exists(file)) {
    nlohmann::json saved;
    try {
      saved = nlohmann::json::parse(std::ifstream(file));
    } catch (const std::exception& e) {
      throw Error(file.string() + ": unreadable (" + e.what() + ")");
    }
    for (const auto& [key, value] : settings.items())
      if (saved.value(key, nlohmann::json()) != value)
        throw Error(file.string() + ": this level was computed with " + key + " " + saved.value(key, nlohmann::json()).dump() +
                    ", now " + value.dump() + "; remove " + level_work + " (or use another --work) to start it anew");
    return;
  }
  fs::create_directories(level_work);
  std::ofstream(file) << settings.dump(1) << "\n";
}

// One level of Algorithm 1, written as a one-level bundle at `level_bundle`.
void adapt_level(const Dataset& train_set, const AdaptOptions& o, const Bundle& base, const DistortionSetting& setting,
                 const std::string& work, const std::string& level_bundle) {
  const Architecture& arch = base.architecture();
  const Manifest& source = base.manifest();
  const std::string name = setting.text();
  const auto level_images = std::make_shared<LevelImages>(train_set, setting, o.cache_dir, o.threads);
  BatchLoader loader(train_set, source.normalization, o.augment, o.batch_size, true, o.seed, o.workers,
                     [level_images](size_t i) { return level_images->image(i); });
  loader.set_drop_last(train_set.size() > size_t(o.batch_size));
  TrainData data = loader_data(loader);

  LevelSpec level;
  level.name = name;
  level.distortion = level_images->describe(luma_of_mean(source.normalization.mean));
  level.measure_version = kMeasureVersion;
  if (setting.kind == DistortionSetting::Kind::h264 && setting.bitrate_kbps == 0) level.h264_crf = setting.crf;
  if (setting.kind == DistortionSetting::Kind::h264) level.encoder = h264_recipe();
  NamedTensors adaptor;
  WeightTable full = base.base_weights();

  if (name != o.base_level) {
    TrainOptions t;
    t.class_weights = source.class_weights;  // the base's own loss
    t.seed = o.seed;
    t.progress = o.progress;
    t.resume = true;
    t.epochs = o.full_epochs;
    t.lr = o.full_lr;
    t.label = name + " full";
    t.checkpoint_dir = (fs::path(work) / "full").string();
    full = train(arch, base.base_weights(), t, data);

    const std::vector<double> v = layer_sensitivities(arch, base.base_weights(), full);
    level.budget = parse_budget(o.budget, arch.params_with_buffers());
    const std::vector<std::string> chosen = choose_adaptor_layers(arch, v, level.budget);
    if (chosen.empty()) throw Error("budget " + o.budget + " fits no layer of " + arch.name());
    for (size_t i = 0; i < v.size(); ++i) level.sensitivity[arch.layers()[i].name] = v[i];

    t.epochs = o.adaptor_epochs;
    t.lr = o.adaptor_lr;
    t.label = name + " adaptor";
    t.checkpoint_dir = (fs::path(work) / "adaptor").string();
    t.trainable_layers.assign(arch.layers().size(), false);
    for (const auto& layer : chosen) t.trainable_layers[*arch.find_layer(layer)] = true;
    const WeightTable partial = train(arch, base.base_weights(), t, data);
    level.adaptor = AdaptorRef{"", "", chosen};
    adaptor = named_layers(arch, partial, chosen);
  }

  if (!o.switching_dir.empty()) {
    fs::create_directories(o.switching_dir);
    write_tensor_file(switching_model_path(o.switching_dir, name),
                      named_weights(arch, full), {{"level", name}, {"architecture", arch.name()}});
  }
  Manifest m = source;
  m.levels = {level};
  write_bundle(level_bundle, m, named_weights(arch, base.base_weights()), {adaptor});
}

}  // namespace

void build_adapted_bundle(const Dataset& train_set, const AdaptOptions& o) {
  if (o.levels.empty()) throw Error("adapt: no levels given");
  if (o.output.empty()) throw Error("adapt: no output bundle given");
  const auto base = Bundle::load(o.base_bundle, o.device, DescriptorCheck::skip);
  const std::string work = o.work_dir.empty() ? o.output + ".work" : o.work_dir;

  bool found_only = o.only_level.empty();
  std::vector<std::string> level_bundles;
  for (const DistortionSetting& setting : o.levels) {
    if (setting.kind == DistortionSetting::Kind::clean)
      throw Error("adapt: 'clean' is not a level; mark the level that runs the base with --base-level");
    const std::string name = setting.text();
    if (!o.only_level.empty() && name != o.only_level) continue;
    found_only = true;
    const std::string level_work = (fs::path(work) / file_safe_name(name)).string();
    const std::string level_bundle = (fs::path(level_work) / "bundle").string();
    AdaptOptions level_options = o;
    level_options.augment = level_augment(o.augment, setting);
    check_level_settings(level_work, level_settings(train_set, level_options, *base));
    if (fs::exists(fs::path(level_bundle) / "manifest.json")) {
      std::fprintf(stderr, "%s: done before, reusing %s\n", name.c_str(), level_bundle.c_str());
    } else {
      adapt_level(train_set, level_options, *base, setting, level_work, level_bundle);
    }
    level_bundles.push_back(level_bundle);
  }
  if (!found_only) throw Error("adapt: --only-level '" + o.only_level + "' is not one of the levels");
  merge_bundles(level_bundles, o.output);
}

AugmentOptions level_augment(const AugmentOptions& augment, const DistortionSetting& level) {
  AugmentOptions a = augment;
  const bool fixed_size = a.resize_width == 0 && a.resize_height == 0 && a.scale_min == 1.0 && a.scale_max == 1.0;
  // Multiples of 8, as the network's output matches its input only then (180 rows train as 176).
  if (level.size && fixed_size && level.size->width >= 8 && level.size->height >= 8) {
    a.crop_width = std::min(a.crop_width, level.size->width / 8 * 8);
    a.crop_height = std::min(a.crop_height, level.size->height / 8 * 8);
  }
  return a;
}

std::string switching_model_path(const std::string& switching_dir, const std::string& level_name) {
  return (fs::path(switching_dir) / (file_safe_name(level_name) + ".safetensors")).string();
}

void write_switching_bundle(const std::string& bundle, const std::string& switching_dir, const std::string& output) {
  const auto b = Bundle::load(bundle);
  const Architecture& arch = b->architecture();
  std::vector<std::string> all_layers;
  for (const Layer& layer : arch.layers()) all_layers.push_back(layer.name);
  Manifest m = b->manifest();
  std::vector<NamedTensors> models;
  for (LevelSpec& level : m.levels) {
    const std::string path = switching_model_path(switching_dir, level.name);
    const WeightTable whole = read_weights(arch, path, at::kCPU);
    const NamedTensors tensors = named_layers(arch, whole, all_layers);
    models.push_back(std::move(tensors));
    level.adaptor = AdaptorRef{"", "", all_layers};
    level.budget = 0;
    level.sensitivity.clear();
  }
  write_bundle(output, m, named_weights(arch, b->base_weights()), models);
  Bundle::load(output);  // shapes and dtypes, by the loader every bundle goes through
}

namespace {

// Level `l`'s adaptor tensors, as write_bundle takes them (empty: no adaptor).
NamedTensors adaptor_tensors(const Bundle& bundle, size_t l) {
  const LevelSpec& level = bundle.manifest().levels[l];
  return level.adaptor ? named_layers(bundle.architecture(), bundle.weights(l), level.adaptor->layers) : NamedTensors{};
}

}  // namespace

void merge_bundles(const std::vector<std::string>& bundles, const std::string& output) {
  if (bundles.empty()) throw Error("merge: no bundles given");
  Manifest merged;
  NamedTensors base;
  std::vector<NamedTensors> adaptors;
  for (size_t b = 0; b < bundles.size(); ++b) {
    const auto bundle = Bundle::load(bundles[b]);  // validates hashes, names and shapes
    const Manifest& m = bundle->manifest();
    if (b == 0) {
      merged = m;
      merged.levels.clear();
      base = named_weights(bundle->architecture(), bundle->base_weights());
    } else if (m.base_sha256 != merged.base_sha256 || m.architecture != merged.architecture) {
      throw Error(bundles[b] + ": has another base than " + bundles[0] + "; only bundles of one base merge");
    }
    for (size_t l = 0; l < m.levels.size(); ++l) {
      for (const auto& existing : merged.levels)
        if (existing.name == m.levels[l].name)
          throw Error(bundles[b] + ": level '" + m.levels[l].name + "' is already in an earlier bundle");
      merged.levels.push_back(m.levels[l]);
      adaptors.push_back(adaptor_tensors(*bundle, l));
    }
  }
  write_bundle(output, merged, base, adaptors);
}

void select_levels(const std::string& bundle, const std::vector<std::string>& names, const std::string& output) {
  if (names.empty()) throw Error("select: no levels given");
  std::error_code ec;
  const fs::path source = fs::path(manifest_path_of(bundle)).parent_path();
  if (fs::exists(output, ec) && fs::equivalent(source, output, ec))
    throw Error(output + ": is the bundle itself; write the selection to another folder");
  // Files of an earlier bundle there (adaptors, exits) would stay beside the new manifest.
  if (fs::exists(output, ec) && !(fs::is_directory(output, ec) && fs::is_empty(output, ec)))
    throw Error(output + ": exists and is not an empty folder; write the selection to a new one");
  const auto b = Bundle::load(bundle);  // validates hashes, names and shapes
  const Manifest& m = b->manifest();
  Manifest kept = m;
  kept.levels.clear();
  std::vector<NamedTensors> adaptors;
  for (const std::string& name : names) {
    const std::optional<size_t> l = b->find_level(name);
    if (!l) {
      std::string known;
      for (const auto& level : m.levels) known += (known.empty() ? "" : ", ") + level.name;
      throw Error(bundle + ": has no level '" + name + "' (its levels: " + known + ")");
    }
    for (const auto& chosen : kept.levels)
      if (chosen.name == name) throw Error("select: level '" + name + "' is given twice");
    kept.levels.push_back(m.levels[*l]);
    adaptors.push_back(adaptor_tensors(*b, *l));
  }
  write_bundle(output, kept, named_weights(b->architecture(), b->base_weights()), adaptors);
  std::vector<ExitHead> heads = b->exits();
  for (ExitHead& head : heads) {
    auto& thresholds = head.spec.level_thresholds;
    for (auto it = thresholds.begin(); it != thresholds.end();) {
      if (std::find(names.begin(), names.end(), it->first) == names.end())
        it = thresholds.erase(it);
      else
        ++it;
    }
  }
  if (!heads.empty()) write_bundle_exits(output, heads);
  Bundle::load(output);
}

}  // namespace gearnn
