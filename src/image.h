#pragma once
// Plain pixel containers shared by the CLI and the GStreamer elements.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gearnn {

// Packed RGB, 3 bytes a pixel, rows `stride` bytes apart. Borrowed, not owned.
struct RgbView {
  const uint8_t* data = nullptr;
  int width = 0, height = 0;
  size_t stride = 0;
};

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3
  RgbView view() const { return {pixels.data(), width, height, size_t(width) * 3}; }
};

// One class index per pixel, row-major, width * height bytes.
struct ClassMap {
  int width = 0, height = 0;
  std::vector<uint8_t> classes;
};

using Palette = std::vector<std::array<uint8_t, 3>>;

// Replaces each class index by its palette colour (black past the palette's end).
RgbImage colorize(const ClassMap& map, const Palette& palette);

// PNG files; errors name the file.
RgbImage read_png_rgb(const std::string& path);
ClassMap read_png_gray(const std::string& path);
void write_png_rgb(const std::string& path, const RgbImage& image);
void write_png_gray(const std::string& path, const ClassMap& map);

}  // namespace gearnn
