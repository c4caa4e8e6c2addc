// gearnn eval: the comparison of GearNN with its baselines on distorted data.
#include "args.h"
#include "bundle.h"
#include "commands.h"
#include "distort/distortion_setting.h"
#include "error.h"
#include "eval/report.h"
#include "experiment/adapt.h"
#include "experiment/evaluate.h"
#include "experiment/level_images.h"
#include "offline_options.h"
#include "weight_file.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace gearnn::cli {
namespace fs = std::filesystem;
namespace {

CommandSpec spec() {
  CommandSpec s{
      "gearnn eval --data ROOT --levels SPEC --bundle BUNDLE -o REPORT_DIR [options]",
      "Scores methods on a split distorted to each level of SPEC: mIoU and per-class\n"
      "IoU per level per method, the average over levels, resident parameters and\n"
      "bytes. Writes report.md, results.csv, results.json and plot.png/plot.svg.\n"
      "Methods: original (the bundle's base), gearnn (the bundle's adaptor for each\n"
      "level), switching (one whole model per level, --switching), mixed (--mixed),\n"
      "stability (--stability), and test-time BN adaptation, label-free: bn-frame\n"
      "(every BN layer normalises each frame with its own statistics) and bn-set\n"
      "(the base's BN statistics re-estimated on the level's frames of the scored\n"
      "split). Predictions made at a reduced resolution are scored against the\n"
      "labels at their own resolution.",
      {{"--split", "S", "split to score (any list file of the dataset; default val)"},
       {"--levels", "SPEC", "distortion levels, as for gearnn adapt"},
       {"--bundle", "BUNDLE", "the GearNN bundle (its base is the original DNN)"},
       {"--methods", "LIST", "comma list (default: those whose models are given)"},
       {"--switching", "DIR", "whole models per level (gearnn adapt's --switching-out)"},
       {"--mixed", "BUNDLE", "the mixed-training model"},
       {"--stability", "BUNDLE", "the stability-training model"},
       {"--title", "T", "report title"},
       {"--notes", "FILE", "Markdown appended to the report (commands, settings)"},
       {"--write-expected", "", "record each level's gearnn mIoU and per-class IoU in --bundle's manifest (the "
        "runtime's expected accuracy; weights untouched)"},
       {"--quiet", "", "no line per level on stderr"},
       {"--output", "DIR", "report folder", "-o"}},
      0,
      0};
  for (const auto& o : data_options()) s.options.push_back(o);
  return s;
}

WeightTable whole_model(const Bundle& reference, const std::string& path) {
  const auto b = Bundle::load(path, reference.device().str());
  if (b->architecture().name() != reference.architecture().name() ||
      b->architecture().params_with_buffers() != reference.architecture().params_with_buffers())
    throw Error(path + ": another architecture than " + reference.folder());
  return b->base_weights();
}

}  // namespace

