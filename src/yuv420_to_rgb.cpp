#include "yuv420_to_rgb.h"

#include "error.h"

#include <algorithm>
#include <cstring>
#include <string>

extern "C" {
#include <libswscale/swscale.h>
}

namespace gearnn {
namespace {

// libjpeg's fixed point (jdcolor.c): 16 fraction bits, rounded constants.
constexpr int kScaleBits = 16;
constexpr int kHalf = 1 << (kScaleBits - 1);
constexpr int fix(double x) { return int(x * (1 << kScaleBits) + 0.5); }

uint8_t clamp_byte(int v) { return uint8_t(std::clamp(v, 0, 255)); }

int swscale_colorspace(YuvMatrix m) {
  switch (m) {
    case YuvMatrix::bt709: return SWS_CS_ITU709;
    case YuvMatrix::bt2020: return SWS_CS_BT2020;
    case YuvMatrix::bt601: break;
  }
  return SWS_CS_ITU601;
}

constexpr size_t kSlack = 64;
size_t padded(size_t bytes) { return (bytes + kSlack - 1) / kSlack * kSlack; }

}  // namespace

int bitexact_swscale_flags() { return SWS_BICUBIC | SWS_ACCURATE_RND | SWS_BITEXACT; }

Yuv420ToRgb::Yuv420ToRgb(int width, int height, YuvRange range, YuvMatrix matrix)
    : width_(width),
      height_(height),
      chroma_width_((width + 1) / 2),
      chroma_height_((height + 1) / 2),
      coded_width_(chroma_width_ * 2),
      coded_height_(chroma_height_ * 2),
      jfif_(range == YuvRange::full && matrix == YuvMatrix::bt601) {
  if (width < 1 || height < 1)
    throw Error("cannot convert a " + std::to_string(width) + "x" + std::to_string(height) + " frame to RGB");
  if (jfif_) {
    for (int i = 0; i < 256; ++i) {
      const int x = i - 128;
      cr_r_[size_t(i)] = (fix(1.40200) * x + kHalf) >> kScaleBits;
      cb_b_[size_t(i)] = (fix(1.77200) * x + kHalf) >> kScaleBits;
      cr_g_[size_t(i)] = -fix(0.71414) * x;
      cb_g_[size_t(i)] = -fix(0.34414) * x + kHalf;
    }
    column_sum_.resize(size_t(chroma_width_));
    cb_row_.resize(size_t(chroma_width_) * 2);
    cr_row_.resize(size_t(chroma_width_) * 2);
    return;
  }
  // An odd-sized picture is the even-sized one cropped: the offline side
  // converts it at the even size and crops the RGB. Scaling chroma to the odd
  // size instead moves every sample.
  sws_ = sws_getContext(coded_width_, coded_height_, AV_PIX_FMT_YUV420P, coded_width_, coded_height_, AV_PIX_FMT_RGB24,
                        bitexact_swscale_flags() | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
  if (!sws_) throw Error("swscale cannot convert " + std::to_string(width) + "x" + std::to_string(height) + " frames");
  // yuv420p is video range, BT.601 by default: the offline decode's case, left as it is.
  if (range == YuvRange::full || matrix != YuvMatrix::bt601) {
    const int* coefficients = sws_getCoefficients(swscale_colorspace(matrix));
    sws_setColorspaceDetails(sws_, coefficients, range == YuvRange::full ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT),
                             1, 0, 1 << 16, 1 << 16);
  }
  staging_stride_ = {padded(size_t(coded_width_)), padded(size_t(chroma_width_)), padded(size_t(chroma_width_))};
  staging_offset_ = {0, staging_stride_[0] * size_t(coded_height_),
                     staging_stride_[0] * size_t(coded_height_) + staging_stride_[1] * size_t(chroma_height_)};
  staging_.assign(staging_offset_[2] + staging_stride_[2] * size_t(chroma_height_) + kSlack, 0);
  if (coded_width_ != width || coded_height_ != height) coded_rgb_.resize(size_t(coded_width_) * coded_height_ * 3);
}

Yuv420ToRgb::~Yuv420ToRgb() { sws_freeContext(sws_); }

void Yuv420ToRgb::convert(const Yuv420View& frame, uint8_t* rgb, size_t stride) {
  if (jfif_)
    convert_jfif(frame, rgb, stride);
  else
    convert_swscale(frame, rgb, stride);
}

// libjpeg's h2v2 fancy up-sampling (jdsample.c): each output chroma sample is
// 9/16 of the nearest input sample, 3/16 of each of the next nearest in its row
// and column and 1/16 of the diagonal one, with libjpeg's alternating rounding
// (+8 left, +7 right); the edges repeat the first and last row and column.
void Yuv420ToRgb::convert_jfif(const Yuv420View& frame, uint8_t* rgb, size_t stride) {
  const int last_column = chroma_width_ - 1;
  for (int y = 0; y < height_; ++y) {
    const int near_row = y / 2;
    const int far_row = std::clamp(y % 2 ? near_row + 1 : near_row - 1, 0, chroma_height_ - 1);
    for (int c = 0; c < 2; ++c) {
      const uint8_t* near = frame.plane[size_t(1 + c)] + size_t(near_row) * frame.stride[size_t(1 + c)];
      const uint8_t* far = frame.plane[size_t(1 + c)] + size_t(far_row) * frame.stride[size_t(1 + c)];
      const size_t step = frame.chroma_step;
      for (int x = 0; x <= last_column; ++x)
        column_sum_[size_t(x)] = 3 * near[size_t(x) * step] + far[size_t(x) * step];
      uint8_t* out = (c == 0 ? cb_row_ : cr_row_).data();
      for (int x = 0; x <= last_column; ++x) {
        const int here = column_sum_[size_t(x)];
        const int left = x > 0 ? 3 * here + column_sum_[size_t(x - 1)] + 8 : 4 * here + 8;
        const int right = x < last_column ? 3 * here + column_sum_[size_t(x + 1)] + 7 : 4 * here + 7;
        out[2 * x] = uint8_t(left >> 4);
        out[2 * x + 1] = uint8_t(right >> 4);
      }
    }
    const uint8_t* luma = frame.plane[0] + size_t(y) * frame.stride[0];
    uint8_t* out = rgb + size_t(y) * stride;
    for (int x = 0; x < width_; ++x, out += 3) {
      const int l = luma[x], cb = cb_row_[size_t(x)], cr = cr_row_[size_t(x)];
      out[0] = clamp_byte(l + cr_r_[size_t(cr)]);
      out[1] = clamp_byte(l + ((cb_g_[size_t(cb)] + cr_g_[size_t(cr)]) >> kScaleBits));
      out[2] = clamp_byte(l + cb_b_[size_t(cb)]);
    }
  }
}

void Yuv420ToRgb::convert_swscale(const Yuv420View& frame, uint8_t* rgb, size_t stride) {
  const int rows[3] = {height_, chroma_height_, chroma_height_};
  const size_t row_bytes[3] = {size_t(width_), size_t(chroma_width_), size_t(chroma_width_)};
  const uint8_t* src[4] = {};
  int src_stride[4] = {};
  for (size_t p = 0; p < 3; ++p) {
    uint8_t* to = staging_.data() + staging_offset_[p];
    const size_t step = p == 0 ? 1 : frame.chroma_step;
    for (int r = 0; r < rows[p]; ++r) {
      const uint8_t* row = frame.plane[p] + size_t(r) * frame.stride[p];
      uint8_t* out = to + size_t(r) * staging_stride_[p];
      if (step == 1)
        std::memcpy(out, row, row_bytes[p]);
      else
        for (size_t x = 0; x < row_bytes[p]; ++x) out[x] = row[x * step];
    }
    src[p] = to;
    src_stride[p] = int(staging_stride_[p]);
  }
  // An odd size's extra luma column and row only reach the RGB that is cropped off.
  const bool cropped = !coded_rgb_.empty();
  uint8_t* dst[4] = {cropped ? coded_rgb_.data() : rgb, nullptr, nullptr, nullptr};  // sws_scale reads all four
  const int dst_stride[4] = {cropped ? coded_width_ * 3 : int(stride), 0, 0, 0};
  sws_scale(sws_, src, src_stride, 0, coded_height_, dst, dst_stride);
  if (!cropped) return;
  for (int y = 0; y < height_; ++y)
    std::memcpy(rgb + size_t(y) * stride, coded_rgb_.data() + size_t(y) * size_t(coded_width_) * 3,
                size_t(width_) * 3);
}

}  // namespace gearnn
