// gearnnoverlay: palette blending in RGB and YUV, controlled alpha, frames without a meta.
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
#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>

namespace {

using namespace gsttest;
using gearnn::testing::scratch_dir;



TEST(Overlay, BlendsPaletteColours) {
  const guint8 palette[5][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {0, 0, 0}};
  for (double alpha : {1.0, 0.0, 0.5}) {
    HarnessPtr h(gst_harness_new_parse(("gearnnoverlay alpha=" + std::to_string(alpha)).c_str()),
                 &gst_harness_teardown);
    gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, 21, 13).c_str());
    std::vector<uint8_t> map;
    GstBuffer* in = frame_with_meta(GST_VIDEO_FORMAT_RGB, 21, 13, &map);
    const auto before = bytes_of(in);
    GstBuffer* out = push_pull(h.get(), in);
    const auto after = bytes_of(out);
    const int stride = GST_ROUND_UP_4(21 * 3);
    for (int y = 0; y < 13; ++y)
      for (int x = 0; x < 21; ++x)
        for (int c = 0; c < 3; ++c) {
          const size_t i = size_t(y) * stride + x * 3 + c;
          const int want = palette[map[size_t(y) * 21 + x]][c];
          if (alpha == 1.0) {
            ASSERT_EQ(after[i], want) << x << "," << y;
          } else if (alpha == 0.0) {
            ASSERT_EQ(after[i], before[i]);
          } else {
            ASSERT_NEAR(after[i], (before[i] + want) / 2.0, 1.0);
          }
        }
    gst_buffer_unref(out);
  }
}

// alpha is controllable: bound to a control source that goes from 0 at 0 s
// to 1 at 1 s, the frame at 0 s comes out unchanged and the one at 1 s in
// the class colours alone.
TEST(Overlay, ControlledAlphaFollowsStreamTime) {
  HarnessPtr h(gst_harness_new_parse("gearnnoverlay alpha=0.5"), &gst_harness_teardown);
  GstElement* overlay = gst_harness_find_element(h.get(), "gearnnoverlay");
  ASSERT_NE(overlay, nullptr);
  GstControlSource* cs = gst_interpolation_control_source_new();
  g_object_set(cs, "mode", GST_INTERPOLATION_MODE_LINEAR, nullptr);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(cs), 0, 0.0);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(cs), GST_SECOND, 1.0);
  ASSERT_TRUE(gst_object_add_control_binding(GST_OBJECT(overlay),
                                             gst_direct_control_binding_new(GST_OBJECT(overlay), "alpha", cs)));
  gst_object_unref(cs);
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, 21, 13).c_str());
  for (int index : {0, 30}) {  // push_pull stamps frame i at i/30 s
    const GstClockTime pts = GstClockTime(index) * GST_SECOND / 30;
    std::vector<uint8_t> map;
    GstBuffer* in = frame_with_meta(GST_VIDEO_FORMAT_RGB, 21, 13, &map);
    const auto before = bytes_of(in);
    GstBuffer* out = push_pull(h.get(), in, index);
    const auto after = bytes_of(out);
    gdouble alpha = -1;
    g_object_get(overlay, "alpha", &alpha, nullptr);
    EXPECT_DOUBLE_EQ(alpha, pts == 0 ? 0.0 : 1.0);
    if (pts == 0) EXPECT_EQ(after, before);
    else EXPECT_NE(after, before);
    gst_buffer_unref(out);
  }
  gst_object_unref(overlay);
}

TEST(Overlay, I420AndNoMeta) {
  HarnessPtr h(gst_harness_new_parse("gearnnoverlay alpha=1"), &gst_harness_teardown);
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 20, 10).c_str());
  std::vector<uint8_t> map;
  GstBuffer* out = push_pull(h.get(), frame_with_meta(GST_VIDEO_FORMAT_I420, 20, 10, &map));
  const auto y = bytes_of(out);
  // Luma of pure red, green and blue in BT.601 limited range: 81, 145, 41.
  const int luma[5] = {81, 145, 41, 235, 16};
  for (int row = 0; row < 10; ++row)
    for (int x = 0; x < 20; ++x) ASSERT_NEAR(y[size_t(row) * 20 + x], luma[map[size_t(row) * 20 + x]], 1);
  gst_buffer_unref(out);

  GstBuffer* plain = make_frame(GST_VIDEO_FORMAT_I420, 20, 10, 1);
  const auto before = bytes_of(plain);
  out = push_pull(h.get(), plain);
  EXPECT_EQ(bytes_of(out), before);
  gst_buffer_unref(out);
}

}  // namespace
