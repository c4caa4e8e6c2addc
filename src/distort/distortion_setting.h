#pragma once
// One distortion level as a generator makes it: which codec or operation, and
// its parameters. text() is canonical, so it serves as a level name and as a
// cache key.
#include "distortion.h"

#include <optional>
#include <string>
#include <vector>

namespace gearnn {

struct DistortionSetting {
  enum class Kind { clean, jpeg, h264, brightness, resize };
  Kind kind = Kind::clean;
  int jpeg_quality = 0;            // jpeg: IJG quality 1..100
  double brightness = 1.0;         // brightness: factor (pixel x f, clipped)
  int crf = 0;                     // h264: x264 CRF 0..51
  int bitrate_kbps = 0;            // h264: > 0 for a bitrate level (VBV-capped), then crf is unused
  std::optional<Resolution> size;  // h264 and resize: frame size the distortion runs at; none = the image's own

  // "clean", "jpeg:30", "brightness:0.4", "h264:320x240@28", "h264:@28",
  // "h264:320x240@300k" (kbit/s), "resize:240x180".
  std::string text() const;
};

bool operator==(const DistortionSetting& a, const DistortionSetting& b);
inline bool operator!=(const DistortionSetting& a, const DistortionSetting& b) { return !(a == b); }

// Inverse of text(); gearnn::Error saying what is wrong with `text`.
DistortionSetting parse_distortion_setting(const std::string& text);

// "jpeg:10,20,30", "brightness:0.1,1.5", "h264:480x360@18,320x240@28,240x180@200k",
// "resize:320x240,240x180", "clean", or several of these joined by ';'.
// Levels come out in the order written; a repeated level is an error.
std::vector<DistortionSetting> parse_level_spec(const std::string& spec);

}  // namespace gearnn
