#pragma once
// What the `gearnn bench` commands share: the clock, the median they report
// and the synthetic frame they time.
#include "image.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace gearnn::cli {

using Clock = std::chrono::steady_clock;

// The mean of the middle two for an even count; 0 for none.
inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs `run(i)` (which returns a time) for every i below `count`, in
// `rounds` rounds, each round starting one item later than the one before,
// so that a slow spell of a shared machine falls on every item alike.
// Returns each item's times, one per round.
template <class Run>
std::vector<std::vector<double>> time_in_rounds(size_t count, size_t rounds, Run run) {
  std::vector<std::vector<double>> times(count);
  for (size_t r = 0; r < rounds; ++r)
    for (size_t k = 0; k < count; ++k) {
      const size_t i = (k + r) % count;
      times[i].push_back(run(i));
    }
  return times;
}

// The median over rounds of `item`'s time over `reference`'s in the same
// round (rounds where the reference took no time left out); 0 if none is left.
inline double paired_share(const std::vector<double>& item, const std::vector<double>& reference) {
  std::vector<double> shares;
  for (size_t r = 0; r < item.size() && r < reference.size(); ++r)
    if (reference[r] > 0) shares.push_back(item[r] / reference[r]);
  return median(shares);
}

inline double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
inline double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Gradients, stripes and blocks: enough structure that no class wins everywhere.
inline RgbImage synthetic_frame(int width, int height) {
  RgbImage img{width, height, std::vector<uint8_t>(size_t(width) * size_t(height) * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &img.pixels[(size_t(y) * size_t(width) + size_t(x)) * 3];
      const bool block = ((x / 37) + (y / 23)) % 3 == 0;
      p[0] = uint8_t(block ? 200 : (x * 255) / std::max(1, width - 1));
      p[1] = uint8_t(block ? 40 : (y * 255) / std::max(1, height - 1));
      p[2] = uint8_t(((x / 5 + y / 4) % 2) ? 170 : 50);
    }
  return img;
}


}  // namespace gearnn::cli
