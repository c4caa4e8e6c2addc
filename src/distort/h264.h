#pragma once
// An H.264 round trip: frames encoded as one video by libx264 (through
// libavcodec) and decoded back by libavcodec's h264 decoder, the one behind
// avdec_h264, with each frame's slice QP and type read from the encoded
// bitstream by the same reader the runtime uses (measure/h264_slice.h).
#include "distortion.h"
#include "image.h"
#include "measure/h264_slice.h"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gearnn {

// x264's rate control: constant rate factor, or an average bitrate capped
// by a VBV of the same rate and a 2 s buffer (how ABR ladders are defined).
struct H264RateControl {
  int crf = 23;
  int bitrate_kbps = 0;  // > 0: bitrate mode, crf unused
  H264RateControl(int crf_ = 23) : crf(crf_) {}  // NOLINT: a CRF reads as a rate control
  static H264RateControl bitrate(int kbps) {
    H264RateControl r;
    r.bitrate_kbps = kbps;
    return r;
  }
};

struct H264Roundtrip {
  std::vector<RgbImage> frames;       // decoded, at the coded size, in display order
  std::vector<H264FrameQp> frame_qp;  // per frame: slice QP and frame type from the bitstream
};

// The encoder's settings apart from the rate control, as one line: part of
// every cache key, so that a change of recipe makes new pixels.
std::string h264_recipe();

// Encodes at `size` (even sides; frames are scaled to it with libswscale) or,
// without one, at the frames' own size, which then must be the same for all
// (odd sides are padded by repeating the last row or column, and cropped off
// again after decoding). yuv420p, x264's default preset (medium: B frames,
// adaptive quantisation and mbtree on, as services encode), a fixed GOP of
// 30 frames without scene-cut keyframes (as ABR packagers set it), one
// thread in each codec and x264's SIMD capped at AVX2 (see h264.cpp), so
// that a run gives the same frames every time.
H264Roundtrip h264_roundtrip(const std::vector<RgbImage>& frames, const H264RateControl& rate,
                             std::optional<Resolution> size, int fps = 30);

// The same, streamed: frame i is pulled from `source` when the encoder wants
// it, and each decoded frame goes to `sink` as soon as it is out, in order.
// Only the codecs' delay is held in memory.
using H264Source = std::function<RgbImage(size_t index)>;
using H264Sink = std::function<void(size_t index, RgbImage&& frame, const H264FrameQp& qp)>;
// Each encoded access unit (Annex B, in decoding order), for writing the stream itself.
using H264PacketSink = std::function<void(const uint8_t* data, size_t size)>;
void h264_roundtrip_stream(size_t count, const H264Source& source, const H264Sink& sink, const H264RateControl& rate,
                           std::optional<Resolution> size, int fps = 30, const H264PacketSink& packets = {});

}  // namespace gearnn
