// gearnnmask: class indices at the frame's size, and a pipeline to PNG masks.
#include "gst_test_support.h"

#include "image.h"
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


TEST(Mask, Gray8ClassIndicesAtFrameSize) {
  HarnessPtr h(gst_harness_new_parse("gearnnmask"), &gst_harness_teardown);
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 61, 35).c_str());
  std::vector<uint8_t> map;
  GstBuffer* out = push_pull(h.get(), frame_with_meta(GST_VIDEO_FORMAT_I420, 61, 35, &map));
  ASSERT_NE(out, nullptr);
  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  GstVideoInfo info;
  ASSERT_TRUE(gst_video_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&info), GST_VIDEO_FORMAT_GRAY8);
  EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 61);
  EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), 35);
  const auto bytes = bytes_of(out);
  const int stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  for (int y = 0; y < 35; ++y)
    for (int x = 0; x < 61; ++x) ASSERT_EQ(bytes[size_t(y) * stride + x], map[size_t(y) * 61 + x]);
  EXPECT_TRUE(read_seg(out).present) << "the mask keeps the segmentation meta";
  gst_buffer_unref(out);

  out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 61, 35));
  const auto unknown = bytes_of(out);
  EXPECT_EQ(unknown[0], 255);
  EXPECT_EQ(unknown[size_t(34) * stride + 60], 255);
  gst_buffer_unref(out);
}

TEST(Mask, PipelineToPng) {
  const std::string dir = scratch_dir("gst-masks");
  auto frames = run_to_appsink("videotestsrc num-buffers=3 ! video/x-raw,format=NV12,width=45,height=33 ! gearnn bundle=" +
                               abr_bundle() + " ! gearnnmask ! tee name=t ! queue ! pngenc ! multifilesink location=" +
                               dir + "/mask-%02d.png t. ! queue ! appsink name=out");
  ASSERT_EQ(frames.size(), 3u);
  for (GstBuffer* f : frames) gst_buffer_unref(f);
  for (int i = 0; i < 3; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/mask-%02d.png", i);
    const gearnn::ClassMap png = gearnn::read_png_gray(dir + name);
    EXPECT_EQ(png.width, 45);
    EXPECT_EQ(png.height, 33);
    for (uint8_t c : png.classes) ASSERT_LT(c, 5);
  }
}

}  // namespace
