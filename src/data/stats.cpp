#include "data/stats.h"

#include "error.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

namespace gearnn {
namespace {

// Integer sums, so that the result is exact and independent of how samples
// are spread over threads.
struct Partial {
  int64_t pixels = 0;
  uint64_t sum[3] = {0, 0, 0};
  unsigned __int128 sum_sq[3] = {0, 0, 0};
  std::map<std::pair<int, int>, int64_t> sizes;
  int64_t label_pixels = 0, void_pixels = 0;
  std::vector<int64_t> class_pixels, class_present;

  void add_image(const RgbImage& image) {
    const size_t n = image.pixels.size() / 3;
    uint64_t s[3] = {0, 0, 0}, sq[3] = {0, 0, 0};  // one image cannot overflow these
    for (size_t i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c) {
        const uint64_t v = image.pixels[i * 3 + size_t(c)];
        s[c] += v;
        sq[c] += v * v;
      }
    for (int c = 0; c < 3; ++c) {
      sum[c] += s[c];
      sum_sq[c] += sq[c];
    }
    pixels += int64_t(n);
    ++sizes[{image.width, image.height}];
  }

  void add_label(const ClassMap& label) {
    std::vector<int64_t> counts(class_pixels.size(), 0);
    int64_t valid = 0;
    for (uint8_t v : label.classes) {
      if (v < counts.size()) {
        ++counts[v];
        ++valid;
      }
    }
    label_pixels += int64_t(label.classes.size());
    void_pixels += int64_t(label.classes.size()) - valid;
    for (size_t c = 0; c < counts.size(); ++c) {
      class_pixels[c] += counts[c];
      if (counts[c] > 0) class_present[c] += valid;
    }
  }

  void merge(const Partial& o) {
    pixels += o.pixels;
    for (int c = 0; c < 3; ++c) {
      sum[c] += o.sum[c];
      sum_sq[c] += o.sum_sq[c];
    }
    for (const auto& [size, count] : o.sizes) sizes[size] += count;
    label_pixels += o.label_pixels;
    void_pixels += o.void_pixels;
    for (size_t c = 0; c < class_pixels.size(); ++c) {
      class_pixels[c] += o.class_pixels[c];
      class_present[c] += o.class_present[c];
    }
  }
};

}  // namespace

std::vector<double> DatasetStats::median_frequency_weights() const {
  std::vector<double> freq, present;
  for (size_t c = 0; c < class_pixels.size(); ++c) {
    freq.push_back(class_present_pixels[c] > 0 ? double(class_pixels[c]) / double(class_present_pixels[c]) : 0.0);
    if (freq.back() > 0) present.push_back(freq.back());
  }
  if (present.empty()) return std::vector<double>(freq.size(), 0.0);
  std::sort(present.begin(), present.end());
  const size_t m = present.size();
  const double median = m % 2 ? present[m / 2] : 0.5 * (present[m / 2 - 1] + present[m / 2]);
  std::vector<double> weights;
  for (double f : freq) weights.push_back(f > 0 ? median / f : 0.0);
  return weights;
}

DatasetStats compute_stats(const Dataset& dataset, int threads, bool labels) {
  const size_t classes = dataset.classes().size();
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  threads = int(std::min<size_t>(size_t(threads), std::max<size_t>(dataset.size(), 1)));

  std::vector<Partial> partials(static_cast<size_t>(threads));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](Partial& p) {
    p.class_pixels.assign(classes, 0);
    p.class_present.assign(classes, 0);
    try {
      for (size_t i; !failed && (i = next++) < dataset.size();) {
        p.add_image(dataset.load_image(i));
        if (labels) p.add_label(dataset.load_label(i));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, std::ref(partials[size_t(t)]));
  work(partials[0]);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  Partial total = partials[0];
  for (size_t t = 1; t < partials.size(); ++t) total.merge(partials[t]);

  DatasetStats s;
  s.image_pixels = total.pixels;
  s.image_sizes = total.sizes;
  if (total.pixels > 0) {
    const auto n = static_cast<unsigned __int128>(total.pixels);
    for (int c = 0; c < 3; ++c) {
      // n * sum_sq - sum^2 is exact in 128 bits, so a constant channel has exactly 0 variance.
      const unsigned __int128 spread = n * total.sum_sq[c] - static_cast<unsigned __int128>(total.sum[c]) * total.sum[c];
      const double variance = double(spread) / (double(total.pixels) * double(total.pixels));
      s.normalization.mean[size_t(c)] = float(double(total.sum[c]) / double(total.pixels) / 255.0);
      s.normalization.std[size_t(c)] = float(std::sqrt(variance) / 255.0);
    }
  }
  if (labels) {
    s.label_pixels = total.label_pixels;
    s.void_pixels = total.void_pixels;
    s.class_pixels = total.class_pixels;
    s.class_present_pixels = total.class_present;
  }
  return s;
}

Normalization compute_normalization(const Dataset& dataset, int threads) {
  if (dataset.size() == 0) throw Error(dataset.root() + ": no samples to compute a normalisation from");
  return compute_stats(dataset, threads, false).normalization;
}

}  // namespace gearnn
