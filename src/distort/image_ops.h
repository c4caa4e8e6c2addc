#pragma once
// Pixel operations of the distortion generators.
#include "image.h"

namespace gearnn {

// Resamples with a triangle (bilinear) filter widened by the scale factor when
// shrinking, so a downscale averages every source pixel it covers (Pillow's
// BILINEAR with antialiasing). Same size returns a copy.
RgbImage resize_rgb(const RgbImage& image, int width, int height);

// Pillow's ImageEnhance.Brightness: a blend with black, so each channel
// becomes value x factor, computed in single precision, clipped to 0..255 and
// truncated toward zero (101 x 0.5 gives 50).
RgbImage adjust_brightness(const RgbImage& image, double factor);

}  // namespace gearnn
