// GstHarness tests of the gst-gearnn elements: gearnn, gearnnquality,
// gearnnoverlay, gearnnmask and the metas. Bundles are tiny random DRN-D-22s
// (width 0.125, 5 classes), so every test takes well under a second of inference.
#include "adaptive_model.h"
#include "bundle.h"
#include "gearnnmeta.h"
#include "random_bundle.h"
#include "test_support.h"

#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using gearnn::testing::scratch_dir;

class GstEnvironment : public ::testing::Environment {
public:
  void SetUp() override { gst_init(nullptr, nullptr); }
};
const auto* const gst_environment = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

std::string bundle_of_kind(const std::string& kind, int levels = 3) {
  static std::map<std::string, std::string> made;
  const std::string key = kind + std::to_string(levels);
  auto it = made.find(key);
  if (it != made.end()) return it->second;
  const std::string dir = scratch_dir("gst-bundle-" + key);
  gearnn::RandomBundleOptions o;
  o.architecture = "drn_d_22";
  o.width = 0.125;
  o.classes = 5;
  o.kind = kind;
  o.levels = levels;
  gearnn::write_random_bundle(dir, o);
  return made[key] = dir;
}
std::string abr_bundle() { return bundle_of_kind("abr"); }

GstVideoInfo video_info(GstVideoFormat format, int width, int height) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, guint(width), guint(height));
  info.fps_n = 30;
  info.fps_d = 1;
  return info;
}

std::string caps_string(GstVideoFormat format, int width, int height) {
  GstVideoInfo info = video_info(format, width, height);
  GstCaps* caps = gst_video_info_to_caps(&info);
  gchar* s = gst_caps_to_string(caps);
  std::string out = s;
  g_free(s);
  gst_caps_unref(caps);
  return out;
}

// Converts a mapped frame with the same converter settings as the element.
void convert(const GstVideoInfo& from, GstBuffer* src, const GstVideoInfo& to, GstBuffer* dst) {
  GstStructure* config = gst_structure_new("GstVideoConverter", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD,
                                           GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_NONE, nullptr);
  GstVideoConverter* conv = gst_video_converter_new(const_cast<GstVideoInfo*>(&from),
                                                    const_cast<GstVideoInfo*>(&to), config);
  ASSERT_NE(conv, nullptr);
  GstVideoFrame in, out;
  ASSERT_TRUE(gst_video_frame_map(&in, const_cast<GstVideoInfo*>(&from), src, GST_MAP_READ));
  ASSERT_TRUE(gst_video_frame_map(&out, const_cast<GstVideoInfo*>(&to), dst, GST_MAP_WRITE));
  gst_video_converter_frame(conv, &in, &out);
  gst_video_frame_unmap(&out);
  gst_video_frame_unmap(&in);
  gst_video_converter_free(conv);
}

// A street-like synthetic frame in `format`: gradients, stripes and a box that
// moves with `seed`.
GstBuffer* make_frame(GstVideoFormat format, int width, int height, int seed = 0, int brightness = 255) {
  GstVideoInfo rgb = video_info(GST_VIDEO_FORMAT_RGB, width, height);
  GstBuffer* rgb_buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&rgb), nullptr);
  GstVideoFrame f;
  gst_video_frame_map(&f, &rgb, rgb_buf, GST_MAP_WRITE);
  auto* data = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&f, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&f, 0);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      guint8* p = data + y * stride + 3 * x;
      const bool box = std::abs(x - (seed * 7) % width) < width / 5 && std::abs(y - height / 2) < height / 4;
      const int r = box ? 200 : (x * 255) / std::max(1, width - 1);
      const int g = box ? 30 : (y * 255) / std::max(1, height - 1);
      const int b = ((x / 4 + y / 3 + seed) % 2) ? 180 : 40;
      p[0] = guint8(r * brightness / 255);
      p[1] = guint8(g * brightness / 255);
      p[2] = guint8(b * brightness / 255);
    }
  gst_video_frame_unmap(&f);
  if (format == GST_VIDEO_FORMAT_RGB) return rgb_buf;
  GstVideoInfo out = video_info(format, width, height);
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&out), nullptr);
  convert(rgb, rgb_buf, out, buf);
  gst_buffer_unref(rgb_buf);
  return buf;
}

