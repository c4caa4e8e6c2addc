#pragma once
// YUV 4:2:0 to packed RGB, pixel for pixel as the offline side decodes
// the frames that levels are trained and described on, so that a frame played
// through the elements reaches the network as the same bytes it had offline:
//  - full range, BT.601 (JPEG, JFIF): libjpeg's own decode to RGB, that is
//    its "fancy" (triangle) up-sampling of chroma and its fixed-point
//    YCbCr->RGB tables. The JPEG distortion decodes with libjpeg itself; a
//    test holds the two equal on jpegdec's frames.
//  - anything else (H.264 and other video): libswscale with the flags of the
//    offline H.264 decode, which converts with this class.
// Everything is set up in the constructor; convert() allocates nothing.
#include "image.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

struct SwsContext;

namespace gearnn {

// The three components of one frame: Y, Cb (U), Cr (V); chroma is
// ceil(width / 2) x ceil(height / 2). Planar (I420, YV12): chroma_step 1;
// interleaved chroma (NV12, NV21): chroma_step 2, the Cb and Cr pointers one
// byte apart in the same plane.
struct Yuv420View {
  std::array<const uint8_t*, 3> plane{};
  std::array<size_t, 3> stride{};
  size_t chroma_step = 1;
};

// swscale's bit-exact paths, so that pixels do not depend on the CPU's SIMD
// level: the H.264 distortion scales and converts with them.
int bitexact_swscale_flags();

enum class YuvRange { video, full };
enum class YuvMatrix { bt601, bt709, bt2020 };

class Yuv420ToRgb {
public:
  // Throws gearnn::Error for a size swscale cannot take.
  Yuv420ToRgb(int width, int height, YuvRange range, YuvMatrix matrix);
  ~Yuv420ToRgb();
  Yuv420ToRgb(const Yuv420ToRgb&) = delete;
  Yuv420ToRgb& operator=(const Yuv420ToRgb&) = delete;

  int width() const { return width_; }
  int height() const { return height_; }
  // The frame into `rgb`, rows `stride` bytes apart.
  void convert(const Yuv420View& frame, uint8_t* rgb, size_t stride);

private:
  void convert_jfif(const Yuv420View& frame, uint8_t* rgb, size_t stride);
  void convert_swscale(const Yuv420View& frame, uint8_t* rgb, size_t stride);

  // An odd side is coded one sample longer (H.264 codes whole chroma samples).
  int width_, height_, chroma_width_, chroma_height_, coded_width_, coded_height_;
  bool jfif_;
  // JFIF path: libjpeg's tables, and one up-sampled chroma row each.
  std::array<int, 256> cr_r_{}, cb_b_{}, cr_g_{}, cb_g_{};
  std::vector<int> column_sum_;
  std::vector<uint8_t> cb_row_, cr_row_;
  // swscale path: the planes copied with zeroed slack (swscale may read whole
  // SIMD words past a row's end), at these offsets and strides.
  SwsContext* sws_ = nullptr;
  std::vector<uint8_t> staging_;
  std::array<size_t, 3> staging_offset_{}, staging_stride_{};
  std::vector<uint8_t> coded_rgb_;  // odd sizes: the RGB at the coded size, cropped from
};

}  // namespace gearnn
