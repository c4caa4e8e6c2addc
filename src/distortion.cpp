#include "distortion.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace gearnn {

const char* dimension_name(Dimension d) {
  switch (d) {
    case Dimension::resolution: return "resolution";
    case Dimension::h264_qp: return "h264_qp";
    case Dimension::jpeg_quality: return "jpeg_quality";
    case Dimension::brightness: return "brightness";
  }
  return "?";
}

std::optional<double> Distortion::value(Dimension d) const {
  switch (d) {
    case Dimension::resolution:
      if (!resolution) return std::nullopt;
      return std::sqrt(double(resolution->width) * double(resolution->height));
    case Dimension::h264_qp: return h264_qp;
    case Dimension::jpeg_quality: return jpeg_quality;
    case Dimension::brightness: return brightness;
  }
  return std::nullopt;
}

std::string Distortion::describe() const {
  std::string out;
  char buf[64];
  auto add = [&](const char* text) { out += (out.empty() ? "" : " ") + std::string(text); };
  if (resolution) {
    std::snprintf(buf, sizeof buf, "%dx%d", resolution->width, resolution->height);
    add(buf);
  }
  if (h264_qp) { std::snprintf(buf, sizeof buf, "qp=%.1f", *h264_qp); add(buf); }
  if (jpeg_quality) { std::snprintf(buf, sizeof buf, "jpeg_q=%.0f", *jpeg_quality); add(buf); }
  if (brightness) { std::snprintf(buf, sizeof buf, "brightness=%.2f", *brightness); add(buf); }
  return out.empty() ? "none" : out;
}

LevelMatcher::LevelMatcher(std::vector<Distortion> levels) : levels_(std::move(levels)) {
  for (size_t i = 0; i < kDimensions.size(); ++i) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const Distortion& level : levels_) {
      if (auto v = level.value(kDimensions[i])) {
        lo = std::min(lo, *v);
        hi = std::max(hi, *v);
      }
    }
    if (lo > hi) continue;  // no level defines this dimension
    dimensions_.push_back(kDimensions[i]);
    scale_[i] = hi > lo ? hi - lo : 1.0;
  }
}

// Scaled Euclidean distance over the dimensions that a, b and `over` all define;
// nullopt when they share none.
std::optional<double> LevelMatcher::distance(const Distortion& a, const Distortion& b, const Distortion& over) const {
  double sum = 0;
  bool compared = false;
  for (size_t i = 0; i < kDimensions.size(); ++i) {
    const auto x = a.value(kDimensions[i]), y = b.value(kDimensions[i]);
    if (!x || !y || !over.has(kDimensions[i])) continue;
    const double d = (*x - *y) / scale_[i];
    sum += d * d;
    compared = true;
  }
  if (!compared) return std::nullopt;
  return std::sqrt(sum);
}

size_t LevelMatcher::nearest(const Distortion& measured, size_t current, double hysteresis) const {
  size_t best = current;
  double best_distance = std::numeric_limits<double>::infinity();
  std::optional<double> to_current;
  for (size_t l = 0; l < levels_.size(); ++l) {
    const auto d = distance(levels_[l], measured, measured);
    if (!d) continue;
    if (l == current) to_current = d;
    if (*d < best_distance) {
      best_distance = *d;
      best = l;
    }
  }
  if (best == current || !to_current || hysteresis <= 0) return best;
  const auto gap = distance(levels_[current], levels_[best], measured);
  if (!gap) return best;  // the two levels share no measured dimension
  return *to_current - best_distance > hysteresis * *gap ? best : current;
}

}  // namespace gearnn
