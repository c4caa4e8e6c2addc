#include "data/loader.h"

#include "data/random.h"
#include "data/resize.h"
#include "error.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>

namespace gearnn {

BatchLoader::BatchLoader(const Dataset& dataset, const Normalization& normalization, const AugmentOptions& augment,
                         int batch_size, bool shuffle, uint64_t seed, int workers,
                         std::function<RgbImage(size_t)> image_source)
    : dataset_(dataset),
      normalization_(normalization),
      augment_(augment),
      batch_size_(size_t(std::max(batch_size, 0))),
      shuffle_(shuffle),
      seed_(seed),
      workers_(std::max(workers, 0)),
      image_source_(std::move(image_source)) {
  if (batch_size <= 0) throw Error(dataset.root() + ": batch size must be positive, not " + std::to_string(batch_size));
  for (float s : normalization.std)
    if (!(s > 0)) throw Error(dataset.root() + ": normalisation std must be positive, not " + std::to_string(s));
  check_augment_options(augment);
}

BatchLoader::~BatchLoader() { stop_workers(); }

size_t BatchLoader::batches_per_epoch() const {
  const size_t n = dataset_.size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

std::vector<size_t> BatchLoader::epoch_order(int epoch) const {
  std::vector<size_t> order(dataset_.size());
  std::iota(order.begin(), order.end(), size_t(0));
  if (shuffle_) {
    SplitMix64 rng(mix_seed({seed_, uint64_t(int64_t(epoch))}));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  }
  return order;
}

void BatchLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void BatchLoader::start_epoch(int epoch) {
  stop_workers();
  // No worker runs now, so the epoch state may change without the lock.
  epoch_ = epoch;
  started_ = true;
  order_ = epoch_order(epoch);
  batches_ = batches_per_epoch();
  consumed_ = claimed_ = 0;
  ahead_ = size_t(workers_) + 1;
  ready_.clear();
  stopping_ = false;
  for (int t = 0; t < std::min<int>(workers_, int(batches_)); ++t) threads_.emplace_back(&BatchLoader::worker_loop, this);
}

void BatchLoader::worker_loop() {
  for (;;) {
    size_t b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_cv_.wait(lock, [&] { return stopping_ || claimed_ >= batches_ || claimed_ < consumed_ + ahead_; });
      if (stopping_ || claimed_ >= batches_) return;
      b = claimed_++;
    }
    std::optional<Batch> batch;
    std::exception_ptr error;
    try {
      batch = make_batch(b, epoch_, order_);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[b] = {std::move(batch), error};
    }
    ready_cv_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  if (!started_) start_epoch(0);
  if (consumed_ >= batches_) return std::nullopt;
  if (workers_ == 0) return make_batch(consumed_++, epoch_, order_);

  std::unique_lock<std::mutex> lock(mutex_);
  ready_cv_.wait(lock, [&] { return ready_.count(consumed_) > 0; });
  auto node = ready_.extract(consumed_++);
  lock.unlock();
  work_cv_.notify_all();
  if (node.mapped().second) std::rethrow_exception(node.mapped().second);
  return std::move(node.mapped().first);
}

Batch BatchLoader::make_batch(size_t b, int epoch, const std::vector<size_t>& order) const {
  const size_t first = b * batch_size_, last = std::min(order.size(), first + batch_size_);
  Batch batch;
  batch.indices.assign(order.begin() + std::ptrdiff_t(first), order.begin() + std::ptrdiff_t(last));

  std::vector<RgbImage> images;
  std::vector<ClassMap> labels;
  for (size_t i : batch.indices) {
    RgbImage image = image_source_ ? image_source_(i) : dataset_.load_image(i);
    ClassMap label = dataset_.load_label(i);
    if (image.width != label.width || image.height != label.height)
      label = resize_nearest(label, image.width, image.height);
    augment_pair(image, label, augment_, mix_seed({seed_, uint64_t(int64_t(epoch)), uint64_t(i)}));
    if (!images.empty() && (image.width != images[0].width || image.height != images[0].height))
      throw Error(dataset_.sample(i).image_path + ": comes out " + std::to_string(image.width) + "x" +
                  std::to_string(image.height) + " but " + dataset_.sample(batch.indices[0]).image_path + " " +
                  std::to_string(images[0].width) + "x" + std::to_string(images[0].height) +
                  " in the same batch; set a crop or resize size");
    images.push_back(std::move(image));
    labels.push_back(std::move(label));
  }

  const int64_t n = int64_t(images.size()), h = images[0].height, w = images[0].width;
  const size_t plane = size_t(h * w);
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v)
      lut[c][v] = (float(v) / 255.0f - normalization_.mean[size_t(c)]) / normalization_.std[size_t(c)];

  batch.images = at::empty({n, 3, h, w}, at::kFloat);
  batch.labels = at::empty({n, h, w}, at::kLong);
  float* img = batch.images.data_ptr<float>();
  int64_t* lab = batch.labels.data_ptr<int64_t>();
  for (size_t k = 0; k < images.size(); ++k) {
    const uint8_t* px = images[k].pixels.data();
    float* dst = img + k * 3 * plane;
    for (size_t p = 0; p < plane; ++p)
      for (size_t c = 0; c < 3; ++c) dst[c * plane + p] = lut[c][px[p * 3 + c]];
    std::copy(labels[k].classes.begin(), labels[k].classes.end(), lab + k * plane);
  }
  return batch;
}

}  // namespace gearnn
