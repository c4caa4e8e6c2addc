#include "data/dataset.h"

#include "checked_file.h"
#include "error.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gearnn {
namespace fs = std::filesystem;

namespace {

constexpr int kCamvidClasses = 11;
constexpr int kCamvidVoid = 11;
constexpr int kCityscapesClasses = 19;
const std::string kImageSuffix = "_leftImg8bit.png";
const std::string kLabelSuffix = "_gtFine_labelTrainIds.png";

std::string stem_of(const std::string& path) { return fs::path(path).stem().string(); }

// The original SegNet list files name absolute paths such as
// /SegNet/CamVid/train/x.png; those resolve to <root>/train/x.png.
std::string resolve_listed(const fs::path& root, const std::string& entry) {
  const fs::path p(entry);
  if (p.is_relative()) return (root / p).lexically_normal().string();
  if (fs::exists(p)) return p.string();
  const fs::path tail = p.parent_path().filename() / p.filename();
  const fs::path under_root = root / tail;
  return fs::exists(under_root) ? under_root.string() : p.string();
}

std::vector<Sample> read_camvid_list(const fs::path& root, const fs::path& list) {
  const std::vector<char> text = read_regular_file(list.string(), kMaxTextFileBytes);
  std::istringstream in(std::string(text.begin(), text.end()));
  std::vector<Sample> samples;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream fields(line);
    std::string image, label, extra;
    if (!(fields >> image) || image[0] == '#') continue;  // blank line or comment
    if (!(fields >> label) || (fields >> extra))
      throw Error(list.string() + ":" + std::to_string(number) + ": expected 'IMAGE LABEL', got '" +
                  escape_untrusted(line) + "'");
    Sample s;
    s.image_path = resolve_listed(root, image);
    s.label_path = resolve_listed(root, label);
    s.name = stem_of(s.image_path);
    s.sequence = s.name.substr(0, s.name.find('_'));
    for (const std::string* path : {&s.image_path, &s.label_path})
      if (!fs::is_regular_file(*path))
        throw Error(list.string() + ":" + std::to_string(number) + ": no such file " + *path);
    samples.push_back(std::move(s));
  }
  if (samples.empty()) throw Error(list.string() + ": list file names no samples");
  return samples;
}

std::vector<Sample> read_cityscapes(const fs::path& root, const std::string& split) {
  const fs::path images = root / "leftImg8bit" / split;
  const fs::path labels = root / "gtFine" / split;
  std::vector<fs::path> cities;
  for (const auto& entry : fs::directory_iterator(images))
    if (entry.is_directory()) cities.push_back(entry.path());
  std::sort(cities.begin(), cities.end());

  std::vector<Sample> samples;
  for (const fs::path& city : cities) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(city)) {
      const std::string file = entry.path().filename().string();
      if (file.size() > kImageSuffix.size() && file.compare(file.size() - kImageSuffix.size(), kImageSuffix.size(), kImageSuffix) == 0)
        names.push_back(file.substr(0, file.size() - kImageSuffix.size()));
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      Sample s;
      s.name = name;
      s.image_path = (city / (name + kImageSuffix)).string();
      s.label_path = (labels / city.filename() / (name + kLabelSuffix)).string();
      s.sequence = name.substr(0, name.rfind('_'));
      if (!fs::is_regular_file(s.label_path)) throw Error(s.label_path + ": no such label file for " + s.image_path);
      samples.push_back(std::move(s));
    }
  }
  if (samples.empty()) throw Error(images.string() + ": no *" + kImageSuffix + " files in its city folders");
  return samples;
}

}  // namespace

Dataset Dataset::open(const std::string& root, const std::string& split) {
  const fs::path r(root);
  if (!fs::is_directory(r)) throw Error(root + ": dataset folder does not exist");
  if (split.empty()) throw Error(root + ": empty split name");
  Dataset d;
  d.root_ = root;
  d.split_ = split;
  try {
    if (fs::is_regular_file(r / (split + ".txt"))) {
      d.layout_ = "camvid";
      d.samples_ = read_camvid_list(r, r / (split + ".txt"));
    } else if (fs::is_directory(r / "leftImg8bit" / split)) {
      d.layout_ = "cityscapes";
      d.samples_ = read_cityscapes(r, split);
    } else {
      throw Error(root + ": no split '" + split + "': neither " + (r / (split + ".txt")).string() +
                  " (CamVid layout) nor " + (r / "leftImg8bit" / split).string() + " (Cityscapes layout) exists");
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(root + ": cannot list dataset: " + e.what());
  }
  return d;
}

const Sample& Dataset::sample(size_t i) const {
  if (i >= samples_.size())
    throw Error(root_ + ": sample " + std::to_string(i) + " out of range (" + std::to_string(samples_.size()) + " samples)");
  return samples_[i];
}

std::vector<ClassInfo> Dataset::classes() const { return builtin_classes(layout_); }

RgbImage Dataset::load_image(size_t i) const { return read_png_rgb(sample(i).image_path); }

ClassMap Dataset::load_label(size_t i) const {
  const std::string& path = sample(i).label_path;
  ClassMap map = read_png_gray(path);
  const bool camvid = layout_ == "camvid";
  const int classes = camvid ? kCamvidClasses : kCityscapesClasses;
  for (size_t p = 0; p < map.classes.size(); ++p) {
    uint8_t& v = map.classes[p];
    if (v < classes || v == kIgnore) continue;
    if (camvid && v == kCamvidVoid) {
      v = kIgnore;
      continue;
    }
    throw Error(path + ": label value " + std::to_string(v) + " at (" + std::to_string(p % size_t(map.width)) + ", " +
                std::to_string(p / size_t(map.width)) + ") is neither a class (0.." + std::to_string(classes - 1) +
                ") nor void (" + (camvid ? "11 or 255" : "255") + ")");
  }
  return map;
}

Dataset Dataset::filtered(const std::function<bool(const Sample&)>& keep) const {
  Dataset d;
  d.root_ = root_;
  d.split_ = split_;
  d.layout_ = layout_;
  std::copy_if(samples_.begin(), samples_.end(), std::back_inserter(d.samples_), keep);
  return d;
}

}  // namespace gearnn
