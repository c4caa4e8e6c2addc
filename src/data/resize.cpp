#include "data/resize.h"

#include "error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gearnn {

ClassMap resize_nearest(const ClassMap& map, int width, int height) {
  if (map.width <= 0 || map.height <= 0 || width <= 0 || height <= 0)
    throw Error("resize_nearest: cannot resize " + std::to_string(map.width) + "x" + std::to_string(map.height) +
                " to " + std::to_string(width) + "x" + std::to_string(height));
  if (width == map.width && height == map.height) return map;
  std::vector<size_t> sx(static_cast<size_t>(width));
  for (int x = 0; x < width; ++x) sx[size_t(x)] = size_t((2 * int64_t(x) + 1) * map.width / (2 * int64_t(width)));
  ClassMap out{width, height, std::vector<uint8_t>(size_t(width) * size_t(height))};
  for (int y = 0; y < height; ++y) {
    const int64_t sy = (2 * int64_t(y) + 1) * map.height / (2 * int64_t(height));
    const uint8_t* src = &map.classes[size_t(sy) * size_t(map.width)];
    uint8_t* dst = &out.classes[size_t(y) * size_t(width)];
    for (int x = 0; x < width; ++x) dst[x] = src[sx[size_t(x)]];
  }
  return out;
}

}  // namespace gearnn
