// gearnn adapt: GearNN's Algorithm 1, and gearnn bundle merge's engine.
#include "args.h"
#include "commands.h"
#include "experiment/adapt.h"
#include "offline_options.h"

#include <iostream>
#include <sstream>

namespace gearnn::cli {
namespace {

// The help names AdaptOptions' initial values, so it cannot drift from the defaults used.
template <typename T>
std::string with_default(const std::string& help, const T& value) {
  std::ostringstream out;
  out << help << " (default " << value << ")";
  return out.str();
}

CommandSpec spec() {
  const AdaptOptions d;
  CommandSpec s{
      "gearnn adapt --base BUNDLE --data ROOT --levels SPEC [--budget 0.2%] -o BUNDLE [options]",
      "Builds a GearNN bundle (Algorithm 1). For each level of SPEC: fine-tunes the\n"
      "whole base on images distorted to that level (kept as the DNN-switching\n"
      "model), measures each layer's sensitivity (Eq. 1), picks the adaptor layers\n"
      "by knapsack under the budget, and fine-tunes only them. SPEC examples:\n"
      "  jpeg:10,20,30,40,50,60,70,80,90,100\n"
      "  brightness:0.1,0.2,0.4,0.6,0.8,1.0,1.5,2.0\n"
      "  h264:480x360@18,320x240@18,160x120@18\n"
      "A rerun resumes: finished levels and epochs are kept in the work folder.",
      {{"--base", "BUNDLE", "the trained base"},
       {"--levels", "SPEC", "distortion levels"},
       {"--budget", "B", with_default("adaptor budget: a percentage of the base (0.2%) or a count", d.budget)},
       {"--base-level", "SETTING", "a level of SPEC that runs the base as it is (no adaptor)"},
       {"--only-level", "SETTING", "compute only this level (merge results with 'gearnn bundle merge')"},
       {"--split", "S", "training split (default train)"},
       {"--full-epochs", "N", with_default("epochs of whole-model fine-tuning", d.full_epochs)},
       {"--full-lr", "LR", with_default("its learning rate", d.full_lr)},
       {"--adaptor-epochs", "N", with_default("epochs of adaptor-only fine-tuning", d.adaptor_epochs)},
       {"--adaptor-lr", "LR", with_default("its learning rate", d.adaptor_lr)},
       {"--batch", "N", with_default("batch size", d.batch_size)},
       {"--seed", "S", with_default("random seed", d.seed)},
       {"--switching-out", "DIR", "where the fine-tuned whole models go (default BUNDLE.switching)"},
       {"--work", "DIR", "per-level work folder (default BUNDLE.work)"},
       {"--quiet", "", "no progress line"},
       {"--output", "BUNDLE", "bundle folder to write", "-o"}},
      0,
      0};
  for (const auto& o : data_options()) s.options.push_back(o);
  for (const auto& o : augment_options()) s.options.push_back(o);
  return s;
}

}  // namespace

int run_adapt(const std::vector<std::string>& argv) {
  const CommandSpec s = spec();
  const Args args(s, argv);
  if (args.help()) {
    std::cout << help_text(s);
    return 0;
  }
  AdaptOptions o;  // its initial values are the defaults
  o.base_bundle = args.require("--base");
  o.output = args.require("--output");
  o.levels = level_spec_option(args, "--levels");
  o.budget = args.get("--budget", o.budget);
  if (args.has("--base-level")) o.base_level = setting_option(args, "--base-level").text();
  if (args.has("--only-level")) o.only_level = setting_option(args, "--only-level").text();
  o.full_epochs = args.get_int("--full-epochs", o.full_epochs);
  o.full_lr = args.get_double("--full-lr", o.full_lr);
  o.adaptor_epochs = args.get_int("--adaptor-epochs", o.adaptor_epochs);
  o.adaptor_lr = args.get_double("--adaptor-lr", o.adaptor_lr);
  o.batch_size = args.get_int("--batch", o.batch_size);
  o.seed = uint64_t(args.get_int("--seed", int(o.seed)));
  o.threads = apply_threads(args);
  o.workers = args.get_int("--workers", 2);
  o.device = args.get("--device", "cpu");
  o.cache_dir = args.get("--cache", ".gearnn-cache");
  o.switching_dir = args.get("--switching-out", o.output + ".switching");
  o.work_dir = args.get("--work", o.output + ".work");
  o.augment = parse_augment(args);
  o.progress = !args.has("--quiet");
  if (o.full_epochs < 1 || o.adaptor_epochs < 1 || o.batch_size < 1)
    throw UsageError("epochs and batch size must be at least 1");
  build_adapted_bundle(open_dataset(args, "--split", "train"), o);
  std::cout << "wrote " << o.output << "\n";
  return 0;
}

}  // namespace gearnn::cli
