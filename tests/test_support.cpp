#include "test_support.h"

#include "image.h"
#include "random_bundle.h"

#include <algorithm>
#include <fstream>
#include <random>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <unistd.h>

namespace gearnn::testing {
namespace fs = std::filesystem;

namespace {

struct ScratchRoot {
  fs::path path;
  ScratchRoot() {
    path = fs::temp_directory_path() / ("gearnn-test-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~ScratchRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const fs::path& root() {
  static ScratchRoot r;
  return r.path;
}

}  // namespace

std::string scratch_dir(const std::string& name) {
  const fs::path dir = root() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string small_bundle(int levels) {
  static std::map<int, std::string> made;
  auto it = made.find(levels);
  if (it != made.end()) return it->second;
  RandomBundleOptions o;
  o.architecture = "drn_d_22";
  o.classes = 5;
  o.width = 0.125;
  o.levels = levels;
  o.budget = "2%";
  const std::string dir = scratch_dir("bundle-" + std::to_string(levels));
  write_random_bundle(dir, o);
  made[levels] = dir;
  return dir;
}

std::string make_shapes_dataset(const std::string& dir, int train_images, int val_images, int width, int height) {
  for (const char* sub : {"train", "trainannot", "val", "valannot"}) fs::create_directories(fs::path(dir) / sub);
  std::mt19937 rng(42);
  auto make = [&](const std::string& split, int count) {
    std::ofstream list(fs::path(dir) / (split + ".txt"));
    for (int n = 0; n < count; ++n) {
      RgbImage img{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
      ClassMap label{width, height, std::vector<uint8_t>(size_t(width) * height)};
      const int horizon = height / 3 + int(rng() % 5), strip = height - height / 5;
      const int car_x = int(rng() % unsigned(width / 2)), car_w = width / 4 + int(rng() % unsigned(width / 4));
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
          int cls = y < horizon ? 0 : (y > strip ? 4 : 3);  // Sky, Pavement, Road
          if (y > horizon && y < horizon + height / 4 && x >= car_x && x < car_x + car_w) cls = 8;  // Car
          static const uint8_t colour[11][3] = {{200, 220, 250}, {}, {}, {90, 90, 95}, {170, 150, 120}, {},
                                                 {},              {}, {150, 30, 30}, {}, {}};
          const size_t i = size_t(y) * width + x;
          for (int c = 0; c < 3; ++c) img.pixels[3 * i + c] = uint8_t(std::clamp(int(colour[cls][c]) + int(rng() % 21) - 10, 0, 255));
          label.classes[i] = (x == 0 || y == 0) ? 11 : uint8_t(cls);
        }
      const std::string name = std::string(n % 2 ? "SYNB" : "SYNA") + "_" + split + std::to_string(n);
      write_png_rgb((fs::path(dir) / split / (name + ".png")).string(), img);
      write_png_gray((fs::path(dir) / (split + "annot") / (name + ".png")).string(), label);
      list << split << "/" << name << ".png " << split << "annot/" << name << ".png\n";
    }
  };
  make("train", train_images);
  make("val", val_images);
  return dir;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace gearnn::testing
