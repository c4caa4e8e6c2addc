#include "image.h"

#include "checked_file.h"
#include "error.h"

#include <png.h>

#include <cstring>

namespace gearnn {
namespace {

std::vector<uint8_t> read_png(const std::string& path, uint32_t format, int& width,
                              int& height) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  const std::vector<char> bytes = read_regular_file(path, kMaxImageFileBytes);
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    throw Error(path + ": cannot read PNG: " + image.message);
  image.format = format;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) {
    png_image_free(&image);
    throw Error(path + ": cannot decode PNG: " + image.message);
  }
  width = int(image.width);
  height = int(image.height);
  return pixels;
}

void write_png(const std::string& path, const uint8_t* pixels, int width, int height, uint32_t format) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = png_uint_32(width);
  image.height = png_uint_32(height);
  image.format = format;
  if (!png_image_write_to_file(&image, path.c_str(), 0, pixels, 0, nullptr))
    throw Error(path + ": cannot write PNG: " + image.message);
}

}  // namespace

RgbImage colorize(const ClassMap& map, const Palette& palette) {
  RgbImage out{map.width, map.height, std::vector<uint8_t>(map.classes.size() * 3, 0)};
  for (size_t i = 0; i < map.classes.size(); ++i) {
    const size_t c = map.classes[i];
    if (c < palette.size()) std::memcpy(&out.pixels[3 * i], palette[c].data(), 3);
  }
  return out;
}

RgbImage read_png_rgb(const std::string& path) {
  RgbImage out;
  out.pixels = read_png(path, PNG_FORMAT_RGB, out.width, out.height);
  return out;
}

ClassMap read_png_gray(const std::string& path) {
  ClassMap out;
  out.classes = read_png(path, PNG_FORMAT_GRAY, out.width, out.height);
  return out;
}

void write_png_rgb(const std::string& path, const RgbImage& image) {
  write_png(path, image.pixels.data(), image.width, image.height, PNG_FORMAT_RGB);
}

void write_png_gray(const std::string& path, const ClassMap& map) {
  write_png(path, map.classes.data(), map.width, map.height, PNG_FORMAT_GRAY);
}

}  // namespace gearnn
