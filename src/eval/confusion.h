#pragma once
// Confusion matrices and the scores derived from them, as fyu/drn scores
// segmentation (fast_hist, per_class_iu, nanmean).
#include "data/resize.h"  // resize_nearest
#include "image.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gearnn {

class ConfusionMatrix {
public:
  explicit ConfusionMatrix(int classes);

  // Label pixels of 255 (void), or of any value >= classes, are not counted.
  // A prediction of another size is first resized to the label's (nearest), so
  // predictions made at a reduced resolution are scored at the labels' own.
  // Throws gearnn::Error for a predicted class >= classes.
  void add(const ClassMap& prediction, const ClassMap& label);
  void add(const uint8_t* prediction, const uint8_t* label, size_t pixels);
  void merge(const ConfusionMatrix& other);

  int classes() const { return classes_; }
  int64_t at(int label, int predicted) const { return counts_[size_t(label) * size_t(classes_) + size_t(predicted)]; }
  const std::vector<int64_t>& counts() const { return counts_; }  // row-major, row = label
  int64_t total() const;

  // Fractions 0..1: diag / (row sum + column sum - diag); NaN for a class that
  // is absent from both the ground truth and the prediction.
  std::vector<double> per_class_iou() const;
  // Percent 0..100: the mean of the non-NaN per-class IoUs (NaN if all are).
  double miou() const;
  // Percent 0..100 of counted pixels predicted right (NaN if none was counted).
  double pixel_accuracy() const;

private:
  int classes_;
  std::vector<int64_t> counts_;
};

}  // namespace gearnn
