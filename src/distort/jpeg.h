#pragma once
// JPEG through libjpeg(-turbo), set up as Pillow saves: IJG quality tables
// (baseline), 4:2:0 chroma, the default integer DCT, no Huffman optimisation.
#include "image.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gearnn {

// quality: IJG 1..100. Throws gearnn::Error for a bad image or quality.
std::vector<uint8_t> encode_jpeg(const RgbImage& image, int quality);

// Decodes to RGB. Corrupt or truncated data is an error (libjpeg's warnings
// included), named by `name_for_errors`.
RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name_for_errors);

}  // namespace gearnn
