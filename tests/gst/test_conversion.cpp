// The frames the gearnn element feeds the network are the frames the offline
// side trained and described the levels on, byte for byte: a JPEG decoded by
// jpegdec and converted by the element equals libjpeg's own RGB decode (the
// JPEG distortion's), and an x264 stream decoded by avdec_h264 and converted
// by the element equals the offline H.264 round trip's frames; the same
// samples repacked as YV12, NV12 or NV21 (as other decoders give them)
// convert to the same bytes.
#include "distort/h264.h"
#include "distort/jpeg.h"
#include "distort/synthetic.h"
#include "gst_test_support.h"
#include "stream_engine.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <fstream>

using gearnn::testing::pattern_image;
using gearnn::testing::scratch_dir;
using gsttest::samples_from_appsink;

namespace {

// What the element's engine makes of a decoded sample, as packed RGB rows.
gearnn::RgbImage engine_rgb(gstgearnn::StreamEngine& engine, GstSample* sample) {
  GstVideoInfo info;
  EXPECT_TRUE(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
  engine.set_format(info);
  GstVideoFrame frame;
  EXPECT_TRUE(gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ));
  const gearnn::RgbView v = engine.rgb(frame);
  gearnn::RgbImage out{v.width, v.height, {}};
  for (int y = 0; y < v.height; ++y)
    out.pixels.insert(out.pixels.end(), v.data + size_t(y) * v.stride, v.data + size_t(y) * v.stride + v.width * 3);
  gst_video_frame_unmap(&frame);
  return out;
}

size_t differing_bytes(const gearnn::RgbImage& a, const gearnn::RgbImage& b) {
  if (a.width != b.width || a.height != b.height) return a.pixels.size() + b.pixels.size();
  size_t n = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) n += a.pixels[i] != b.pixels[i];
  return n;
}

// The decoder's I420 as it comes, and repacked (videoconvert only moves samples
// between these layouts).
const char* const kLayouts[] = {"I420", "YV12", "NV12", "NV21"};
std::string repacked_as(const std::string& layout) {
  return layout == "I420" ? "" : " ! videoconvert ! video/x-raw,format=" + layout;
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

}  // namespace

TEST(ElementConversion, JpegFramesReachTheNetworkAsLibjpegDecodesThem) {
  gstgearnn::StreamEngine engine(gsttest::abr_bundle(), "cpu");
  const std::string dir = scratch_dir("conversion-jpeg");
  for (const auto& [w, h] : {std::pair{64, 48}, std::pair{67, 45}, std::pair{320, 240}}) {
    for (int quality : {30, 95}) {
      const std::vector<uint8_t> jpeg = gearnn::encode_jpeg(pattern_image(w, h, quality), quality);
      const std::string path = dir + "/frame.jpg";
      write_file(path, jpeg);
      const gearnn::RgbImage expected = gearnn::decode_jpeg(jpeg.data(), jpeg.size(), path);
      for (const std::string layout : kLayouts) {
        // jpegdec's default IDCT is libjpeg's fast one; the offline side decodes with the accurate one.
        std::vector<GstSample*> samples = samples_from_appsink(
            "filesrc location=" + path + " ! jpegparse ! jpegdec idct-method=islow" + repacked_as(layout) +
            " ! appsink name=out");
        ASSERT_EQ(samples.size(), 1u);
        GstVideoInfo info;
        ASSERT_TRUE(gst_video_info_from_caps(&info, gst_sample_get_caps(samples[0])));
        ASSERT_EQ(gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)), layout)
            << "jpegdec no longer gives I420 for 4:2:0";
        EXPECT_EQ(GST_VIDEO_INFO_COLORIMETRY(&info).range, GST_VIDEO_COLOR_RANGE_0_255);
        EXPECT_EQ(differing_bytes(engine_rgb(engine, samples[0]), expected), 0u)
            << w << "x" << h << " quality " << quality << " " << layout;
        gst_sample_unref(samples[0]);
      }
    }
  }
}

// Odd sizes too: the offline side encodes an odd-sized image padded to even
// sides and crops the decoded RGB; at run time `videocrop` plays the part of a
// stream whose SPS crops its even-sized pictures.
TEST(ElementConversion, H264FramesReachTheNetworkAsTheOfflineDecodeGivesThem) {
  gstgearnn::StreamEngine engine(gsttest::abr_bundle(), "cpu");
  for (const auto& [w, h] : {std::pair{96, 64}, std::pair{95, 63}}) {
    const std::string path = scratch_dir("conversion-h264") + "/stream.h264";
    std::vector<gearnn::RgbImage> offline;
    std::vector<uint8_t> stream;
    constexpr size_t kFrames = 40;  // I, P and B frames, and a second GOP
    gearnn::h264_roundtrip_stream(
        kFrames, [w = w, h = h](size_t i) { return pattern_image(w, h, int(i)); },
        [&](size_t, gearnn::RgbImage&& frame, const gearnn::H264FrameQp&) { offline.push_back(std::move(frame)); },
        gearnn::H264RateControl(30), std::nullopt, 30,
        [&](const uint8_t* data, size_t size) { stream.insert(stream.end(), data, data + size); });
    write_file(path, stream);
    for (const std::string layout : kLayouts) {
      const std::string crop = " ! videocrop right=" + std::to_string(w % 2) + " bottom=" + std::to_string(h % 2);
      std::vector<GstSample*> samples = samples_from_appsink("filesrc location=" + path + " ! h264parse ! avdec_h264" +
                                                             crop + repacked_as(layout) + " ! appsink name=out");
      ASSERT_EQ(samples.size(), kFrames);
      for (size_t i = 0; i < kFrames; ++i) {
        EXPECT_EQ(differing_bytes(engine_rgb(engine, samples[i]), offline[i]), 0u)
            << w << "x" << h << " frame " << i << " " << layout;
        gst_sample_unref(samples[i]);
      }
    }
  }
}

// The same frames through GstVideoConverter, as the element converted them
// before: the exact match above is not a property of every conversion.
TEST(ElementConversion, AGenericConversionDiffers) {
  const gearnn::RgbImage image = pattern_image(64, 48);
  const std::vector<uint8_t> jpeg = gearnn::encode_jpeg(image, 90);
  const std::string path = scratch_dir("conversion-generic") + "/frame.jpg";
  write_file(path, jpeg);
  std::vector<GstSample*> samples = samples_from_appsink("filesrc location=" + path +
                                                         " ! jpegparse ! jpegdec idct-method=islow ! videoconvert ! "
                                                         "video/x-raw,format=RGB ! appsink name=out");
  ASSERT_EQ(samples.size(), 1u);
  gstgearnn::StreamEngine engine(gsttest::abr_bundle(), "cpu");
  EXPECT_GT(differing_bytes(engine_rgb(engine, samples[0]), gearnn::decode_jpeg(jpeg.data(), jpeg.size(), path)),
            image.pixels.size() / 10);
  gst_sample_unref(samples[0]);
}
