#pragma once
// The training data loader: a seeded order per epoch, augmentation, and a
// pool of threads that decodes and augments batches ahead of the consumer.
#include "data/augment.h"
#include "data/dataset.h"
#include "data/stats.h"  // compute_normalization
#include "manifest.h"

#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace gearnn {

struct Batch {
  at::Tensor images;            // N x 3 x H x W float32, normalised
  at::Tensor labels;            // N x H x W int64, Dataset::kIgnore for void
  std::vector<size_t> indices;  // dataset indices of the N samples
};

class BatchLoader {
public:
  // image_source(i) gives the RGB image of sample i (for example a distorted,
  // possibly smaller, copy); empty: dataset.load_image(i). It is called from
  // the worker threads, so it must be thread-safe. When its size differs from
  // the label's, the label is resized to it (nearest) before augmentation.
  // workers <= 0 loads in the calling thread inside next().
  BatchLoader(const Dataset& dataset, const Normalization& normalization, const AugmentOptions& augment,
              int batch_size, bool shuffle, uint64_t seed, int workers,
              std::function<RgbImage(size_t)> image_source = {});
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Order and augmentation follow from (seed, epoch, sample index) alone: the
  // worker count and timing change nothing. Abandons an epoch in progress.
  void start_epoch(int epoch);

  // The next batch in order; nullopt at the end of the epoch. Rethrows a
  // loading error (gearnn::Error naming the file). Starts epoch 0 if no epoch was started.
  std::optional<Batch> next();

  size_t batches_per_epoch() const;
  // The last partial batch is kept unless drop_last; takes effect at the next start_epoch.
  void set_drop_last(bool drop_last) { drop_last_ = drop_last; }

  // The dataset indices of `epoch` in the order they are served.
  std::vector<size_t> epoch_order(int epoch) const;

private:
  Batch make_batch(size_t batch, int epoch, const std::vector<size_t>& order) const;
  void stop_workers();
  void worker_loop();

  Dataset dataset_;
  Normalization normalization_;
  AugmentOptions augment_;
  size_t batch_size_;
  bool shuffle_;
  uint64_t seed_;
  int workers_;
  std::function<RgbImage(size_t)> image_source_;
  bool drop_last_ = false;

  // Epoch state. Workers claim batch numbers in order, at most `ahead_` past
  // the one the consumer waits for, and post results into `ready_`.
  int epoch_ = 0;
  bool started_ = false;
  std::vector<size_t> order_;
  size_t batches_ = 0, consumed_ = 0, claimed_ = 0, ahead_ = 0;
  std::map<size_t, std::pair<std::optional<Batch>, std::exception_ptr>> ready_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::thread> threads_;
};

}  // namespace gearnn