// What the engine computes directly on the frame (converted to RGB as the element does).
std::vector<uint8_t> engine_map(const std::string& bundle, const std::string& level, GstVideoFormat format,
                                int width, int height, GstBuffer* frame) {
  GstVideoInfo in = video_info(format, width, height), rgb = video_info(GST_VIDEO_FORMAT_RGB, width, height);
  GstBuffer* rgb_buf;
  if (format == GST_VIDEO_FORMAT_RGB) {
    rgb_buf = gst_buffer_ref(frame);
  } else {
    rgb_buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&rgb), nullptr);
    convert(in, frame, rgb, rgb_buf);
  }
  GstMapInfo map;
  gst_buffer_map(rgb_buf, &map, GST_MAP_READ);
  gearnn::AdaptiveModel model(gearnn::Bundle::load_shared(bundle, "cpu"));
  model.select(level);
  const gearnn::ClassMap cm =
      model.segment({map.data, width, height, size_t(GST_VIDEO_INFO_PLANE_STRIDE(&rgb, 0))});
  gst_buffer_unmap(rgb_buf, &map);
  gst_buffer_unref(rgb_buf);
  return cm.classes;
}

struct Seg {
  bool present = false;
  GstGearnnSegmentation s{};
  std::vector<uint8_t> map;
  std::string level, adaptor;
};

Seg read_seg(GstBuffer* buf) {
  Seg out;
  out.present = gst_buffer_get_gearnn_segmentation(buf, &out.s);
  if (out.present) {
    out.map.assign(out.s.class_map, out.s.class_map + size_t(out.s.width) * out.s.height);
    out.level = out.s.level ? out.s.level : "";
    out.adaptor = out.s.adaptor ? out.s.adaptor : "";
  }
  return out;
}

using HarnessPtr = std::unique_ptr<GstHarness, decltype(&gst_harness_teardown)>;

HarnessPtr gearnn_harness(const std::string& properties) {
  const std::string line = "gearnn name=nn " + properties;
  return HarnessPtr(gst_harness_new_parse(line.c_str()), &gst_harness_teardown);
}

// Pushes one frame and returns what came out (the test owns it).
GstBuffer* push_pull(GstHarness* h, GstBuffer* frame, int index = 0) {
  GST_BUFFER_PTS(frame) = GstClockTime(index) * GST_SECOND / 30;
  GST_BUFFER_DURATION(frame) = GST_SECOND / 30;
  EXPECT_EQ(gst_harness_push(h, frame), GST_FLOW_OK);
  return gst_harness_pull(h);
}

// Every message on the bus: element messages named `name` (copied) and the number of warnings.
std::vector<GstStructure*> element_messages(GstBus* bus, const char* name, int* warnings = nullptr) {
  std::vector<GstStructure*> out;
  while (GstMessage* m = gst_bus_pop(bus)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, name))
      out.push_back(gst_structure_copy(s));
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING && warnings) ++*warnings;
    gst_message_unref(m);
  }
  return out;
}

// --- gearnn ----------------------------------------------------------------

class GearnnFormats : public ::testing::TestWithParam<GstVideoFormat> {};

