#include "experiment/redescribe.h"

#include "bundle.h"
#include "distort/h264.h"
#include "error.h"
#include "experiment/level_images.h"
#include "measure/stream_quality.h"

#include <filesystem>

namespace gearnn {
namespace fs = std::filesystem;

void redescribe_bundle(const std::string& bundle, const Dataset& data, const std::string& cache_dir, int threads,
                       std::ostream& log) {
  const std::string path = manifest_path_of(bundle);
  // Validates files and hashes; the descriptors are what is being replaced.
  Manifest m = Bundle::load(bundle, "cpu", DescriptorCheck::skip)->manifest();
  const double reference = luma_of_mean(m.normalization.mean);
  // New descriptors of pixels an adaptor never saw would send the level
  // streams it was not trained for: refused before any data is made.
  for (const LevelSpec& level : m.levels)
    if (!level.encoder.empty() && level.encoder != h264_recipe())
      throw Error(path + ": level '" + level.name + "' was made with the H.264 encoder '" + level.encoder +
                  "', and this build encodes with '" + h264_recipe() + "': its adaptor was trained on other " +
                  "pixels, so make the level again with gearnn adapt instead of re-describing it");
  for (LevelSpec& level : m.levels) {
    DistortionSetting setting;
    try {
      setting = parse_distortion_setting(level.name);
    } catch (const Error& e) {
      throw Error(path + ": level '" + level.name + "' is not named by a distortion setting, so its data cannot " +
                  "be made again (" + e.what() + ")");
    }
    if (setting.kind == DistortionSetting::Kind::clean)
      throw Error(path + ": level 'clean' has no distortion to measure");
    if (setting.kind == DistortionSetting::Kind::h264) {
      if (level.encoder.empty())
        log << level.name << ": the manifest does not say which encoder made its data; re-described with '"
            << h264_recipe() << "'\n";
      level.encoder = h264_recipe();
    }
    const Distortion before = level.distortion;
    const LevelImages images(data, setting, cache_dir, threads);
    level.distortion = images.describe(reference);
    level.measure_version = kMeasureVersion;
    log << level.name << ": " << before.describe() << " -> " << level.distortion.describe() << "\n";
  }
  const std::string temp = path + ".redescribe-tmp";
  write_manifest(temp, m);
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw Error(path + ": cannot replace the manifest (" + ec.message() + ")");
  }
  Bundle::load(bundle);  // the new manifest reads back and passes every check
}

}  // namespace gearnn
