#include "offline_options.h"

#include "error.h"

#include <ATen/Parallel.h>

#include <set>
#include <sstream>
#include <thread>

namespace gearnn::cli {

std::vector<std::string> comma_items(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

namespace {
std::set<std::string> comma_list(const std::string& text) {
  const std::vector<std::string> items = comma_items(text);
  return {items.begin(), items.end()};
}
}  // namespace

std::vector<Option> data_options() {
  return {{"--data", "ROOT", "dataset folder (CamVid or Cityscapes layout)"},
          {"--exclude-sequence", "S,..", "leave out these sequences (e.g. 0006R0)"},
          {"--only-sequence", "S,..", "keep only these sequences"},
          {"--threads", "N", "LibTorch threads (default: all cores)"},
          {"--workers", "N", "data loading threads (default 2)"},
          {"--cache", "DIR", "cache of distorted images (default .gearnn-cache)"},
          {"--device", "D", "cpu (default) or cuda"}};
}

std::vector<Option> augment_options() {
  return {{"--resize", "WxH", "resize images (and labels, nearest) first"},
          {"--scale", "MIN,MAX", "random scale range (default 1,1)"},
          {"--crop", "WxH", "random crop"},
          {"--flip", "", "random horizontal flips"},
          {"--jitter", "J", "random brightness, contrast and saturation factors in [1-J, 1+J]"},
          {"--blur", "S", "half of the images blurred, Gaussian sigma in [0.3, S] pixels"},
          {"--noise", "S", "half of the images with Gaussian noise, sigma in [0, S] (0..255 units)"},
          {"--compress", "Q", "half of the images through JPEG at a quality in [Q, 95]"}};
}

Dataset open_dataset(const Args& args, const std::string& split_option, const std::string& default_split) {
  Dataset d = Dataset::open(args.require("--data"), args.get(split_option, default_split));
  if (args.has("--exclude-sequence")) {
    const auto out = comma_list(args.get("--exclude-sequence"));
    d = d.filtered([&](const Sample& s) { return !out.count(s.sequence); });
  }
  if (args.has("--only-sequence")) {
    const auto in = comma_list(args.get("--only-sequence"));
    d = d.filtered([&](const Sample& s) { return in.count(s.sequence) > 0; });
  }
  if (d.size() == 0) throw UsageError("no samples left in " + args.get("--data") + " after the sequence filters");
  return d;
}

AugmentOptions parse_augment(const Args& args) {
  AugmentOptions a;
  if (args.has("--resize")) std::tie(a.resize_width, a.resize_height) = parse_size("--resize", args.get("--resize"));
  if (args.has("--crop")) {
    std::tie(a.crop_width, a.crop_height) = parse_size("--crop", args.get("--crop"));
    // The network's output matches its input only at multiples of its output stride.
    if (a.crop_width % 8 != 0 || a.crop_height % 8 != 0)
      throw UsageError("--crop " + args.get("--crop") + ": width and height must be multiples of 8 (for example " +
                       std::to_string(a.crop_width / 8 * 8) + "x" + std::to_string(a.crop_height / 8 * 8) + ")");
  }
  if (args.has("--scale")) {
    std::istringstream in(args.get("--scale"));
    char comma = 0;
    if (!(in >> a.scale_min >> comma >> a.scale_max) || comma != ',' || !in.eof())
      throw UsageError("--scale needs MIN,MAX, not '" + args.get("--scale") + "'");
  }
  a.flip = args.has("--flip");
  const double j = args.get_double("--jitter", 0.0);
  a.brightness_jitter = a.contrast_jitter = a.saturation_jitter = j;
  a.blur_sigma_max = args.get_double("--blur", 0.0);
  a.noise_sigma_max = args.get_double("--noise", 0.0);
  a.compress_quality_min = args.get_int("--compress", 0);
  try {
    check_augment_options(a);
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
  return a;
}

std::vector<DistortionSetting> level_spec_option(const Args& args, const std::string& option) {
  try {
    return parse_level_spec(args.require(option));
  } catch (const Error& e) {
    throw UsageError(option + ": " + e.what());
  }
}

DistortionSetting setting_option(const Args& args, const std::string& option) {
  try {
    return parse_distortion_setting(args.require(option));
  } catch (const Error& e) {
    throw UsageError(option + ": " + e.what());
  }
}

int apply_threads(const Args& args) {
  const int threads = args.get_int("--threads", int(std::max(1u, std::thread::hardware_concurrency())));
  if (threads < 1) throw UsageError("--threads must be at least 1");
  at::set_num_threads(threads);
  return threads;
}

}  // namespace gearnn::cli
