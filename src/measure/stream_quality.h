#pragma once
// The definitions of what is measured on a stream, one per dimension, used
// by the runtime on live frames and by the offline side to describe a level
// by its own training frames. A bundle's levels record kMeasureVersion; one
// described under another version is refused (gearnn bundle redescribe).
//
// - resolution: the frame's width and height (the caps at run time).
// - h264_qp: each frame's slice QP (measure/h264_slice.h) made P-equivalent
//   by x264's default frame-type ratios, averaged over a window of recent
//   frames in which I frames count only while there is nothing else.
// - jpeg_quality: the luma quantisation table inverted to the IJG quality
//   (distort/jpeg_quality.h).
// - brightness: the frame's mean luma over a reference luma (that of the
//   bundle's normalisation mean, the training data's mean colour).
#include "image.h"
#include "measure/h264_slice.h"

#include <array>
#include <cstddef>
#include <optional>

namespace gearnn {

// 1: h264_qp was the mean macroblock QP of the decoder, brightness the
// requested factor. 2: the definitions above.
constexpr int kMeasureVersion = 2;

// x264's defaults ipratio 1.40 and pbratio 1.30 as QP steps (6 log2 ratio):
// I frames sit this far below P frames of the same quality, B frames above.
constexpr double kIFrameQpOffset = 2.91;
constexpr double kBFrameQpOffset = 2.27;
constexpr size_t kDefaultQpWindow = 8;
constexpr size_t kMaxQpWindow = 1000;

double p_equivalent_qp(const H264FrameQp& frame);

// The stream's H.264 quality: the mean P-equivalent QP of the last `size`
// frames. I frames count only while the window holds no P or B frame, so the
// first I frame of a representation gives an estimate that the next frames
// replace. Holds no heap memory per frame.
class H264QualityWindow {
public:
  explicit H264QualityWindow(size_t size = kDefaultQpWindow);
  void set_size(size_t size);  // 1..kMaxQpWindow; keeps the latest frames
  size_t size() const { return size_; }
  void clear();
  void push(const H264FrameQp& frame);
  std::optional<double> value() const;
  size_t frames_since_clear() const { return pushed_; }

private:
  struct Entry {
    double qp;
    bool intra;
  };
  std::array<Entry, kMaxQpWindow> ring_{};
  size_t size_, pushed_ = 0;
};

// Mean luma (BT.601 weights, 0..255) over a grid of about 64 x 64 samples.
double mean_luma(const RgbView& image);
// The same from the Y plane of a YUV frame, on the same grid: a limited-range
// Y (16..235) is scaled to 0..255. It equals mean_luma of the frame's RGB
// where the stream is coded with BT.601's matrix (up to rounding), without
// converting the frame; with BT.709's it is that matrix's luma.
double mean_luma_of_y(const uint8_t* y, int width, int height, size_t stride, bool limited_range);
// The luma (0..255) of a normalisation mean given as RGB after /255.
double luma_of_mean(const std::array<float, 3>& mean);
// Relative brightness: 1 = as bright as the reference.
double relative_brightness(double mean_luma, double reference_luma);

}  // namespace gearnn
