// gearnn train: the base DRN, and the baselines that are whole models
// (DNN switching per level, mixed training, stability training).
#include "args.h"
#include "bundle.h"
#include "commands.h"
#include "data/stats.h"
#include "distort/distortion_setting.h"
#include "error.h"
#include "experiment/evaluate.h"
#include "experiment/train_data.h"
#include "offline_options.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace gearnn::cli {
namespace {

CommandSpec spec() {
  CommandSpec s{
      "gearnn train --data ROOT --arch A [--width W] -o BUNDLE [options]",
      "Trains a DRN on a segmentation dataset and writes a one-level bundle. From\n"
      "scratch, or from a bundle's base (--init). --distortion trains on one level\n"
      "(the DNN-switching baseline), --mix on a random mix of levels (mixed\n"
      "training), --stability-alpha/--stability-sigma adds the stability loss.\n"
      "Checkpoints every epoch to --checkpoint-dir; --resume continues there.",
      {{"--arch", "A", "drn_c_26, drn_d_22 or drn_d_38 (not with --init)"},
       {"--width", "W", "channel width multiplier (default 1)"},
       {"--init", "BUNDLE", "start from this bundle's base (its architecture, classes and normalisation)"},
       {"--split", "S", "training split (default train)"},
       {"--val-split", "S", "split scored after epochs (default val; 'none' to skip)"},
       {"--val-every", "N", "score the val split every N epochs and at the end (default 5)"},
       {"--epochs", "N", "epochs (default 60)"},
       {"--batch", "N", "batch size (default 8)"},
       {"--lr", "LR", "learning rate (default 0.01)"},
       {"--momentum", "M", "SGD momentum (default 0.9)"},
       {"--weight-decay", "D", "weight decay (default 1e-4)"},
       {"--schedule", "S", "poly (default), step or constant"},
       {"--step-epochs", "N", "step schedule: x0.1 every N epochs (default 30)"},
       {"--class-weights", "W",
        "none, median-frequency, or one weight per class w0,w1,... (default: --init's bundle's, else none)"},
       {"--recalibrate", "WHAT", "BN statistics recomputed after training on 'crops' (the training batches; "
        "default) or 'frames' (whole unaugmented frames, as inference sees them), or kept as training left "
        "them ('none')"},
       {"--distortion", "SETTING", "train on distorted images, e.g. jpeg:20 or h264:320x240@28"},
       {"--mix", "SPEC", "mixed training: each image from a random level of SPEC per epoch"},
       {"--stability-alpha", "A", "stability training weight of the KL term (default 0: off)"},
       {"--stability-sigma", "S", "stability training noise, in RGB/255 units (default 0.1)"},
       {"--seed", "S", "random seed (default 1)"},
       {"--checkpoint-dir", "DIR", "checkpoint folder (default BUNDLE.checkpoint)"},
       {"--resume", "", "continue from the checkpoint"},
       {"--quiet", "", "no progress line"},
       {"--output", "BUNDLE", "bundle folder to write", "-o"}},
      0,
      0};
  for (const auto& o : data_options()) s.options.push_back(o);
  for (const auto& o : augment_options()) s.options.push_back(o);
  return s;
}

std::vector<float> class_weights(const std::string& text, const Dataset& data, int classes, int threads) {
  if (text.empty() || text == "none") return {};
  std::vector<float> w;
  if (text == "median-frequency") {
    for (double v : compute_stats(data, threads, true).median_frequency_weights()) w.push_back(float(v));
  } else {
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
      try {
        w.push_back(std::stof(item));
      } catch (const std::exception&) {
        throw UsageError("--class-weights: '" + item + "' is not a number");
      }
    }
  }
  if (int(w.size()) != classes)
    throw UsageError("--class-weights: " + std::to_string(w.size()) + " weights for " + std::to_string(classes) + " classes");
  return w;
}

}  // namespace

