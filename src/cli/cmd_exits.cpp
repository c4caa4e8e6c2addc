// gearnn exits: FlexDNN's early exits for a bundle (experiment/exits.h).
#include "args.h"
#include "bundle.h"
#include "checked_file.h"
#include "commands.h"
#include "error.h"
#include "experiment/exits.h"
#include "experiment/level_images.h"
#include "offline_options.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace gearnn::cli {
namespace {
namespace fs = std::filesystem;

CommandSpec spec() {
  CommandSpec s{
      "gearnn exits --bundle BUNDLE --data ROOT -o BUNDLE [options]",
      "Adds FlexDNN's early exits to a copy of a bundle. At every candidate stage\n"
      "(those at output stride 8 but the last) an over-parameterised head is\n"
      "trained on the frozen trunk of the bundle's default level, with the base's\n"
      "class weights; the search then halves its filters (largest L1 norms kept)\n"
      "or drops a conv, each step fine-tuned, while its mIoU on the selection split\n"
      "stays within --prune-tolerance of the first head's. Thresholds are chosen on\n"
      "the selection split for a mIoU loss of at most --max-loss, and the plan\n"
      "removes exits whose saving ratio R is at most 1. --fixed keeps the first\n"
      "heads at every stage, without search or plan (BranchyNet-style exits).\n"
      "Trained heads are kept in BUNDLE.work, so a rerun resumes; the folder records\n"
      "the base and recipe they were trained with, and refuses any other.\n"
      "--level-thresholds gives each level named there thresholds of its own,\n"
      "chosen the same way on the selection split's frames distorted to that level\n"
      "and run with its adaptor (distorted frames are less confident, so the clean\n"
      "thresholds let few of them leave). With --keep-heads the bundle's own exits\n"
      "are kept as they are and only those thresholds are chosen.",
      {{"--bundle", "BUNDLE", "the bundle to add exits to"},
       {"--stages", "S,..", "candidate stages (default: every stride-8 stage but the last)"},
       {"--split", "S", "training split (default train)"},
       {"--select-split", "S", "split for the search, the thresholds and the plan (default val)"},
       {"--convs", "N", "3x3 convs of the first heads (default 2)"},
       {"--channels", "N", "their channels (default twice the stage's)"},
       {"--dilation", "N", "dilation of their convs (default 1): context for the same compute"},
       {"--epochs", "N", "epochs of the first heads (default 20)"},
       {"--prune-epochs", "N", "epochs after each pruning step (default 6)"},
       {"--lr", "LR", "learning rate (default 0.01)"},
       {"--distill", "W", "weight of the KL from the network's probabilities in the heads' loss (default 0)"},
       {"--batch", "N", "frames per batch (default 8)"},
       {"--prune-tolerance", "P", "mIoU points a pruned head may lose (default 1)"},
       {"--min-channels", "N", "the search stops halving here (default 8)"},
       {"--max-loss", "P", "mIoU points the exits may cost on the selection split (default 1)"},
       {"--fixed", "", "BranchyNet-style: the first heads everywhere, thresholds only"},
       {"--level-thresholds", "SPEC", "levels of the bundle that get thresholds of their own (distortion settings)"},
       {"--keep-heads", "", "keep the bundle's exits; choose only the --level-thresholds"},
       {"--seed", "S", "random seed (default 1)"},
       {"--work", "DIR", "where trained heads are kept (default BUNDLE.work)"},
       {"--output", "BUNDLE", "bundle folder to write (may be --bundle itself)", "-o"}},
      0,
      0};
  for (const auto& o : data_options()) s.options.push_back(o);
  return s;
}

// The bundle's files into `out` (the base under its own name when it lives elsewhere).
void copy_bundle(const std::string& from, const std::string& out) {
  const std::string from_manifest = manifest_path_of(from);
  const fs::path from_dir = fs::path(from_manifest).parent_path();
  if (fs::exists(out) && fs::equivalent(from_dir, out)) return;
  fs::create_directories(out);
  Manifest m = read_manifest(from_manifest);
  fs::copy_file(from_dir / m.base_file, fs::path(out) / "base.safetensors", fs::copy_options::overwrite_existing);
  m.base_file = "base.safetensors";
  for (LevelSpec& l : m.levels)
    if (l.adaptor) {
      const std::string name = fs::path(l.adaptor->file).filename().string();
      fs::copy_file(from_dir / l.adaptor->file, fs::path(out) / name, fs::copy_options::overwrite_existing);
      l.adaptor->file = name;
    }
  m.exits.reset();
  write_manifest((fs::path(out) / "manifest.json").string(), m);
}

// Heads in `work` are found again by their shape alone, so the folder records
// the trunk and the recipe they were trained with; a rerun with another base
// or other settings is refused rather than handed heads that do not belong.
void claim_work_folder(const std::string& work, const std::string& recipe) {
  const fs::path file = fs::path(work) / "trained-with.txt";
  if (fs::exists(file)) {
    const std::vector<char> held = read_regular_file(file.string(), kMaxTextFileBytes);
    std::string recorded(held.begin(), held.end());
    if (recorded == recipe) return;
    if (!recorded.empty() && recorded.back() == '\n') recorded.pop_back();
    throw Error(file.string() + ": the heads in " + work +
                " were trained from another base or with other settings (this run: " +
                recipe.substr(0, recipe.size() - 1) + "; recorded: " + escape_untrusted(recorded) +
                "); remove the folder or give another --work");
  }
  fs::create_directories(work);
  {
    std::ofstream out(file.string() + ".tmp", std::ios::trunc);
    if (!(out << recipe).flush()) throw Error(file.string() + ".tmp: cannot be written");
  }
  fs::rename(file.string() + ".tmp", file);
}

// Trains `head` (or reads it from `work`, where an earlier run left it).
void trained(ExitHead& head, size_t candidate, const ExitFrames& frames, const Bundle& bundle,
             const ExitTraining& training, const std::string& work, const std::string& tag) {
  const std::string path =
      (fs::path(work) / (head.spec.after + "-" + std::to_string(head.spec.convs) + "x" +
                         std::to_string(head.spec.channels) +
                         (head.spec.dilation != 1 ? "d" + std::to_string(head.spec.dilation) : "") + "-" + tag +
                         ".safetensors")).string();
  if (fs::exists(path)) {
    TensorFile file = read_tensor_file(path);
    head = load_exit_heads(bundle.architecture(), {head.spec}, file, path, bundle.device()).front();
    return;
  }
  train_exit_head(head, candidate, frames, bundle, training);
  fs::create_directories(work);
  write_tensor_file(path + ".tmp", head.named_tensors());
  fs::rename(path + ".tmp", path);
}

// Each level of `levels` gets thresholds of its own for `heads` (all present):
// chosen on `select` distorted to the level, through the level's trunk.
void choose_level_thresholds(const Bundle& bundle, std::vector<ExitHead>& heads,
                             const std::vector<DistortionSetting>& levels, const Dataset& select,
                             const std::string& cache, int threads, double max_loss,
                             const std::function<void(const std::string&)>& say) {
  std::vector<std::string> stages;
  for (const ExitHead& h : heads) stages.push_back(h.spec.after);
  for (const DistortionSetting& setting : levels) {
    const std::string name = setting.text();
    const size_t level = *bundle.find_level(name);  // checked by the caller
    const LevelImages images(select, setting, cache, threads);
    const ExitFrames frames =
        collect_exit_frames(bundle, level, select, stages, [&](size_t i) { return images.image(i); });
    ExitEvidence evidence;
    for (size_t c = 0; c < heads.size(); ++c) evidence.heads.push_back(score_exit_head(heads[c], c, frames, bundle));
    evidence.network = score_network(frames, bundle);
    for (const auto& [w, h] : frames.sizes)
      evidence.costs.push_back(exit_costs(bundle.architecture(), heads, (h + 7) / 8 * 8, (w + 7) / 8 * 8));
    const ExitPolicy policy{std::vector<bool>(heads.size(), true),
                            choose_thresholds(evidence, std::vector<bool>(heads.size(), true), max_loss)};
    const ExitOutcomeSummary outcome = simulate_exits(evidence, policy);
    std::ostringstream line;
    line << std::fixed << std::setprecision(3) << name << ": thresholds";
    for (size_t c = 0; c < heads.size(); ++c) {
      heads[c].spec.level_thresholds[name] = policy.thresholds[c];
      line << " " << heads[c].spec.after << " " << policy.thresholds[c] << " (" << std::setprecision(1)
           << 100 * outcome.exit_rate[c] << "% of frames)" << std::setprecision(3);
    }
    line << std::setprecision(2) << ", mIoU " << outcome.miou << " against " << outcome.network_miou
         << " for the network, " << 100 * outcome.mean_macs / outcome.network_macs << "% of its MACs";
    say(line.str());
  }
}

}  // namespace

