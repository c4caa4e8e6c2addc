#include "synthetic.h"

#include "data/random.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace gearnn::testing {
namespace fs = std::filesystem;

std::array<uint8_t, 3> class_colour(int c) {
  if (c == 255) return {0, 0, 0};
  return {uint8_t(1 + c), uint8_t(200 - (c * 7) % 150), uint8_t((c * 37) % 256)};
}

int class_of_colour(const uint8_t* rgb) { return rgb[0] == 0 ? 255 : rgb[0] - 1; }

SyntheticPair synthetic_pair(int width, int height, int classes, int void_value, uint64_t seed, int block) {
  SplitMix64 rng(seed);
  SyntheticPair p;
  p.image = {width, height, std::vector<uint8_t>(size_t(width) * size_t(height) * 3)};
  p.label = {width, height, std::vector<uint8_t>(size_t(width) * size_t(height))};
  const int cells_x = (width + block - 1) / block, cells_y = (height + block - 1) / block;
  std::vector<int> cell(size_t(cells_x) * size_t(cells_y));
  for (int& c : cell) c = rng.below(10) == 0 ? 255 : int(rng.below(uint64_t(classes)));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const int c = cell[size_t(y / block) * size_t(cells_x) + size_t(x / block)];
      const size_t i = size_t(y) * size_t(width) + size_t(x);
      const auto colour = class_colour(c);
      std::copy(colour.begin(), colour.end(), &p.image.pixels[i * 3]);
      p.label.classes[i] = uint8_t(c == 255 ? void_value : c);
    }
  return p;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error(path + ": cannot write");
}

SyntheticSet make_camvid(const std::string& root, const std::string& split, int count, int width, int height,
                         const std::vector<std::string>& sequences, int block) {
  fs::create_directories(fs::path(root) / split);
  fs::create_directories(fs::path(root) / (split + "annot"));
  SyntheticSet set{root, {}};
  std::string list;
  for (int i = 0; i < count; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%s_%06d", sequences[size_t(i) % sequences.size()].c_str(), 30 * i);
    const SyntheticPair p = synthetic_pair(width, height, 11, 11, uint64_t(1000 + i), block);
    const std::string image = split + "/" + name + ".png", label = split + "annot/" + name + ".png";
    write_png_rgb(root + "/" + image, p.image);
    write_png_gray(root + "/" + label, p.label);
    list += image + " " + label + "\n";
    set.names.push_back(name);
  }
  write_text_file(root + "/" + split + ".txt", list);
  return set;
}

SyntheticSet make_cityscapes(const std::string& root, const std::string& split, const std::vector<std::string>& cities,
                             int count, int width, int height) {
  SyntheticSet set{root, {}};
  int seed = 0;
  for (const auto& city : cities) {
    const fs::path images = fs::path(root) / "leftImg8bit" / split / city;
    const fs::path labels = fs::path(root) / "gtFine" / split / city;
    fs::create_directories(images);
    fs::create_directories(labels);
    for (int i = 0; i < count; ++i) {
      char name[96];
      std::snprintf(name, sizeof name, "%s_%06d_%06d", city.c_str(), i / 2, 19 + i);
      const SyntheticPair p = synthetic_pair(width, height, 19, 255, uint64_t(5000 + seed++));
      write_png_rgb((images / (std::string(name) + "_leftImg8bit.png")).string(), p.image);
      write_png_gray((labels / (std::string(name) + "_gtFine_labelTrainIds.png")).string(), p.label);
      set.names.push_back(name);
    }
  }
  return set;
}

}  // namespace gearnn::testing