int run_train(const std::vector<std::string>& argv) {
  const CommandSpec s = spec();
  const Args args(s, argv);
  if (args.help()) {
    std::cout << help_text(s);
    return 0;
  }
  const std::string out = args.require("--output");
  if (args.has("--init") == args.has("--arch")) throw UsageError("give either --arch or --init");
  if (args.has("--distortion") && args.has("--mix")) throw UsageError("--distortion and --mix exclude each other");
  const int threads = apply_threads(args);
  const int workers = args.get_int("--workers", 2);
  const std::string cache = args.get("--cache", ".gearnn-cache");
  const Dataset train_set = open_dataset(args, "--split", "train");
  const AugmentOptions augment = parse_augment(args);

  // Architecture, starting weights, classes and normalisation.
  Manifest m;
  std::unique_ptr<Architecture> arch;
  WeightTable initial;
  if (args.has("--init")) {
    const auto init = Bundle::load(args.get("--init"), args.get("--device", "cpu"), DescriptorCheck::skip);
    m = init->manifest();
    arch = std::make_unique<Architecture>(init->architecture());
    initial = init->base_weights();
  } else {
    m.classes = train_set.classes();
    arch = std::make_unique<Architecture>(args.get("--arch"), int(m.classes.size()), args.get_double("--width", 1.0));
    m.architecture = arch->name();
    m.width = arch->width();
    std::fprintf(stderr, "computing the input normalisation of %zu images...\n", train_set.size());
    m.normalization = compute_normalization(train_set, threads);
    initial = arch->initial_weights(uint64_t(args.get_int("--seed", 1)));
    const at::Device device = parse_device(args.get("--device", "cpu"));
    for (auto& t : initial) t = t.to(device);
  }
  if (int(train_set.classes().size()) != arch->classes())
    throw Error(args.get("--data") + ": " + std::to_string(train_set.classes().size()) + " classes, the model has " +
                std::to_string(arch->classes()));

  TrainOptions t;
  t.epochs = args.get_int("--epochs", 60);
  t.lr = args.get_double("--lr", 0.01);
  t.momentum = args.get_double("--momentum", 0.9);
  t.weight_decay = args.get_double("--weight-decay", 1e-4);
  t.schedule = args.get("--schedule", "poly");
  if (t.schedule != "poly" && t.schedule != "step" && t.schedule != "constant")
    throw UsageError("--schedule must be poly, step or constant");
  t.step_epochs = args.get_int("--step-epochs", 30);
  // Fine-tuning from a bundle keeps its base's loss unless told otherwise.
  t.class_weights = args.has("--class-weights")
                        ? class_weights(args.get("--class-weights"), train_set, arch->classes(), threads)
                        : m.class_weights;
  m.class_weights = t.class_weights;
  const std::string recalibrate = args.get("--recalibrate", "crops");
  if (recalibrate != "crops" && recalibrate != "frames" && recalibrate != "none")
    throw UsageError("--recalibrate must be crops, frames or none");
  t.recalibrate_bn = recalibrate != "none";
  t.stability_alpha = args.get_double("--stability-alpha", 0.0);
  t.stability_sigma = args.get_double("--stability-sigma", 0.1);
  t.input_std = m.normalization.std;
  t.seed = uint64_t(args.get_int("--seed", 1));
  t.checkpoint_dir = args.get("--checkpoint-dir", out + ".checkpoint");
  t.resume = args.has("--resume");
  t.progress = !args.has("--quiet");
  t.label = "train";

  // Training images: clean, one distortion level, or a mix of levels.
  std::function<RgbImage(size_t)> source;
  MixedImages mixed;
  mixed.seed = t.seed;
  if (args.has("--distortion")) {
    auto level = std::make_shared<LevelImages>(train_set, setting_option(args, "--distortion"), cache, threads);
    source = [level](size_t i) { return level->image(i); };
  } else if (args.has("--mix")) {
    for (const auto& setting : level_spec_option(args, "--mix"))
      mixed.levels.push_back(std::make_shared<LevelImages>(train_set, setting, cache, threads));
    source = mixed;
  }
  BatchLoader loader(train_set, m.normalization, augment, args.get_int("--batch", 8), true, t.seed, workers, source);
  loader.set_drop_last(train_set.size() > size_t(args.get_int("--batch", 8)));
  TrainData data = loader_data(loader);
  std::optional<BatchLoader> frame_loader;
  TrainData frame_data;
  if (recalibrate == "frames") {
    AugmentOptions whole;  // --resize still applies: it sets the resolution the model is for
    whole.resize_width = augment.resize_width;
    whole.resize_height = augment.resize_height;
    frame_loader.emplace(train_set, m.normalization, whole, args.get_int("--batch", 8), false, t.seed, workers, source);
    frame_data = loader_data(*frame_loader);
    t.recalibration_data = &frame_data;
  }
  if (args.has("--mix")) {
    auto start = data.start_epoch;
    data.start_epoch = [start, epoch = mixed.epoch](int e) {
      epoch->store(e);
      start(e);
    };
  }

  // Validation on clean images at the training resolution.
  const std::string val_split = args.get("--val-split", "val");
  const int val_every = std::max(1, args.get_int("--val-every", 5));
  std::optional<Dataset> val_set;
  std::shared_ptr<LevelImages> val_images;
  if (val_split != "none") {
    val_set = Dataset::open(args.get("--data"), val_split);
    DistortionSetting val_setting;
    if (augment.resize_width > 0 && augment.resize_height > 0) {
      val_setting.kind = DistortionSetting::Kind::resize;
      val_setting.size = Resolution{augment.resize_width, augment.resize_height};
    }
    val_images = std::make_shared<LevelImages>(*val_set, val_setting, cache, threads);
  }

  // The training curve lives next to the checkpoint, so that a resumed run keeps its start.
  const std::filesystem::path curve_file = std::filesystem::path(t.checkpoint_dir) / "curve.json";
  nlohmann::json curve = nlohmann::json::array();
  if (t.resume && std::filesystem::exists(curve_file)) curve = nlohmann::json::parse(std::ifstream(curve_file));
  const auto on_epoch = [&](const EpochReport& r, const WeightTable& w) {
    nlohmann::json row = {{"epoch", r.epoch}, {"loss", r.loss}, {"seconds", r.seconds},
                          {"images_per_second", r.images_per_second}};
    if (val_images && (r.epoch % val_every == 0 || r.epoch == r.epochs)) {
      const ConfusionMatrix cm =
          evaluate(*arch, w, m.normalization, *val_set, [&](size_t i) { return val_images->image(i); });
      row["val_miou"] = cm.miou();
      std::fprintf(stderr, "epoch %d: %s mIoU %.2f%%\n", r.epoch, val_split.c_str(), cm.miou());
    }
    curve.push_back(row);
    std::ofstream(curve_file) << curve.dump(1) << "\n";
  };
  const WeightTable trained = train(*arch, initial, t, data, on_epoch);

  LevelSpec level;
  level.name = args.has("--distortion") ? setting_option(args, "--distortion").text() : "clean";
  m.levels = {level};
  write_bundle(out, m, named_weights(*arch, trained), {NamedTensors{}});
  nlohmann::json record = {{"command", "gearnn train"}, {"arguments", argv}, {"epochs", curve}};
  std::ofstream(std::filesystem::path(out) / "training.json") << record.dump(2) << "\n";
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace gearnn::cli
