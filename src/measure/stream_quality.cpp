#include "measure/stream_quality.h"

#include <algorithm>
#include <cstdint>

namespace gearnn {

double p_equivalent_qp(const H264FrameQp& frame) {
  switch (frame.type) {
    case H264FrameType::I: return frame.qp + kIFrameQpOffset;
    case H264FrameType::B: return frame.qp - kBFrameQpOffset;
    case H264FrameType::P: return frame.qp;
  }
  return frame.qp;
}

H264QualityWindow::H264QualityWindow(size_t size) : size_(std::clamp<size_t>(size, 1, kMaxQpWindow)) {}

void H264QualityWindow::set_size(size_t size) {
  size = std::clamp<size_t>(size, 1, kMaxQpWindow);
  if (size == size_) return;
  // Keep the latest min(old, new) frames, oldest first, at the ring's start.
  const size_t held = std::min(pushed_, size_), keep = std::min(held, size);
  std::array<Entry, kMaxQpWindow> latest;
  for (size_t k = 0; k < keep; ++k) latest[k] = ring_[(pushed_ - keep + k) % size_];
  std::copy_n(latest.begin(), keep, ring_.begin());
  size_ = size;
  // pushed_ only matters modulo size_ and as "how many are held"; restart it at `keep`.
  pushed_ = keep;
}

void H264QualityWindow::clear() { pushed_ = 0; }

void H264QualityWindow::push(const H264FrameQp& frame) {
  ring_[pushed_ % size_] = {p_equivalent_qp(frame), frame.type == H264FrameType::I};
  ++pushed_;
}

std::optional<double> H264QualityWindow::value() const {
  const size_t held = std::min(pushed_, size_);
  if (held == 0) return std::nullopt;
  double sums[2] = {0, 0};
  size_t counts[2] = {0, 0};
  for (size_t k = 0; k < held; ++k) {
    const Entry& e = ring_[k];
    sums[e.intra] += e.qp;
    ++counts[e.intra];
  }
  return counts[0] ? sums[0] / double(counts[0]) : sums[1] / double(counts[1]);
}

namespace {

// The mean of `luma(row, x)` over a grid of about 64 x 64 samples.
template <class Luma>
double grid_mean(int width, int height, Luma luma) {
  const int step_y = std::max(1, height / 64), step_x = std::max(1, width / 64);
  double sum = 0;
  int64_t n = 0;
  for (int y = 0; y < height; y += step_y)
    for (int x = 0; x < width; x += step_x) {
      sum += luma(y, x);
      ++n;
    }
  return n ? sum / double(n) : 0.0;
}

}  // namespace

double mean_luma(const RgbView& image) {
  return grid_mean(image.width, image.height, [&](int y, int x) {
    const uint8_t* p = image.data + size_t(y) * image.stride + size_t(x) * 3;
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  });
}

double mean_luma_of_y(const uint8_t* plane, int width, int height, size_t stride, bool limited_range) {
  return grid_mean(width, height, [&](int y, int x) {
    const double v = plane[size_t(y) * stride + x];
    return limited_range ? std::clamp((v - 16.0) * (255.0 / 219.0), 0.0, 255.0) : v;
  });
}

double luma_of_mean(const std::array<float, 3>& mean) {
  return 255.0 * (0.299 * mean[0] + 0.587 * mean[1] + 0.114 * mean[2]);
}

double relative_brightness(double mean_luma, double reference_luma) {
  return mean_luma / std::max(reference_luma, 1.0);
}

}  // namespace gearnn
