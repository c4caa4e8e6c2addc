// gearnnquality: the QP and JPEG quality it reads survive the decoder and reach gearnn.
#include "gst_test_support.h"
#include "test_support.h"

#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace gsttest;
using gearnn::testing::scratch_dir;



class QualityH264 : public ::testing::TestWithParam<std::string> {};

TEST_P(QualityH264, SliceQpSurvivesTheDecoder) {
  const std::string pipeline =
      "videotestsrc num-buffers=12 pattern=ball ! video/x-raw,format=I420,width=96,height=64,framerate=30/1 ! "
      "x264enc pass=quant quantizer=33 bframes=0 key-int-max=6 tune=zerolatency ! h264parse ! "
      "video/x-h264,stream-format=" + GetParam() + ",alignment=au ! gearnnquality ! avdec_h264 ! "
      "appsink name=out";
  auto frames = run_to_appsink(pipeline);
  ASSERT_EQ(frames.size(), 12u);
  int p_frames = 0, i_frames = 0;
  for (GstBuffer* f : frames) {
    GstGearnnQuality q;
    ASSERT_TRUE(gst_buffer_get_gearnn_quality(f, &q)) << "meta lost in the decoder";
    EXPECT_STREQ(q.codec, "h264");
    EXPECT_GE(q.slices, 1u);
    ASSERT_NE(q.slice_types, nullptr);
    if (std::string(q.slice_types) == "P") {
      EXPECT_EQ(q.frame_type, 'P');
      EXPECT_DOUBLE_EQ(q.qp, 33.0);  // constant quantiser: P slices carry it exactly
      ++p_frames;
    } else {
      EXPECT_EQ(std::string(q.slice_types), "I");
      EXPECT_EQ(q.frame_type, 'I');
      EXPECT_LT(q.qp, 33.0);  // x264 lowers I slices (ipratio)
      EXPECT_GT(q.qp, 25.0);
      ++i_frames;
    }
    gst_buffer_unref(f);
  }
  EXPECT_EQ(i_frames, 2);
  EXPECT_EQ(p_frames, 10);
}

INSTANTIATE_TEST_SUITE_P(StreamFormats, QualityH264, ::testing::Values("byte-stream", "avc"),
                         [](const auto& info) { return info.param == "avc" ? std::string("avc") : "bytestream"; });

TEST(Quality, JpegQualitySurvivesJpegdec) {
  for (int quality : {25, 60, 90}) {
    auto frames = run_to_appsink(
        "videotestsrc num-buffers=3 ! video/x-raw,format=I420,width=64,height=48 ! jpegenc quality=" +
        std::to_string(quality) + " ! gearnnquality ! jpegdec ! appsink name=out");
    ASSERT_EQ(frames.size(), 3u);
    for (GstBuffer* f : frames) {
      GstGearnnQuality q;
      ASSERT_TRUE(gst_buffer_get_gearnn_quality(f, &q));
      EXPECT_STREQ(q.codec, "jpeg");
      EXPECT_NEAR(q.jpeg_quality, quality, 0.5);
      gst_buffer_unref(f);
    }
  }
}

TEST(Quality, ProbeThenGearnnMatchesQp) {
  const std::string pipeline =
      "videotestsrc num-buffers=4 ! video/x-raw,format=I420,width=240,height=180,framerate=30/1 ! "
      "x264enc pass=quant quantizer=38 bframes=0 ! h264parse ! gearnnquality ! avdec_h264 ! "
      "gearnn bundle=" + abr_bundle() + " ! appsink name=out";
  auto frames = run_to_appsink(pipeline);
  ASSERT_EQ(frames.size(), 4u);
  for (GstBuffer* f : frames) {
    const Seg seg = read_seg(f);
    ASSERT_TRUE(seg.present);
    EXPECT_TRUE(seg.s.measured & GST_GEARNN_MEASURED_H264_QP);
    EXPECT_EQ(seg.level, "240x180-qp38");
    gst_buffer_unref(f);
  }
}

}  // namespace
