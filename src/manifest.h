#pragma once
// The bundle manifest (manifest.json): everything about a bundle but the
// weights. See README.md, "Bundle format".
#include "distortion.h"
#include "image.h"
#include "measure/stream_quality.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gearnn {

constexpr int kBundleFormatVersion = 1;

struct ClassInfo {
  std::string name;
  std::array<uint8_t, 3> color;
};

struct Normalization {
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f};  // RGB, after division by 255
  std::array<float, 3> std{0.25f, 0.25f, 0.25f};
};

struct AdaptorRef {
  std::string file;    // relative to the bundle folder
  std::string sha256;  // of that file
  std::vector<std::string> layers;  // whole layers of the base it replaces ("base.0.1", "seg")
};

// A level's accuracy as measured offline (gearnn eval --write-expected), so
// that the runtime can say what each frame may expect.
struct ExpectedAccuracy {
  double miou = 0;                // percent
  std::vector<double> class_iou;  // percent per class, -1 for a class absent there; empty when not recorded
  std::string split;              // what it was measured on, for people ("camvid val")
};

struct LevelSpec {
  std::string name;
  Distortion distortion;
  std::optional<double> h264_crf;     // how the level's data was made, for people; not matched on
  // The version of the measurement definitions the descriptor was computed
  // with (measure/stream_quality.h); "measure" in the manifest, 1 when absent.
  int measure_version = kMeasureVersion;
  // The H.264 encoder recipe (h264_recipe) its data was made with: "encoder"
  // in the manifest. Empty where unknown or not H.264.
  std::string encoder;
  std::optional<AdaptorRef> adaptor;  // none: the level runs the base as it is
  // How the adaptor was chosen (gearnn adapt): the memory budget in values and
  // every layer's distortion sensitivity (Eq. 1). Empty for other bundles.
  int64_t budget = 0;
  std::map<std::string, double> sensitivity;
  std::optional<ExpectedAccuracy> expected;
};

// An early exit (early_exit.h): a small head after one stage of the trunk.
struct ExitSpec {
  std::string after;       // the stage it follows ("base.5")
  int convs = 1;           // 3x3 convs (bias, ReLU) before its 1x1 classifier
  int channels = 0;        // their output channels (0 when convs is 0)
  int dilation = 1;        // of those convs: more context at stride 8 for the same compute
  double threshold = 1.0;  // confidence a frame needs to leave here, in (0, 1]
  std::map<std::string, double> level_thresholds;  // per level, where it differs from `threshold`
  std::optional<double> saving_ratio;  // FlexDNN's R when the exit was planned (for people)
};

// The bundle's early exits: their tensors live in one file of their own.
struct ExitsRef {
  std::string file;
  std::string sha256;
  std::vector<ExitSpec> heads;  // in trunk order
};

struct Manifest {
  std::string architecture;
  double width = 1.0;
  std::vector<ClassInfo> classes;
  Normalization normalization;
  std::string base_file;
  std::string base_sha256;
  // The loss the base was trained with: per-class NLL weights (empty:
  // unweighted). Every fine-tuning from this base (adaptors, DNN switching,
  // mixed, stability) uses the same, so that they compare like for like.
  // "training": {"class_weights": [...]} in the manifest.
  std::vector<float> class_weights;
  std::vector<LevelSpec> levels;
  std::optional<ExitsRef> exits;

  Palette palette() const;
};

// `bundle` is a bundle folder or its manifest.json.
std::string manifest_path_of(const std::string& bundle);

// Parses and checks the manifest's own structure (types, ranges, unique level
// names, one set of dimensions for all levels). Throws gearnn::Error naming the file.
Manifest read_manifest(const std::string& manifest_path);
// The same from the manifest's bytes; `path` names it in errors.
Manifest parse_manifest(const char* text, size_t size, const std::string& path);
// Refuses levels whose descriptor was computed with measurement definitions
// other than this build's, in a dimension whose definition has changed; the
// message says how to re-describe them. Bundle::load calls it.
void check_measure_version(const Manifest& manifest, const std::string& manifest_path);
void write_manifest(const std::string& manifest_path, const Manifest& manifest);

// Built-in class tables: "camvid" (11), "cityscapes" (19).
std::vector<ClassInfo> builtin_classes(const std::string& dataset);
// Names class0.. with distinct generated colours.
std::vector<ClassInfo> generic_classes(int count);

}  // namespace gearnn
