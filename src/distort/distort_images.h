#pragma once
// Distorted copies of a data set's images, made once and cached on disk.
#include "distort/distortion_setting.h"
#include "distortion.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace gearnn {

struct DistortedImage {
  std::string path;      // PNG of the decoded pixels (the source itself for clean)
  // Resolution always; jpeg_quality for jpeg; for h264 the QP the runtime
  // would measure at this frame of its sequence (measure/stream_quality.h).
  Distortion measured;
  std::optional<double> mean_luma;  // of the distorted pixels (not for clean, which reads nothing)
};

// Work done by one call, counted in units: an image, or an H.264 sequence.
struct DistortStats {
  size_t computed = 0, cached = 0;
};

// For every PNG in `image_paths`, its distorted version under
// cache_dir/<setting>/ and what was measured on it. Frames with equal
// `sequence_of` values form one H.264 video, in the order given; other
// settings treat images one by one. A unit's key is a hash of the setting, of
// the encoder's recipe for h264 (h264_recipe), and of each source's path,
// size and modification time; a unit whose record is
// already in the cache is read back, not encoded again. Files are written
// under temporary names and renamed, so processes may share a cache folder.
// `threads` workers share the units. clean writes nothing and returns the
// sources with their resolution.
std::vector<DistortedImage> distort_images(const std::vector<std::string>& image_paths,
                                           const std::vector<std::string>& sequence_of,
                                           const DistortionSetting& setting, const std::string& cache_dir,
                                           int threads, DistortStats* stats = nullptr);

}  // namespace gearnn
