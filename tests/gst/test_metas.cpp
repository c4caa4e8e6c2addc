// The segmentation and quality metas through buffer copies.
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


TEST(Meta, CopiedByBufferCopies) {
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, 16, nullptr);
  const guint8 map[6] = {0, 1, 2, 3, 4, 0};
  const guint8 palette[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  GstGearnnSegmentation s{};
  s.width = 3;
  s.height = 2;
  s.n_classes = 5;
  s.class_map = map;
  s.palette = palette;
  s.level = "q10";
  s.level_index = 0;
  s.adaptor = "adaptor-q10.safetensors";
  s.measured = GstGearnnMeasured(GST_GEARNN_MEASURED_JPEG_QUALITY);
  s.measured_jpeg_quality = 12;
  s.inference_ns = 42;
  s.reused = TRUE;
  gst_buffer_add_gearnn_segmentation(buf, &s);
  GstBuffer* copy = gst_buffer_copy(buf);
  gst_buffer_unref(buf);
  const Seg seg = read_seg(copy);
  ASSERT_TRUE(seg.present);
  EXPECT_EQ(seg.map, std::vector<uint8_t>(map, map + 6));
  EXPECT_EQ(seg.level, "q10");
  EXPECT_EQ(seg.adaptor, "adaptor-q10.safetensors");
  EXPECT_EQ(seg.s.measured, GST_GEARNN_MEASURED_JPEG_QUALITY);
  EXPECT_DOUBLE_EQ(seg.s.measured_jpeg_quality, 12);
  EXPECT_EQ(seg.s.inference_ns, 42u);
  EXPECT_TRUE(seg.s.reused);
  ASSERT_NE(seg.s.palette, nullptr);
  EXPECT_EQ(seg.s.palette[14], 15);
  GstGearnnQuality q;
  EXPECT_FALSE(gst_buffer_get_gearnn_quality(copy, &q));
  gst_buffer_unref(copy);
}

// The frame type a quality meta gives back: the one set, else (a producer
// that fills only the slice list) the one its slices make.
TEST(Meta, QualityFrameTypeSetOrFromTheSlices) {
  const struct {
    const char* slices;
    gchar set, want;
  } cases[] = {{"I", 'I', 'I'}, {"I", 'P', 'P'},   {"P,B", 0, 'B'}, {"I,SI", 0, 'I'},
               {"P,I", 0, 'P'}, {"SP", 0, 'P'}, {"X", 0, 0},       {"P,X", 0, 0}, {nullptr, 0, 0}};
  for (const auto& c : cases) {
    GstBuffer* buf = gst_buffer_new();
    GstGearnnQuality in{"h264", 30, 1, c.slices, -1, c.set};
    gst_buffer_add_gearnn_quality(buf, &in);
    GstGearnnQuality out;
    ASSERT_TRUE(gst_buffer_get_gearnn_quality(buf, &out));
    EXPECT_EQ(out.frame_type, c.want) << (c.slices ? c.slices : "(none)") << ", set " << int(c.set);
    gst_buffer_unref(buf);
  }
}

}  // namespace