TEST_P(GearnnFormats, ClassMapEqualsEngineAtOddSize) {
  const GstVideoFormat format = GetParam();
  const std::string bundle = abr_bundle();
  auto h = gearnn_harness("bundle=" + bundle + " level-source=fixed level=320x240-qp30");
  for (auto [w, h_] : {std::pair{61, 35}, std::pair{9, 7}, std::pair{64, 48}}) {
    gst_harness_set_src_caps_str(h.get(), caps_string(format, w, h_).c_str());
    GstBuffer* in = make_frame(format, w, h_, 3);
    const auto expected = engine_map(bundle, "320x240-qp30", format, w, h_, in);
    GstBuffer* out = push_pull(h.get(), in);
    ASSERT_NE(out, nullptr);
    const Seg seg = read_seg(out);
    ASSERT_TRUE(seg.present) << gst_video_format_to_string(format) << " " << w << "x" << h_;
    EXPECT_EQ(seg.s.width, guint(w));
    EXPECT_EQ(seg.s.height, guint(h_));
    EXPECT_EQ(seg.s.n_classes, 5u);
    EXPECT_EQ(seg.level, "320x240-qp30");
    EXPECT_FALSE(seg.s.reused);
    EXPECT_GT(seg.s.inference_ns, 0u);
    ASSERT_NE(seg.s.palette, nullptr);
    EXPECT_EQ(seg.map, expected) << gst_video_format_to_string(format) << " " << w << "x" << h_;
    std::set<int> classes(seg.map.begin(), seg.map.end());
    EXPECT_LT(*classes.rbegin(), 5);
    if (w * h_ > 1000) {
      EXPECT_GE(classes.size(), 2u) << "a constant map would make the comparison empty";
    }
    gst_buffer_unref(out);
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, GearnnFormats,
                         ::testing::Values(GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_RGB,
                                           GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_RGBA),
                         [](const auto& info) { return std::string(gst_video_format_to_string(info.param)); });

TEST(Gearnn, AcceptsRawFormatsWithoutConverter) {
  auto h = gearnn_harness("bundle=" + abr_bundle());
  GstElement* nn = gst_bin_get_by_name(GST_BIN(h->element), "nn");
  GstPad* sink = gst_element_get_static_pad(nn, "sink");
  GstCaps* accepted = gst_pad_get_pad_template_caps(sink);
  for (const char* f : {"I420", "NV12", "RGB", "BGRx", "YV12", "BGR"}) {
    GstCaps* c = gst_caps_from_string((std::string("video/x-raw,format=") + f + ",width=8,height=8").c_str());
    EXPECT_TRUE(gst_caps_can_intersect(c, accepted)) << f;
    gst_caps_unref(c);
  }
  gst_caps_unref(accepted);
  gst_object_unref(sink);
  gst_object_unref(nn);
}

TEST(Gearnn, LevelFollowsCapsChange) {
  auto h = gearnn_harness("bundle=" + abr_bundle() + " level-source=auto");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  std::vector<std::string> levels;
  int i = 0;
  for (auto [w, h_] : {std::pair{240, 180}, std::pair{480, 360}, std::pair{320, 240}}) {
    gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, w, h_).c_str());
    for (int k = 0; k < 2; ++k) {
      GstBuffer* out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, w, h_, i), i);
      ++i;
      const Seg seg = read_seg(out);
      ASSERT_TRUE(seg.present);
      EXPECT_EQ(seg.s.width, guint(w));
      EXPECT_EQ(seg.s.measured_width, guint(w));
      EXPECT_TRUE(seg.s.measured & GST_GEARNN_MEASURED_RESOLUTION);
      EXPECT_FALSE(seg.s.measured & GST_GEARNN_MEASURED_H264_QP);  // no probe upstream
      levels.push_back(seg.level);
      gst_buffer_unref(out);
    }
  }
  ASSERT_EQ(levels.size(), 6u);
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(levels[size_t(k)].rfind("240x180-", 0), 0u) << levels[size_t(k)];
    EXPECT_EQ(levels[size_t(2 + k)].rfind("480x360-", 0), 0u) << levels[size_t(2 + k)];
    EXPECT_EQ(levels[size_t(4 + k)].rfind("320x240-", 0), 0u) << levels[size_t(4 + k)];
  }
  // One switch message per change (the first selection included), with old and new level.
  int warnings = 0;
  auto switches = element_messages(bus, "gearnn-level-switch", &warnings);
  ASSERT_EQ(switches.size(), 3u);
  EXPECT_STREQ(gst_structure_get_string(switches[0], "from"), "");
  EXPECT_EQ(gst_structure_get_string(switches[1], "from"), levels[0]);
  EXPECT_EQ(gst_structure_get_string(switches[1], "to"), levels[2]);
  EXPECT_EQ(gst_structure_get_string(switches[2], "to"), levels[4]);
  EXPECT_NE(std::string(gst_structure_get_string(switches[1], "measured")).find("480x360"), std::string::npos);
  guint64 pts = 0;
  EXPECT_TRUE(gst_structure_get_uint64(switches[1], "pts", &pts));
  EXPECT_EQ(pts, 2 * GST_SECOND / 30);
  for (auto* s : switches) gst_structure_free(s);
  // The missing QP was reported once, as a warning.
  EXPECT_EQ(warnings, 1);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
}

