#pragma once
// Segmentation datasets on disk: the CamVid (SegNet) layout of list files and
// the Cityscapes folder layout. Labels come back as class indices with every
// void pixel set to Dataset::kIgnore.
#include "image.h"
#include "manifest.h"

#include <functional>
#include <string>
#include <vector>

namespace gearnn {

struct Sample {
  std::string name;        // file name without folder and suffix
  std::string image_path;
  std::string label_path;
  std::string sequence;    // CamVid "0016E5"; Cityscapes "aachen_000000" (city + sequence number)
};

class Dataset {
public:
  static constexpr int kIgnore = 255;

  // CamVid: <root>/<split>.txt lists "image label" pairs relative to root;
  // labels are 8-bit class indices 0..10 and 11 is void.
  // Cityscapes: <root>/leftImg8bit/<split>/<city>/*_leftImg8bit.png with
  // <root>/gtFine/<split>/<city>/*_gtFine_labelTrainIds.png; 0..18, 255 is void.
  // Every file is checked to exist here. Errors name the root or the file.
  static Dataset open(const std::string& root, const std::string& split);

  const std::string& root() const { return root_; }
  const std::string& split() const { return split_; }
  const std::string& layout() const { return layout_; }  // "camvid" or "cityscapes"
  size_t size() const { return samples_.size(); }
  const Sample& sample(size_t i) const;
  const std::vector<Sample>& samples() const { return samples_; }
  std::vector<ClassInfo> classes() const;

  // Both throw gearnn::Error naming the file when it cannot be read or a label
  // holds a value that is neither a class nor void. Safe to call from several threads.
  RgbImage load_image(size_t i) const;
  ClassMap load_label(size_t i) const;

  // The samples for which `keep` is true, in the same order (may be empty).
  Dataset filtered(const std::function<bool(const Sample&)>& keep) const;

private:
  std::string root_, split_, layout_;
  std::vector<Sample> samples_;
};

}  // namespace gearnn
