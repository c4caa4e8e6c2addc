#pragma once
// One setting applied to one image in memory: the pixels a model would see
// and what the runtime would measure on them.
#include "distort/distortion_setting.h"
#include "distort/h264.h"
#include "image.h"

namespace gearnn {

struct DistortedPixels {
  RgbImage image;
  Distortion measured;  // resolution; jpeg_quality or h264_qp where the setting makes them
  double mean_luma = 0;  // measure/stream_quality.h; brightness is relative to a bundle's reference
};

// h264 runs the image as a one-frame video (an I frame, so its QP is not
// that of a stream's P and B frames); distort_images encodes sequences.
// clean returns the image with its resolution.
DistortedPixels apply_distortion(const RgbImage& image, const DistortionSetting& setting);

H264RateControl h264_rate_of(const DistortionSetting& setting);

}  // namespace gearnn
