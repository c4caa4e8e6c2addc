#include "distort/apply.h"

#include "distort/h264.h"
#include "distort/image_ops.h"
#include "distort/jpeg.h"
#include "distort/jpeg_quality.h"
#include "error.h"
#include "measure/stream_quality.h"

namespace gearnn {

H264RateControl h264_rate_of(const DistortionSetting& setting) {
  return setting.bitrate_kbps > 0 ? H264RateControl::bitrate(setting.bitrate_kbps) : H264RateControl(setting.crf);
}

DistortedPixels apply_distortion(const RgbImage& image, const DistortionSetting& setting) {
  using Kind = DistortionSetting::Kind;
  DistortedPixels out;
  switch (setting.kind) {
    case Kind::clean: out.image = image; break;
    case Kind::jpeg: {
      const std::vector<uint8_t> bytes = encode_jpeg(image, setting.jpeg_quality);
      out.image = decode_jpeg(bytes.data(), bytes.size(), setting.text());
      out.measured.jpeg_quality = jpeg_quality_of(bytes.data(), bytes.size());
      break;
    }
    case Kind::brightness:
      out.image = adjust_brightness(image, setting.brightness);
      break;
    case Kind::resize:
      if (!setting.size) throw Error(setting.text() + ": resize needs a size");
      out.image = resize_rgb(image, setting.size->width, setting.size->height);
      break;
    case Kind::h264: {
      H264Roundtrip r = h264_roundtrip({image}, h264_rate_of(setting), setting.size);
      out.image = std::move(r.frames.at(0));
      out.measured.h264_qp = p_equivalent_qp(r.frame_qp.at(0));
      break;
    }
  }
  out.measured.resolution = Resolution{out.image.width, out.image.height};
  out.mean_luma = mean_luma(out.image.view());
  return out;
}

}  // namespace gearnn
