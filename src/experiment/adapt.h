#pragma once
// GearNN's Algorithm 1 over a set of distortion levels: per level, fine-tune
// the whole base on level data (kept as the DNN-switching model), measure each
// layer's sensitivity, pick the adaptor by knapsack under the budget, and
// fine-tune only those layers; then write the bundle.
#include "data/augment.h"
#include "data/dataset.h"
#include "distort/distortion_setting.h"

#include <string>
#include <vector>

namespace gearnn {

struct AdaptOptions {
  std::string base_bundle;  // the trained base (its base tensors, classes and normalisation)
  std::vector<DistortionSetting> levels;
  std::string base_level;   // a level that runs the base as it is (no adaptor), by setting text; "" none
  std::string only_level;   // compute only this level (its own bundle; join with `gearnn bundle merge`)
  std::string budget = "0.2%";
  int full_epochs = 4;      // step 1: whole-model fine-tuning
  double full_lr = 0.001;
  int adaptor_epochs = 4;   // step 3: adaptor-only fine-tuning (4 epochs as in the paper; its lr 0.001
                            // barely moves ~2,000 values in 4 epochs here: models/camvid/README.md)
  double adaptor_lr = 0.1;
  int batch_size = 8;
  AugmentOptions augment;
  int workers = 2;
  int threads = 2;
  std::string device = "cpu";  // where training runs ("cuda" with a CUDA build)
  uint64_t seed = 1;
  std::string cache_dir;      // distorted images
  std::string output;         // bundle folder
  std::string switching_dir;  // full fine-tuned models per level (the DNN switching baseline)
  std::string work_dir;       // per-level checkpoints and results, so that a rerun resumes
  bool progress = true;
};

void build_adapted_bundle(const Dataset& train_set, const AdaptOptions& options);

// The augmentation one level trains with. A level whose frames are smaller than
// the crop (h264:240x180 under a 320x240 crop) would be padded with black,
// void-labelled borders, and the BN layers being tuned would learn their
// statistics from frames that are part border: the crop shrinks to the frame
// (to its largest multiple of 8).
// Only where every frame of the level has that size (no resize or scale).
AugmentOptions level_augment(const AugmentOptions& augment, const DistortionSetting& level);

// Where build_adapted_bundle keeps level `name`'s whole fine-tuned model.
std::string switching_model_path(const std::string& switching_dir, const std::string& level_name);

// DNN switching as a bundle: `bundle`'s levels, each with an "adaptor" of
// every layer taken from its whole fine-tuned model in `switching_dir`, so
// that the runtime serves the switching baseline like any bundle (with
// levels x the base's memory).
void write_switching_bundle(const std::string& bundle, const std::string& switching_dir, const std::string& output);

// Joins bundles made from the same base (for example one per level) into one.
void merge_bundles(const std::vector<std::string>& bundles, const std::string& output);

// A copy of `bundle` with only the levels named, in that order (its base, its
// adaptors of those levels, and its early exits with their thresholds for
// those levels): for streams where the other levels' descriptors would match
// frames they were not trained for. `output` must be new or an empty folder.
void select_levels(const std::string& bundle, const std::vector<std::string>& names, const std::string& output);

}  // namespace gearnn
