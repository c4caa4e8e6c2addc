#pragma once
// One setting applied to one image in memory: the pixels a model would see
// and what the runtime would measure on them.
#include "distort/distortion_setting.h"
#include "image.h"

namespace gearnn {

struct DistortedPixels {
  RgbImage image;
  Distortion measured;
};

// h264 runs the image as a one-frame video (an IDR frame); use h264_roundtrip
// for sequences. clean returns the image with its resolution.
DistortedPixels apply_distortion(const RgbImage& image, const DistortionSetting& setting);

}  // namespace gearnn
