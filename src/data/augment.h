#pragma once
// Training-time augmentation of one image and its label, in lock step so that
// every label pixel stays on the image pixel it describes.
#include "image.h"

#include <cstdint>

namespace gearnn {

struct AugmentOptions {
  int resize_width = 0, resize_height = 0;  // first resize to this (one of them 0: keep the aspect ratio; both 0: keep)
  double scale_min = 1.0, scale_max = 1.0;  // then a random scale
  int crop_width = 0, crop_height = 0;      // then a random crop, padded with 0 / void where smaller; 0 = that axis whole
  bool flip = false;                        // then a random horizontal flip
  double brightness_jitter = 0, contrast_jitter = 0, saturation_jitter = 0;  // random factors in [1-j, 1+j]
  // Then degradations, each on a random half of the images: a Gaussian blur of
  // sigma in [0.3, blur_sigma_max] pixels, Gaussian noise of sigma in
  // [0, noise_sigma_max] (0..255 units), a JPEG round trip at a quality in
  // [compress_quality_min, 95]. 0 = off.
  double blur_sigma_max = 0, noise_sigma_max = 0;
  int compress_quality_min = 0;
};

// Throws gearnn::Error naming the bad option.
void check_augment_options(const AugmentOptions& options);

// Images resize with resize_rgb (bilinear, antialiased when shrinking) and
// labels with resize_nearest. Every random draw comes from `seed` alone, in a
// fixed order whichever options are on. The label must have the image's size;
// void is Dataset::kIgnore.
void augment_pair(RgbImage& image, ClassMap& label, const AugmentOptions& options, uint64_t seed);

}  // namespace gearnn
