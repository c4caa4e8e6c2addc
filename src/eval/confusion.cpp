#include "eval/confusion.h"

#include "error.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace gearnn {

ConfusionMatrix::ConfusionMatrix(int classes) : classes_(classes) {
  if (classes <= 0 || classes > 255) throw Error("confusion matrix: class count " + std::to_string(classes) + " is outside 1..255");
  counts_.assign(size_t(classes) * size_t(classes), 0);
}

void ConfusionMatrix::add(const ClassMap& prediction, const ClassMap& label) {
  if (label.classes.size() != size_t(label.width) * size_t(label.height) ||
      prediction.classes.size() != size_t(prediction.width) * size_t(prediction.height))
    throw Error("confusion matrix: class map with a pixel count that does not match its size");
  if (prediction.width == label.width && prediction.height == label.height) {
    add(prediction.classes.data(), label.classes.data(), label.classes.size());
    return;
  }
  const ClassMap resized = resize_nearest(prediction, label.width, label.height);
  add(resized.classes.data(), label.classes.data(), label.classes.size());
}

void ConfusionMatrix::add(const uint8_t* prediction, const uint8_t* label, size_t pixels) {
  const size_t k = size_t(classes_);
  for (size_t i = 0; i < pixels; ++i) {
    const size_t l = label[i], p = prediction[i];
    if (l >= k) continue;
    if (p >= k)
      throw Error("confusion matrix: predicted class " + std::to_string(p) + " at pixel " + std::to_string(i) +
                  " is outside 0.." + std::to_string(k - 1));
    ++counts_[l * k + p];
  }
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  if (other.classes_ != classes_)
    throw Error("confusion matrix: cannot merge " + std::to_string(other.classes_) + " classes into " +
                std::to_string(classes_));
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
}

int64_t ConfusionMatrix::total() const { return std::accumulate(counts_.begin(), counts_.end(), int64_t(0)); }

std::vector<double> ConfusionMatrix::per_class_iou() const {
  std::vector<double> iou(static_cast<size_t>(classes_));
  for (int c = 0; c < classes_; ++c) {
    int64_t row = 0, col = 0;
    for (int j = 0; j < classes_; ++j) {
      row += at(c, j);
      col += at(j, c);
    }
    const int64_t diag = at(c, c), uni = row + col - diag;
    iou[size_t(c)] = uni > 0 ? double(diag) / double(uni) : std::numeric_limits<double>::quiet_NaN();
  }
  return iou;
}

double ConfusionMatrix::miou() const {
  double sum = 0;
  int n = 0;
  for (double v : per_class_iou())
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  return n > 0 ? 100.0 * sum / n : std::numeric_limits<double>::quiet_NaN();
}

double ConfusionMatrix::pixel_accuracy() const {
  int64_t diag = 0;
  for (int c = 0; c < classes_; ++c) diag += at(c, c);
  const int64_t t = total();
  return t > 0 ? 100.0 * double(diag) / double(t) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace gearnn
