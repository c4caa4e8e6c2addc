#include "args.h"
#include "bundle.h"
#include "commands.h"
#include "error.h"
#include "experiment/adapt.h"
#include "experiment/redescribe.h"
#include "offline_options.h"
#include "random_bundle.h"
#include "weight_file.h"

#include <iostream>
#include <sstream>

namespace gearnn::cli {
namespace {

const char* kBundleUsage =
    "usage: gearnn bundle random --arch A --classes C --levels N [--budget 0.2%] -o DIR\n"
    "       gearnn bundle base --arch A --weights FILE --classes camvid|cityscapes|N -o DIR\n"
    "       gearnn bundle merge BUNDLE BUNDLE... -o DIR\n"
    "       gearnn bundle select BUNDLE --levels NAME,... -o DIR\n"
    "       gearnn bundle redescribe BUNDLE --data ROOT [--split train]\n"
    "\n"
    "  random   a valid bundle with random weights, for tests and benchmarks\n"
    "  base     a one-level bundle around converted weights (see models/convert_drn_checkpoint.py)\n"
    "  merge    join bundles of one base (for example per-level results of gearnn adapt)\n"
    "  select   a copy with only some of its levels\n"
    "  redescribe  measure every level again, as the runtime measures it, on the data it was made from\n";

const CommandSpec kRandomSpec{
    "gearnn bundle random --arch A --classes C --levels N [--kind K] [--budget 0.2%] [--width W] [--seed S] -o DIR",
    "Writes a bundle with random weights: N levels (JPEG qualities 10..100 by\n"
    "default), the least distorted one running the base as it is and the others\n"
    "with adaptors whose layers fill the budget\n"
    "(a knapsack over parameter counts).",
    {{"--arch", "A", "drn_c_26, drn_d_22 or drn_d_38"},
     {"--classes", "C", "number of classes"},
     {"--levels", "N", "number of levels (default 10)"},
     {"--kind", "K", "jpeg (default), brightness, or abr (3 resolutions x 3 QPs)"},
     {"--budget", "B", "adaptor size: a percentage of the base (0.2%) or a count (default 0.2%)"},
     {"--width", "W", "channel width multiplier (default 1)"},
     {"--seed", "S", "random seed (default 1)"},
     {"--exits", "STAGES", "early exits with random heads after these stages (base.4,base.6)"},
     {"--exit-threshold", "T", "their confidence threshold (default 0.5)"},
     {"--output", "DIR", "bundle folder to write", "-o"}},
    0,
    0};

const CommandSpec kBaseSpec{
    "gearnn bundle base --arch A --weights FILE --classes camvid|cityscapes|N [--width W] -o DIR",
    "Wraps a tensor file of DRNSeg weights (as models/convert_drn_checkpoint.py writes\n"
    "it) into a one-level bundle that runs the base as it is. The file must hold\n"
    "exactly the architecture's tensors, all float32.",
    {{"--arch", "A", "drn_c_26, drn_d_22 or drn_d_38"},
     {"--weights", "FILE", "safetensors file with the DRNSeg state dict"},
     {"--classes", "C", "class table: camvid, cityscapes, or a count"},
     {"--width", "W", "channel width multiplier (default 1)"},
     {"--mean", "R,G,B", "input mean after /255 (default: the class table's dataset, else 0.5)"},
     {"--std", "R,G,B", "input std after /255 (default: the class table's dataset, else 0.25)"},
     {"--output", "DIR", "bundle folder to write", "-o"}},
    0,
    0};

const CommandSpec kMergeSpec{
    "gearnn bundle merge BUNDLE BUNDLE... -o DIR",
    "Joins the levels of bundles made from the same base (gearnn adapt --only-level\n"
    "runs, for example) into one bundle. Level names must not repeat.",
    {{"--output", "DIR", "bundle folder to write", "-o"}},
    1,
    1000};

const CommandSpec kSelectSpec{
    "gearnn bundle select BUNDLE --levels NAME,... -o DIR",
    "Copies the bundle with only the levels named, in that order: the base, those\n"
    "levels' adaptors, and the early exits with those levels' thresholds. For\n"
    "streams on which the other levels would be chosen for frames they were not\n"
    "trained for (brightening levels on a street brighter than the training\n"
    "data's, for example).",
    {{"--levels", "NAME,...", "the levels to keep"}, {"--output", "DIR", "bundle folder to write", "-o"}},
    1,
    1};

CommandSpec redescribe_spec() {
  CommandSpec s{
      "gearnn bundle redescribe BUNDLE --data ROOT [--split train] [--cache DIR]",
      "Computes every level's descriptor again with this build's measurement\n"
      "definitions: the level's data is made from its setting (its name) on the\n"
      "split it was adapted on, and measured as the runtime measures a stream.\n"
      "Rewrites the manifest in place; the weights stay. Right for levels whose\n"
      "pixels are made as before (brightness, JPEG). An H.264 level records the\n"
      "encoder recipe its data was made with (x264 build, preset, FFmpeg); one made\n"
      "with another is refused, since it needs gearnn adapt again, and one that\n"
      "records none is re-described with this build's and records it.",
      {{"--split", "S", "the split the levels were adapted on (default train)"}},
      1,
      1};
  for (const auto& o : data_options()) s.options.push_back(o);
  return s;
}

int bundle_redescribe(const std::vector<std::string>& argv) {
  const CommandSpec s = redescribe_spec();
  const Args args(s, argv);
  if (args.help()) {
    std::cout << help_text(s);
    return 0;
  }
  const int threads = apply_threads(args);
  redescribe_bundle(args.positional()[0], open_dataset(args, "--split", "train"), args.get("--cache", ".gearnn-cache"),
                    threads, std::cout);
  std::cout << "rewrote " << manifest_path_of(args.positional()[0]) << "\n";
  return 0;
}

std::array<float, 3> parse_triple(const std::string& option, const std::string& text) {
  std::array<float, 3> v{};
  std::istringstream in(text);
  char comma = 0;
  if (!(in >> v[0] >> comma >> v[1] >> comma >> v[2]) || !in.eof())
    throw UsageError(option + " needs three numbers R,G,B, not '" + text + "'");
  return v;
}

int bundle_random(const std::vector<std::string>& argv) {
  const Args args(kRandomSpec, argv);
  if (args.help()) {
    std::cout << help_text(kRandomSpec);
    return 0;
  }
  RandomBundleOptions o;
  o.architecture = args.require("--arch");
  o.classes = args.get_int("--classes", 0);
  if (!args.has("--classes")) throw UsageError("option --classes is required");
  o.levels = args.get_int("--levels", 10);
  o.kind = args.get("--kind", "jpeg");
  o.budget = args.get("--budget", "0.2%");
  o.width = args.get_double("--width", 1.0);
  o.seed = uint64_t(args.get_int("--seed", 1));
  if (args.has("--exits")) o.exits = comma_items(args.get("--exits"));
  o.exit_threshold = args.get_double("--exit-threshold", 0.5);
  const std::string out = args.require("--output");
  write_random_bundle(out, o);
  std::cout << "wrote " << out << "\n";
  return 0;
}

int bundle_base(const std::vector<std::string>& argv) {
  const Args args(kBaseSpec, argv);
  if (args.help()) {
    std::cout << help_text(kBaseSpec);
    return 0;
  }
  const std::string table = args.require("--classes");
  Manifest m;
  if (table == "camvid" || table == "cityscapes") {
    m.classes = builtin_classes(table);
    if (table == "cityscapes") m.normalization = {{0.290101f, 0.328081f, 0.286964f}, {0.182954f, 0.186566f, 0.184475f}};
  } else {
    m.classes = generic_classes(args.get_int("--classes", 0));
  }
  if (args.has("--mean")) m.normalization.mean = parse_triple("--mean", args.get("--mean"));
  if (args.has("--std")) m.normalization.std = parse_triple("--std", args.get("--std"));

  const Architecture arch(args.require("--arch"), int(m.classes.size()), args.get_double("--width", 1.0));
  m.architecture = arch.name();
  m.width = arch.width();
  LevelSpec level;
  level.name = "clean";
  m.levels.push_back(level);

  const std::string weights_path = args.require("--weights");
  NamedTensors base;
  try {
    base = named_weights(arch, read_weights(arch, weights_path, at::kCPU));
  } catch (const Error& e) {
    throw Error(std::string(e.what()) +
                " (bundle base takes exactly the architecture's float32 tensors, as "
                "models/convert_drn_checkpoint.py --arch writes them)");
  }
  const std::string out = args.require("--output");
  write_bundle(out, m, base, {NamedTensors{}});
  Bundle::load(out);  // proves that shapes match before anyone relies on the folder
  std::cout << "wrote " << out << "\n";
  return 0;
}

int bundle_merge(const std::vector<std::string>& argv) {
  const Args args(kMergeSpec, argv);
  if (args.help()) {
    std::cout << help_text(kMergeSpec);
    return 0;
  }
  const std::string out = args.require("--output");
  merge_bundles(args.positional(), out);
  std::cout << "wrote " << out << "\n";
  return 0;
}

int bundle_select(const std::vector<std::string>& argv) {
  const Args args(kSelectSpec, argv);
  if (args.help()) {
    std::cout << help_text(kSelectSpec);
    return 0;
  }
  const std::string out = args.require("--output");
  select_levels(args.positional()[0], comma_items(args.require("--levels")), out);
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace

int run_bundle(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("missing subcommand (random, base, merge, select or redescribe)");
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "random") return bundle_random(rest);
  if (argv[0] == "base") return bundle_base(rest);
  if (argv[0] == "merge") return bundle_merge(rest);
  if (argv[0] == "select") return bundle_select(rest);
  if (argv[0] == "redescribe") return bundle_redescribe(rest);
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << kBundleUsage;
    return 0;
  }
  throw UsageError("unknown subcommand '" + argv[0] + "' (random, base, merge, select or redescribe)");
}

}  // namespace gearnn::cli