int run_eval(const std::vector<std::string>& argv) {
  const CommandSpec s = spec();
  const Args args(s, argv);
  if (args.help()) {
    std::cout << help_text(s);
    return 0;
  }
  const auto began = std::chrono::steady_clock::now();
  const int threads = apply_threads(args);
  const std::string out = args.require("--output");
  const std::string device = args.get("--device", "cpu");
  const auto bundle = Bundle::load(args.require("--bundle"), device);
  const Architecture& arch = bundle->architecture();
  const Normalization& norm = bundle->manifest().normalization;
  const std::vector<DistortionSetting> levels = level_spec_option(args, "--levels");
  const Dataset data = open_dataset(args, "--split", "val");

  std::string default_methods = "original,gearnn";
  if (args.has("--switching")) default_methods += ",switching";
  if (args.has("--mixed")) default_methods += ",mixed";
  if (args.has("--stability")) default_methods += ",stability";
  std::vector<std::string> methods;
  {
    std::istringstream in(args.get("--methods", default_methods));
    std::string m;
    const std::set<std::string> known{"original", "switching", "mixed", "stability", "bn-frame", "bn-set", "gearnn"};
    while (std::getline(in, m, ',')) {
      if (!known.count(m)) throw UsageError("unknown method '" + m + "'");
      methods.push_back(m);
    }
  }
  auto needs = [&](const std::string& method, const char* option) {
    if (std::find(methods.begin(), methods.end(), method) != methods.end() && !args.has(option))
      throw UsageError("method " + method + " needs " + option);
  };
  if (args.has("--write-expected") && std::find(methods.begin(), methods.end(), "gearnn") == methods.end())
    throw UsageError("--write-expected records the gearnn method's results: include it in --methods");
  needs("switching", "--switching");
  needs("mixed", "--mixed");
  needs("stability", "--stability");
  const WeightTable mixed = args.has("--mixed") ? whole_model(*bundle, args.get("--mixed")) : WeightTable{};
  const WeightTable stability = args.has("--stability") ? whole_model(*bundle, args.get("--stability")) : WeightTable{};

  int64_t adaptors = 0;
  std::vector<size_t> level_index;
  for (const auto& setting : levels) {
    const auto l = bundle->find_level(setting.text());
    if (!l) throw Error(bundle->folder() + ": has no level '" + setting.text() + "' (eval levels must be bundle levels)");
    level_index.push_back(*l);
    adaptors += bundle->adaptor_params(*l);
  }
  const int64_t base = bundle->base_params();
  auto resident = [&](const std::string& method) -> int64_t {
    if (method == "gearnn") return base + adaptors;
    if (method == "switching") return base * int64_t(levels.size());
    return base;
  };

  ReportInfo info;
  info.title = args.get("--title", "GearNN on " + data.root() + " (" + data.split() + ")");
  for (const auto& c : bundle->manifest().classes) info.class_names.push_back(c.name);
  info.method_order = methods;
  std::vector<ResultRow> rows;
  const std::string cache = args.get("--cache", ".gearnn-cache");
  for (size_t k = 0; k < levels.size(); ++k) {
    const std::string name = levels[k].text();
    info.level_order.push_back(name);
    const auto start = std::chrono::steady_clock::now();
    const LevelImages images(data, levels[k], cache, threads);
    const auto source = [&images](size_t i) { return images.image(i); };
    for (const std::string& method : methods) {
      WeightTable switching, bn_set;
      const WeightTable* w = &bundle->base_weights();
      if (method == "bn-set") {
        bn_set = adapt_bn_statistics(arch, bundle->base_weights(), norm, data, source);
        w = &bn_set;
      }
      if (method == "gearnn") w = &bundle->weights(level_index[k]);
      if (method == "mixed") w = &mixed;
      if (method == "stability") w = &stability;
      if (method == "switching") {
        const fs::path file = switching_model_path(args.get("--switching"), name);
        if (fs::exists(file)) switching = read_weights(arch, file.string(), bundle->device());
        else if (!bundle->manifest().levels[level_index[k]].adaptor) switching = bundle->base_weights();
        else throw Error(file.string() + ": missing (no switching model for level " + name + ")");
        w = &switching;
      }
      const ConfusionMatrix cm = evaluate(arch, *w, norm, data, source, method == "bn-frame");
      ResultRow row;
      row.method = method;
      row.level = name;
      row.miou = cm.miou();
      row.class_iou = cm.per_class_iou();
      row.resident_params = resident(method);
      row.resident_bytes = row.resident_params * 4;
      row.confusion = cm.counts();
      rows.push_back(row);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!args.has("--quiet")) {
      std::fprintf(stderr, "%-20s", name.c_str());
      for (size_t r = rows.size() - methods.size(); r < rows.size(); ++r)
        std::fprintf(stderr, " %s %.2f", rows[r].method.c_str(), rows[r].miou);
      std::fprintf(stderr, "  (%.0f s)\n", seconds);
    }
  }

  std::ostringstream notes;
  notes << "## Setting\n\n"
        << "- command: `" << command_line("gearnn eval", argv) << "`, "
        << std::lround(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()) << " s on "
        << at::get_num_threads() << " threads\n"
        << "- data: `" << data.root() << "`, split `" << data.split() << "`, " << data.size() << " images\n"
        << "- bundle: `" << bundle->folder() << "`, " << arch.name() << " width " << arch.width() << ", "
        << base << " base values\n"
        << "- GearNN memory overhead: " << 100.0 * double(adaptors) / double(base) << "% for these levels; DNN switching "
        << 100.0 * double(levels.size() - 1) << "%\n";
  if (args.has("--mixed")) notes << "- mixed: `" << args.get("--mixed") << "`\n";
  if (args.has("--stability")) notes << "- stability: `" << args.get("--stability") << "`\n";
  if (args.has("--switching")) notes << "- switching: `" << args.get("--switching") << "`\n";
  if (args.has("--notes")) {
    std::ifstream in(args.get("--notes"));
    if (!in) throw Error(args.get("--notes") + ": cannot read notes");
    notes << "\n" << in.rdbuf();
  }
  info.notes_markdown = notes.str();
  write_report(out, info, rows);
  if (args.has("--write-expected")) {
    Manifest m = bundle->manifest();
    for (const ResultRow& row : rows) {
      if (row.method != "gearnn") continue;
      ExpectedAccuracy x;
      x.miou = row.miou;
      for (double iou : row.class_iou) x.class_iou.push_back(std::isnan(iou) ? -1.0 : 100.0 * iou);  // -1: absent
      x.split = fs::path(data.root()).filename().string() + " " + data.split() +
                (args.has("--only-sequence") ? " (" + args.get("--only-sequence") + ")" : "") +
                (args.has("--exclude-sequence") ? " (without " + args.get("--exclude-sequence") + ")" : "");
      m.levels[*bundle->find_level(row.level)].expected = x;
    }
    write_manifest(manifest_path_of(bundle->folder()), m);
    std::cout << "recorded the expected accuracy of " << levels.size() << " levels in "
              << manifest_path_of(bundle->folder()) << "\n";
  }
  std::cout << "wrote " << out << "/report.md\n";
  return 0;
}

}  // namespace gearnn::cli