TEST(Gearnn, QpFromQualityMetaSelectsLevel) {
  auto h = gearnn_harness("bundle=" + abr_bundle() + " qp-window=1");
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 320, 240).c_str());
  int i = 0;
  for (double qp : {37.0, 23.0, 31.0}) {
    GstBuffer* in = make_frame(GST_VIDEO_FORMAT_I420, 320, 240, i);
    GstGearnnQuality q{"h264", qp, 1, "P", -1};
    gst_buffer_add_gearnn_quality(in, &q);
    GstBuffer* out = push_pull(h.get(), in, i++);
    const Seg seg = read_seg(out);
    ASSERT_TRUE(seg.present);
    const std::string want = qp > 34 ? "320x240-qp38" : qp < 26 ? "320x240-qp22" : "320x240-qp30";
    EXPECT_EQ(seg.level, want);
    ASSERT_TRUE(seg.s.measured & GST_GEARNN_MEASURED_H264_QP);
    EXPECT_DOUBLE_EQ(seg.s.measured_qp, qp);
    EXPECT_EQ(seg.adaptor, "adaptor-" + want + ".safetensors");  // only 480x360-qp22 runs the base alone
    gst_buffer_unref(out);
  }
}

TEST(Gearnn, LevelSourceQpIgnoresResolution) {
  auto h = gearnn_harness("bundle=" + abr_bundle() + " level-source=qp");
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 480, 360).c_str());
  GstBuffer* in = make_frame(GST_VIDEO_FORMAT_I420, 480, 360);
  GstGearnnQuality q{"h264", 38, 1, "P", -1};
  gst_buffer_add_gearnn_quality(in, &q);
  GstBuffer* out = push_pull(h.get(), in);
  const Seg seg = read_seg(out);
  EXPECT_FALSE(seg.s.measured & GST_GEARNN_MEASURED_RESOLUTION);
  EXPECT_EQ(seg.level, "240x180-qp38");  // ties on resolution go to the first qp38 level
  gst_buffer_unref(out);
}

TEST(Gearnn, JpegAndBrightnessBundles) {
  {
    auto h = gearnn_harness("bundle=" + bundle_of_kind("jpeg", 4));  // q10 q40 q70 q100
    gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 32, 24).c_str());
    for (double quality : {12.0, 65.0, 95.0}) {
      GstBuffer* in = make_frame(GST_VIDEO_FORMAT_I420, 32, 24);
      GstGearnnQuality q{"jpeg", -1, 0, nullptr, quality};
      gst_buffer_add_gearnn_quality(in, &q);
      GstBuffer* out = push_pull(h.get(), in);
      const Seg seg = read_seg(out);
      EXPECT_EQ(seg.level, quality < 20 ? "q10" : quality < 80 ? "q70" : "q100");
      EXPECT_DOUBLE_EQ(seg.s.measured_jpeg_quality, quality);
      gst_buffer_unref(out);
    }
  }
  {
    // b0.20, b0.60, b1.00; measured against reference-luma.
    auto h = gearnn_harness("bundle=" + bundle_of_kind("brightness", 3) + " reference-luma=120");
    gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, 32, 24).c_str());
    std::vector<std::string> levels;
    std::vector<double> measured;
    for (int brightness : {255, 40}) {
      GstBuffer* out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_RGB, 32, 24, 0, brightness));
      const Seg seg = read_seg(out);
      ASSERT_TRUE(seg.s.measured & GST_GEARNN_MEASURED_BRIGHTNESS);
      levels.push_back(seg.level);
      measured.push_back(seg.s.measured_brightness);
      gst_buffer_unref(out);
    }
    EXPECT_GT(measured[0], 0.8);
    EXPECT_LT(measured[1], 0.3);
    EXPECT_EQ(levels[0], "b1.00");
    EXPECT_EQ(levels[1], "b0.20");
  }
}

