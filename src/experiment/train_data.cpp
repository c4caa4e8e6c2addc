#include "experiment/train_data.h"

namespace gearnn {

TrainData loader_data(BatchLoader& loader) {
  TrainData d;
  d.batches_per_epoch = loader.batches_per_epoch();
  d.start_epoch = [&loader](int epoch) { loader.start_epoch(epoch); };
  d.next = [&loader](at::Tensor& images, at::Tensor& labels) {
    std::optional<Batch> b = loader.next();
    if (!b) return false;
    images = b->images;
    labels = b->labels;
    return true;
  };
  return d;
}

RgbImage MixedImages::operator()(size_t i) const {
  // splitmix64 of (seed, epoch, i): a fixed, well-spread choice per sample and epoch
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + uint64_t(epoch->load()) * 0xBF58476D1CE4E5B9ULL + i;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return levels[z % levels.size()]->image(i);
}

}  // namespace gearnn
