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

size_t LevelMatcher::nearest(const Distortion& measured, size_t fallback) const {
  size_t best = fallback;
  double best_distance = std::numeric_limits<double>::infinity();
  for (size_t l = 0; l < levels_.size(); ++l) {
    double distance = 0;
    bool compared = false;
    for (size_t i = 0; i < kDimensions.size(); ++i) {
      const auto a = levels_[l].value(kDimensions[i]);
      const auto b = measured.value(kDimensions[i]);
      if (!a || !b) continue;
      const double d = (*a - *b) / scale_[i];
      distance += d * d;
      compared = true;
    }
    if (compared && distance < best_distance) {
      best_distance = distance;
      best = l;
    }
  }
  return best;
}

}  // namespace gearnn