TEST(Gearnn, ForcedLevel) {
  const std::string bundle = abr_bundle();
  auto h = gearnn_harness("bundle=" + bundle + " level-source=fixed level=480x360-qp38");
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 240, 180).c_str());
  GstBuffer* in = make_frame(GST_VIDEO_FORMAT_I420, 240, 180, 1);
  const auto expected = engine_map(bundle, "480x360-qp38", GST_VIDEO_FORMAT_I420, 240, 180, in);
  const auto other = engine_map(bundle, "240x180-qp38", GST_VIDEO_FORMAT_I420, 240, 180, in);
  GstBuffer* out = push_pull(h.get(), in);
  const Seg seg = read_seg(out);
  EXPECT_EQ(seg.level, "480x360-qp38");
  EXPECT_EQ(seg.map, expected);
  EXPECT_NE(seg.map, other) << "adaptors should change the output";
  gst_buffer_unref(out);

  // Changed while playing.
  GstElement* nn = gst_bin_get_by_name(GST_BIN(h->element), "nn");
  g_object_set(nn, "level", "240x180-qp22", nullptr);
  out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 240, 180, 1), 1);
  EXPECT_EQ(read_seg(out).level, "240x180-qp22");
  gchar* current = nullptr;
  g_object_get(nn, "current-level", &current, nullptr);
  EXPECT_STREQ(current, "240x180-qp22");
  g_free(current);
  gst_buffer_unref(out);
  gst_object_unref(nn);
}

TEST(Gearnn, IntervalReusesAndMarks) {
  const std::string bundle = abr_bundle();
  auto h = gearnn_harness("bundle=" + bundle + " interval=3 level-source=fixed level=320x240-qp30");
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, 40, 32).c_str());
  std::vector<uint8_t> last_inferred;
  for (int i = 0; i < 7; ++i) {
    GstBuffer* in = make_frame(GST_VIDEO_FORMAT_RGB, 40, 32, i * 3);
    const auto own = engine_map(bundle, "320x240-qp30", GST_VIDEO_FORMAT_RGB, 40, 32, in);
    GstBuffer* out = push_pull(h.get(), in, i);
    const Seg seg = read_seg(out);
    ASSERT_TRUE(seg.present) << "frame " << i;
    const bool should_reuse = i % 3 != 0;
    EXPECT_EQ(bool(seg.s.reused), should_reuse) << "frame " << i;
    if (should_reuse) {
      EXPECT_EQ(seg.map, last_inferred) << "frame " << i;
    } else {
      EXPECT_EQ(seg.map, own) << "frame " << i;
      last_inferred = seg.map;
    }
    gst_buffer_unref(out);
  }
  // Frames differ enough that reuse is visible.
  GstBuffer* a = make_frame(GST_VIDEO_FORMAT_RGB, 40, 32, 0);
  GstBuffer* b = make_frame(GST_VIDEO_FORMAT_RGB, 40, 32, 3);
  EXPECT_NE(engine_map(bundle, "320x240-qp30", GST_VIDEO_FORMAT_RGB, 40, 32, a),
            engine_map(bundle, "320x240-qp30", GST_VIDEO_FORMAT_RGB, 40, 32, b));
  gst_buffer_unref(a);
  gst_buffer_unref(b);
}

