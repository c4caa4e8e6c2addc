#pragma once
// An H.264 round trip: frames encoded as one video by libx264 (through
// libavcodec) and decoded back by libavcodec's h264 decoder, the one behind
// avdec_h264, with the mean QP the decoder saw in each frame.
#include "distortion.h"
#include "image.h"

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

namespace gearnn {

struct H264Roundtrip {
  std::vector<RgbImage> frames;  // decoded, at the coded size
  std::vector<double> mean_qp;   // per frame: mean over macroblocks of (base qp + delta qp)
};

// Encodes at `size` (even sides; frames are scaled to it with libswscale) or,
// without one, at the frames' own size, which then must be the same for all
// (odd sides are padded by repeating the last row or column, and cropped off
// again after decoding). yuv420p, preset veryfast, keyframe every 30 frames,
// one thread in each codec and x264's SIMD capped at AVX2 (see h264.cpp), so
// that a run gives the same frames every time.
H264Roundtrip h264_roundtrip(const std::vector<RgbImage>& frames, int crf, std::optional<Resolution> size,
                             int fps = 30);

// The same, streamed: frame i is pulled from `source` when the encoder wants
// it, and each decoded frame goes to `sink` as soon as it is out, in order.
// Only the codecs' delay is held in memory.
using H264Source = std::function<RgbImage(size_t index)>;
using H264Sink = std::function<void(size_t index, RgbImage&& frame, double mean_qp)>;
void h264_roundtrip_stream(size_t count, const H264Source& source, const H264Sink& sink, int crf,
                           std::optional<Resolution> size, int fps = 30);

}  // namespace gearnn
