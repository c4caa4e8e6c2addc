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
  // The level's descriptor, in the dimensions its kind varies: resolution
  // (the most common one) for resize and sized h264, the mean QP for h264,
  // the mean estimated quality for jpeg, the factor for brightness.
  Distortion describe() const;

private:
  DistortionSetting setting_;
  std::vector<std::string> paths_;
  std::vector<Distortion> measured_;
};

}  // namespace gearnn