int run_exits(const std::vector<std::string>& argv) {
  const CommandSpec s = spec();
  const Args args(s, argv);
  if (args.help()) {
    std::cout << help_text(s);
    return 0;
  }
  const std::string bundle_path = args.require("--bundle"), out = args.require("--output");
  const std::string work = args.get("--work", out + ".work");
  const int threads = apply_threads(args);
  const auto bundle = Bundle::load(bundle_path, args.get("--device", "cpu"), DescriptorCheck::skip);
  const Architecture& arch = bundle->architecture();
  const std::vector<std::string> stages =
      args.has("--stages") ? comma_items(args.get("--stages")) : exit_candidate_stages(arch);
  const bool fixed = args.has("--fixed");
  const double tolerance = args.get_double("--prune-tolerance", 1.0), max_loss = args.get_double("--max-loss", 1.0);
  const int min_channels = args.get_int("--min-channels", 8), convs = args.get_int("--convs", 2);
  const int dilation = args.get_int("--dilation", 1);
  if (dilation < 1 || dilation > 16) throw UsageError("--dilation must be in 1..16");
  ExitTraining first;
  first.epochs = args.get_int("--epochs", 20);
  first.lr = args.get_double("--lr", 0.01);
  first.batch = args.get_int("--batch", 8);
  first.seed = uint64_t(args.get_int("--seed", 1));
  first.distill = args.get_double("--distill", 0.0);
  if (!(first.distill >= 0)) throw UsageError("--distill must be >= 0");
  ExitTraining refine = first;
  refine.epochs = args.get_int("--prune-epochs", 6);

  std::vector<DistortionSetting> threshold_levels;
  if (args.has("--level-thresholds")) threshold_levels = level_spec_option(args, "--level-thresholds");
  for (const DistortionSetting& l : threshold_levels)  // checked before hours of head training
    if (!bundle->find_level(l.text()))
      throw Error(bundle->folder() + ": --level-thresholds names '" + l.text() + "', which is not one of its levels");
  if (args.has("--keep-heads")) {
    if (threshold_levels.empty()) throw UsageError("--keep-heads needs --level-thresholds");
    for (const char* o : {"--fixed", "--stages", "--epochs", "--prune-epochs", "--convs", "--channels", "--dilation", "--distill", "--work"})
      if (args.has(o)) throw UsageError(std::string("--keep-heads trains nothing: ") + o + " does not apply");
    if (bundle->exits().empty()) throw Error(bundle->folder() + ": has no exits to keep (run gearnn exits without --keep-heads)");
  }
  std::ostringstream log;
  log << std::fixed << std::setprecision(2);
  const auto say = [&](const std::string& line) {
    std::cerr << line << "\n";
    log << line << "\n";
  };
  // Thresholds per level, then the bundle with `heads`, and the log, written to `out`.
  const auto finish = [&](std::vector<ExitHead>& heads, const std::string& log_name) {
    choose_level_thresholds(*bundle, heads, threshold_levels, open_dataset(args, "--select-split", "val"),
                            args.get("--cache", ".gearnn-cache"), threads, max_loss, say);
    copy_bundle(bundle_path, out);
    write_bundle_exits(out, heads);
    std::ofstream((fs::path(out) / log_name).string(), std::ios::trunc) << log.str();
  };
  if (args.has("--keep-heads")) {
    std::vector<ExitHead> heads = bundle->exits();
    finish(heads, "exits-levels.log");
    std::cout << "wrote " << out << ": thresholds for " << threshold_levels.size() << " levels\n";
    return 0;
  }

  const size_t level = bundle->default_level();
  {
    std::ostringstream recipe;  // everything that changes a head's weights
    const LevelSpec& trunk = bundle->manifest().levels[level];
    recipe << "base " << bundle->manifest().base_sha256 << ", level " << trunk.name << ", adaptor "
           << (trunk.adaptor ? trunk.adaptor->sha256 : "none")
           << ", split " << args.get("--split", "train") << ", exclude " << args.get("--exclude-sequence", "-")
           << ", only " << args.get("--only-sequence", "-") << ", epochs " << first.epochs << ", prune-epochs "
           << refine.epochs << ", lr " << first.lr << ", batch " << first.batch << ", seed " << first.seed;
    if (first.distill > 0) recipe << ", distill " << first.distill;
    recipe << "\n";
    claim_work_folder(work, recipe.str());
  }
  std::cerr << "collecting trunk features of level " << bundle->manifest().levels[level].name << "\n";
  const ExitFrames train = collect_exit_frames(*bundle, level, open_dataset(args, "--split", "train"), stages);
  const ExitFrames select = collect_exit_frames(*bundle, level, open_dataset(args, "--select-split", "val"), stages);

  ExitEvidence evidence;
  std::vector<ExitHead> heads;
  for (size_t c = 0; c < stages.size(); ++c) {
    ExitSpec spec;
    spec.after = stages[c];
    spec.convs = convs;
    spec.dilation = convs > 0 ? dilation : 1;
    const int64_t stage_channels = arch.stages()[train.stages[c]].channels;
    spec.channels = convs > 0 ? args.get_int("--channels", int(std::max<int64_t>(16, 2 * stage_channels))) : 0;
    ExitHead head = initial_exit_head(arch, spec, first.seed + c);
    trained(head, c, train, *bundle, first, work, "first");
    const double reference = score_exit_head(head, c, select, *bundle).total().miou();
    std::ostringstream line;
    line << std::fixed << std::setprecision(2) << stages[c] << ": " << exit_head_text(head.spec) << ", mIoU " << reference;
    say(line.str());
    while (!fixed) {
      std::vector<ExitHead> tries;
      if (head.spec.convs > 0 && head.spec.channels / 2 >= min_channels)
        tries.push_back(pruned_exit_head(arch, head, head.spec.channels / 2));
      if (head.spec.convs > 0) tries.push_back(shallower_exit_head(arch, head, first.seed + 100 + c));
      bool accepted = false;
      for (ExitHead& t : tries) {
        trained(t, c, train, *bundle, refine, work, "pruned");
        const double miou = score_exit_head(t, c, select, *bundle).total().miou();
        const bool keep = miou >= reference - tolerance;
        std::ostringstream l;
        l << std::fixed << std::setprecision(2) << stages[c] << ": " << exit_head_text(t.spec) << ", mIoU " << miou
          << (keep ? " kept" : " lost too much");
        say(l.str());
        if (keep) {
          head = std::move(t);
          accepted = true;
          break;
        }
      }
      if (!accepted) break;
    }
    evidence.heads.push_back(score_exit_head(head, c, select, *bundle));
    heads.push_back(std::move(head));
  }
  evidence.network = score_network(select, *bundle);
  for (const auto& [w, h] : select.sizes) evidence.costs.push_back(exit_costs(arch, heads, (h + 7) / 8 * 8, (w + 7) / 8 * 8));

  ExitPolicy policy;
  std::vector<std::string> plan_log;
  if (fixed) {
    policy.present.assign(heads.size(), true);
    policy.thresholds = choose_thresholds(evidence, policy.present, max_loss);
  } else {
    policy = plan_exits(evidence, max_loss, &plan_log);
  }
  for (const auto& l : plan_log) say(l);
  const std::vector<double> r = saving_ratios(evidence, policy);
  const ExitOutcomeSummary outcome = simulate_exits(evidence, policy);
  std::vector<ExitHead> kept;
  for (size_t c = 0; c < heads.size(); ++c) {
    if (!policy.present[c]) continue;
    heads[c].spec.threshold = policy.thresholds[c];
    if (std::isfinite(r[c])) heads[c].spec.saving_ratio = r[c];
    kept.push_back(heads[c]);
    std::ostringstream l;
    l << std::fixed << std::setprecision(3) << "exit after " << heads[c].spec.after << ": " << exit_head_text(heads[c].spec)
      << ", threshold " << policy.thresholds[c] << ", " << 100 * outcome.exit_rate[c] << "% of frames, R " << r[c];
    say(l.str());
  }
  {
    std::ostringstream l;
    l << std::fixed << std::setprecision(2) << "on the selection split: mIoU " << outcome.miou << " against "
      << outcome.network_miou << " for the network, " << 100 * outcome.mean_macs / outcome.network_macs
      << "% of its MACs";
    say(l.str());
  }
  if (kept.empty()) throw Error("no exit is worth its cost on this data (every R <= 1 or no frame may leave); nothing written");
  finish(kept, "exits.log");
  std::cout << "wrote " << out << " with " << kept.size() << " exits\n";
  return 0;
}

}  // namespace gearnn::cli
