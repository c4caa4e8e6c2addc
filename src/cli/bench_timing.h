#pragma once
// What the `gearnn bench` commands share: the clock and the median they report.
#include <algorithm>
#include <chrono>
#include <vector>

namespace gearnn::cli {

using Clock = std::chrono::steady_clock;

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

inline double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
inline double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace gearnn::cli
