#pragma once
// Adapts a BatchLoader to the trainer's TrainData; with several levels, each
// sample of each epoch comes from one level picked at random (mixed training).
#include "data/loader.h"
#include "experiment/level_images.h"
#include "train/trainer.h"

#include <atomic>
#include <memory>

namespace gearnn {

TrainData loader_data(BatchLoader& loader);

// Image source for mixed training: sample i in epoch e comes from level
// hash(seed, e, i) mod levels. `epoch` must be set before each epoch starts.
struct MixedImages {
  std::vector<std::shared_ptr<const LevelImages>> levels;
  uint64_t seed = 1;
  std::shared_ptr<std::atomic<int>> epoch = std::make_shared<std::atomic<int>>(0);
  RgbImage operator()(size_t i) const;
};

}  // namespace gearnn
