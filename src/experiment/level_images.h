#pragma once
// A dataset's images as one distortion level sees them: distorted copies from
// the on-disk cache (made once, reused by every epoch and process), and what
// the runtime would measure on them.
#include "data/dataset.h"
#include "distort/distortion_setting.h"

#include <string>
#include <vector>

namespace gearnn {

class LevelImages {
public:
  LevelImages(const Dataset& dataset, const DistortionSetting& setting, const std::string& cache_dir, int threads);

  const DistortionSetting& setting() const { return setting_; }
  size_t size() const { return paths_.size(); }
  RgbImage image(size_t i) const;  // thread-safe
  const Distortion& measured(size_t i) const { return measured_.at(i); }
  // The level's descriptor: what the runtime measures on these frames
  // (measure/stream_quality.h), in the dimensions the level's kind varies:
  // the most common resolution for resize and sized h264, the mean of the
  // runtime's QP measurement over the frames for h264, the mean estimated
  // quality for jpeg, the mean relative brightness against `reference_luma`
  // (the luma of the bundle's normalisation mean) for brightness.
  Distortion describe(double reference_luma) const;

private:
  DistortionSetting setting_;
  std::vector<std::string> paths_;
  std::vector<Distortion> measured_;
  std::vector<std::optional<double>> mean_luma_;
};

}  // namespace gearnn
