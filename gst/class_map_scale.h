// Nearest-neighbour lookup from a frame's pixels to a class map of another
// size, shared by gearnnoverlay and gearnnmask. The column table is built
// when a size changes, not per frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gstgearnn {

class ClassMapScale {
public:
  // For a map_width x map_height class map shown on a frame_width x frame_height frame.
  void prepare(int frame_width, int frame_height, int map_width, int map_height) {
    if (frame_width == frame_width_ && frame_height == frame_height_ && map_width == map_width_ &&
        map_height == map_height_)
      return;
    frame_width_ = frame_width;
    frame_height_ = frame_height;
    map_width_ = map_width;
    map_height_ = map_height;
    columns_.resize(size_t(frame_width));
    for (int x = 0; x < frame_width; ++x) columns_[size_t(x)] = unsigned(int64_t(x) * map_width / frame_width);
  }
  bool identity() const { return frame_width_ == map_width_ && frame_height_ == map_height_; }
  // The class-map row under frame row y, and the column under frame column x.
  const uint8_t* row(const uint8_t* class_map, int y) const {
    return class_map + size_t(int64_t(y) * map_height_ / frame_height_) * size_t(map_width_);
  }
  unsigned column(int x) const { return columns_[size_t(x)]; }

private:
  int frame_width_ = 0, frame_height_ = 0, map_width_ = 0, map_height_ = 0;
  std::vector<unsigned> columns_;
};

}  // namespace gstgearnn