TEST(Gearnn, FlushAndEos) {
  auto h = gearnn_harness("bundle=" + abr_bundle() + " interval=4");
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 48, 32).c_str());
  GstBuffer* out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 48, 32), 0);
  EXPECT_FALSE(read_seg(out).s.reused);
  gst_buffer_unref(out);
  out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 48, 32), 1);
  EXPECT_TRUE(read_seg(out).s.reused);
  gst_buffer_unref(out);

  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_segment(&segment)));
  out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 48, 32), 0);
  const Seg after = read_seg(out);
  ASSERT_TRUE(after.present);
  EXPECT_FALSE(after.s.reused) << "a flush must force a fresh inference";
  gst_buffer_unref(out);

  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_eos()));
  bool saw_eos = false;
  while (GstEvent* e = gst_harness_try_pull_event(h.get())) {
    saw_eos = saw_eos || GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
  }
  EXPECT_TRUE(saw_eos);
}

TEST(Gearnn, StreamsOnOneBundleFollowTheirOwnLevels) {
  const std::string bundle = abr_bundle();
  auto a = gearnn_harness("bundle=" + bundle);
  auto b = gearnn_harness("bundle=" + bundle);
  gst_harness_set_src_caps_str(a.get(), caps_string(GST_VIDEO_FORMAT_I420, 240, 180).c_str());
  gst_harness_set_src_caps_str(b.get(), caps_string(GST_VIDEO_FORMAT_I420, 480, 360).c_str());
  for (int i = 0; i < 2; ++i) {
    GstBuffer* oa = push_pull(a.get(), make_frame(GST_VIDEO_FORMAT_I420, 240, 180, i), i);
    GstBuffer* ob = push_pull(b.get(), make_frame(GST_VIDEO_FORMAT_I420, 480, 360, i), i);
    EXPECT_EQ(read_seg(oa).level.rfind("240x180-", 0), 0u);
    EXPECT_EQ(read_seg(ob).level.rfind("480x360-", 0), 0u);
    gst_buffer_unref(oa);
    gst_buffer_unref(ob);
  }
}

guint bundle_users(GstHarness* h) {
  GstElement* nn = gst_bin_get_by_name(GST_BIN(h->element), "nn");
  guint users = 0;
  g_object_get(nn, "bundle-users", &users, nullptr);
  gst_object_unref(nn);
  return users;
}

// The plugin's own view of sharing: elements naming one bundle hold one copy.
TEST(Gearnn, ElementsOnOneBundleShareOneResidentCopy) {
  const std::string bundle = abr_bundle();
  auto a = gearnn_harness("bundle=" + bundle);
  auto b = gearnn_harness("bundle=" + bundle + "/manifest.json");  // the same bundle, named otherwise
  auto other = gearnn_harness("bundle=" + bundle_of_kind("jpeg"));
  EXPECT_EQ(bundle_users(a.get()), 2u);
  EXPECT_EQ(bundle_users(b.get()), 2u);
  EXPECT_EQ(bundle_users(other.get()), 1u);
  b.reset();
  EXPECT_EQ(bundle_users(a.get()), 1u);
  gst_element_set_state(a->element, GST_STATE_NULL);
  EXPECT_EQ(bundle_users(a.get()), 0u);
}

// A sink that reports it is a second late makes gearnn drop the frames that
// are already too old to show, and keep the ones that are not.
TEST(Gearnn, QosDropsLateFrames) {
  auto h = gearnn_harness("bundle=" + abr_bundle());
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 240, 180).c_str());
  gst_buffer_unref(push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 240, 180, 0), 0));
  ASSERT_TRUE(gst_harness_push_upstream_event(
      h.get(), gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.5, GST_SECOND, GST_SECOND / 30)));

  GstBuffer* late = make_frame(GST_VIDEO_FORMAT_I420, 240, 180, 2);
  GST_BUFFER_PTS(late) = 2 * GST_SECOND / 30;
  GST_BUFFER_DURATION(late) = GST_SECOND / 30;
  EXPECT_EQ(gst_harness_push(h.get(), late), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_try_pull(h.get()), nullptr) << "a frame behind the sink's deadline is dropped";

  GstBuffer* on_time = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 240, 180, 3), 150);
  ASSERT_NE(on_time, nullptr);
  EXPECT_EQ(GST_BUFFER_PTS(on_time), 5 * GST_SECOND);
  gst_buffer_unref(on_time);
}

