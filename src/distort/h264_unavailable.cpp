// Built with -Dffmpeg=disabled: the H.264 generator is not there, and asking
// for it says so instead of failing to link.
#include "distort/h264.h"

#include "error.h"

namespace gearnn {

namespace {
[[noreturn]] void unavailable() {
  throw Error("H.264 distortions need FFmpeg's libraries; this build was configured with -Dffmpeg=disabled");
}
}  // namespace

std::string h264_recipe() { return "unavailable"; }

void h264_roundtrip_stream(size_t, const H264Source&, const H264Sink&, const H264RateControl&,
                           std::optional<Resolution>, int, const H264PacketSink&) {
  unavailable();
}

H264Roundtrip h264_roundtrip(const std::vector<RgbImage>&, const H264RateControl&, std::optional<Resolution>, int) {
  unavailable();
}

}  // namespace gearnn
