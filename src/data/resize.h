#pragma once
// Resampling of class maps (frames resample with resize_rgb in distort/image_ops.h).
#include "image.h"

namespace gearnn {

// Nearest neighbour with pixel centres aligned: output pixel x reads input
// pixel floor((x + 0.5) * in / out), so an integer upscale repeats each pixel
// and a 2x downscale reads pixel 2x + 1. Throws gearnn::Error for an empty size.
ClassMap resize_nearest(const ClassMap& map, int width, int height);

}  // namespace gearnn