// Sets a lone element to PAUSED and returns the error text ("" if it started).
std::string start_error(const std::string& properties) {
  GError* err = nullptr;
  GstElement* e = gst_parse_launch(("gearnn " + properties).c_str(), &err);
  EXPECT_NE(e, nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  const GstStateChangeReturn r = gst_element_set_state(e, GST_STATE_PAUSED);
  std::string text;
  if (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* error = nullptr;
    gst_message_parse_error(m, &error, nullptr);
    text = error->message;
    g_error_free(error);
    gst_message_unref(m);
  }
  EXPECT_EQ(r == GST_STATE_CHANGE_FAILURE, !text.empty()) << text;
  gst_element_set_state(e, GST_STATE_NULL);
  gst_element_set_bus(e, nullptr);
  gst_object_unref(bus);
  gst_object_unref(e);
  return text;
}

TEST(Gearnn, BadBundleIsAClearErrorAtPaused) {
  const std::string missing = scratch_dir("gst-missing") + "/nothing-here";
  std::string text = start_error("bundle=" + missing);
  EXPECT_NE(text.find(missing), std::string::npos) << text;

  // A bundle whose base file was changed: the error names that file.
  const std::string broken = scratch_dir("gst-broken");
  gearnn::RandomBundleOptions o;
  o.width = 0.125;
  o.classes = 5;
  o.levels = 2;
  gearnn::write_random_bundle(broken, o);
  { std::ofstream(broken + "/base.safetensors", std::ios::app) << "x"; }
  text = start_error("bundle=" + broken);
  EXPECT_NE(text.find("base.safetensors"), std::string::npos) << text;

  text = start_error("");
  EXPECT_NE(text.find("bundle"), std::string::npos) << text;
  text = start_error("bundle=" + abr_bundle() + " level-source=fixed level=nope");
  EXPECT_NE(text.find("nope"), std::string::npos) << text;
  EXPECT_EQ(start_error("bundle=" + abr_bundle()), "");
}

// --- metas ---------------------------------------------------------------

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

// --- gearnnquality -------------------------------------------------------

std::vector<GstBuffer*> run_to_appsink(const std::string& description) {
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);
  EXPECT_NE(pipeline, nullptr) << (err ? err->message : "");
  if (!pipeline) return {};
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  g_object_set(sink, "sync", FALSE, nullptr);
  EXPECT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  std::vector<GstBuffer*> out;
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    out.push_back(gst_buffer_ref(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  // Every sink done (the appsink may finish before the others).
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
    gst_message_unref(m);
    m = nullptr;
  }
  if (m) {
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    ADD_FAILURE() << e->message;
    g_error_free(e);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return out;
}

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
      EXPECT_DOUBLE_EQ(q.qp, 33.0);  // constant quantiser: P slices carry it exactly
      ++p_frames;
    } else {
      EXPECT_EQ(std::string(q.slice_types), "I");
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

// --- gearnnoverlay -------------------------------------------------------

GstBuffer* frame_with_meta(GstVideoFormat format, int width, int height, std::vector<uint8_t>* map_out) {
  GstBuffer* buf = make_frame(format, width, height, 5);
  static const guint8 palette[15] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0};
  std::vector<uint8_t> map(size_t(width) * height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) map[size_t(y) * width + x] = uint8_t((x / 3 + y / 2) % 5);
  GstGearnnSegmentation s{};
  s.width = guint(width);
  s.height = guint(height);
  s.n_classes = 5;
  s.class_map = map.data();
  s.palette = palette;
  s.level = "x";
  gst_buffer_add_gearnn_segmentation(buf, &s);
  if (map_out) *map_out = map;
  return buf;
}

std::vector<uint8_t> bytes_of(GstBuffer* b) {
  GstMapInfo m;
  gst_buffer_map(b, &m, GST_MAP_READ);
  std::vector<uint8_t> out(m.data, m.data + m.size);
  gst_buffer_unmap(b, &m);
  return out;
}

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

// --- gearnnmask ----------------------------------------------------------

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
