#pragma once
// Whole-dataset statistics: the normalisation a bundle records, and class
// pixel frequencies.
#include "data/dataset.h"
#include "manifest.h"

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace gearnn {

struct DatasetStats {
  Normalization normalization;  // per-channel mean and (population) std of RGB/255 over every pixel
  int64_t image_pixels = 0;
  std::map<std::pair<int, int>, int64_t> image_sizes;  // (width, height) -> number of images

  // Only when labels were read:
  int64_t label_pixels = 0, void_pixels = 0;
  std::vector<int64_t> class_pixels;           // per class
  std::vector<int64_t> class_present_pixels;   // non-void pixels of the images in which the class occurs

  // SegNet's median-frequency balancing: freq_c = class_pixels / class_present_pixels,
  // weight_c = median(freq) / freq_c; 0 for a class that never occurs.
  std::vector<double> median_frequency_weights() const;
};

// Reads every image (and every label when `labels`) on `threads` threads
// (<= 0: all cores). The result does not depend on the thread count.
DatasetStats compute_stats(const Dataset& dataset, int threads, bool labels = true);

Normalization compute_normalization(const Dataset& dataset, int threads);

}  // namespace gearnn
