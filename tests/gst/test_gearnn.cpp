// GstHarness tests of the gearnn element: formats, levels, properties, sharing, QoS, errors.
#include "bundle.h"
#include "gst_test_support.h"
#include "manifest.h"
#include "measure/stream_quality.h"

#include "random_bundle.h"
#include "test_support.h"

#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <chrono>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace gsttest;
namespace fs = std::filesystem;
using gearnn::testing::scratch_dir;


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
    GstGearnnQuality q{"h264", qp, 1, "P", -1, 'P'};
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

// The meta's frame type reaches the selector: an I frame's QP is made
// P-equivalent and leaves the window once a P frame is in it, a B frame's too.
TEST(Gearnn, QpMetaFrameTypeMakesQpPEquivalent) {
  auto h = gearnn_harness("bundle=" + abr_bundle() + " qp-window=2");
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 320, 240).c_str());
  struct Case {
    double qp;
    gchar type;
    double measured;
    const char* level;
  };
  const Case cases[] = {
      {20.0, 'I', 20.0 + gearnn::kIFrameQpOffset, "320x240-qp22"},
      {37.0, 'P', 37.0, "320x240-qp38"},  // as P frames, the two would average 28.5: qp30
      {38.0, 'B', (37.0 + 38.0 - gearnn::kBFrameQpOffset) / 2, "320x240-qp38"},
  };
  int i = 0;
  for (const Case& c : cases) {
    GstBuffer* in = make_frame(GST_VIDEO_FORMAT_I420, 320, 240, i);
    GstGearnnQuality q{"h264", c.qp, 1, c.type == 'I' ? "I" : c.type == 'B' ? "B" : "P", -1, c.type};
    gst_buffer_add_gearnn_quality(in, &q);
    GstBuffer* out = push_pull(h.get(), in, i++);
    const Seg seg = read_seg(out);
    ASSERT_TRUE(seg.present);
    EXPECT_NEAR(seg.s.measured_qp, c.measured, 1e-9) << "frame " << i;
    EXPECT_EQ(seg.level, c.level) << "frame " << i;
    gst_buffer_unref(out);
  }
}

TEST(Gearnn, LevelSourceQpIgnoresResolution) {
  auto h = gearnn_harness("bundle=" + abr_bundle() + " level-source=qp");
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 480, 360).c_str());
  GstBuffer* in = make_frame(GST_VIDEO_FORMAT_I420, 480, 360);
  GstGearnnQuality q{"h264", 38, 1, "P", -1, 'P'};
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
      GstGearnnQuality q{"jpeg", -1, 0, nullptr, quality, 0};
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

// Setting `bundle` while playing: every frame keeps its map while the new
// bundle loads, the new one takes over at a frame (with a message), the old
// resident copy goes, and a bundle that cannot load leaves the running one.
TEST(Gearnn, BundleSwapWhilePlaying) {
  const std::string first = bundle_of_kind("jpeg"), second = abr_bundle();
  auto h = gearnn_harness("bundle=" + first);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 240, 180).c_str());
  GstElement* nn = gst_bin_get_by_name(GST_BIN(h->element), "nn");
  int i = 0;
  const auto next = [&] {
    GstBuffer* out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 240, 180, i), i);
    ++i;
    const Seg seg = read_seg(out);
    gst_buffer_unref(out);
    return seg;
  };
  const auto level_of = [](const std::string& bundle, const Seg& seg) {
    const auto loaded = gearnn::Bundle::load(bundle);
    return loaded->find_level(seg.level).has_value();
  };
  ASSERT_TRUE(level_of(first, next()));
  // Another element on the first bundle sees who shares it (the plugin's own resident copies).
  auto witness = gearnn_harness("bundle=" + first);
  ASSERT_EQ(bundle_users(witness.get()), 2u);

  g_object_set(nn, "bundle", second.c_str(), nullptr);
  Seg seg;
  const auto t0 = std::chrono::steady_clock::now();
  do {
    seg = next();
    ASSERT_TRUE(seg.present) << "a frame without a map while the bundle loads";
  } while (!level_of(second, seg) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  ASSERT_TRUE(level_of(second, seg)) << "the new bundle never took over (level " << seg.level << ")";
  EXPECT_EQ(bundle_users(witness.get()), 1u) << "the swapped element still holds the old bundle";
  EXPECT_EQ(bundle_users(h.get()), 1u);
  auto swaps = element_messages(bus, "gearnn-bundle-swap");
  ASSERT_EQ(swaps.size(), 1u);
  EXPECT_EQ(gst_structure_get_string(swaps[0], "from"), first);
  EXPECT_EQ(gst_structure_get_string(swaps[0], "to"), second);
  for (auto* s : swaps) gst_structure_free(s);

  const std::string missing = scratch_dir("gst-swap-missing") + "/nothing-here";
  g_object_set(nn, "bundle", missing.c_str(), nullptr);
  int warnings = 0;
  for (int k = 0; k < 200 && warnings == 0; ++k) {
    seg = next();
    ASSERT_TRUE(seg.present);
    EXPECT_TRUE(level_of(second, seg));
    element_messages(bus, "gearnn-bundle-swap", &warnings);
    if (warnings == 0) g_usleep(20000);
  }
  EXPECT_EQ(warnings, 1) << "no warning for a bundle that cannot load";
  gchar* now = nullptr;
  g_object_get(nn, "bundle", &now, nullptr);
  EXPECT_EQ(std::string(now ? now : ""), second) << "the property names the bundle that runs";
  g_free(now);
  EXPECT_TRUE(level_of(second, next()));

  // A stop while a new bundle loads drops the load; the next start loads what the property names.
  g_object_set(nn, "bundle", first.c_str(), nullptr);
  ASSERT_EQ(gst_element_set_state(h->element, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  ASSERT_NE(gst_element_set_state(h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 240, 180).c_str());
  EXPECT_TRUE(level_of(first, next()));
  gst_object_unref(nn);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
}

// A bundle that records its levels' offline accuracy: every meta and switch
// message carries the expected mIoU of the level in use; one that does not, none.
TEST(Gearnn, ExpectedAccuracyReachesMetaAndMessages) {
  const std::string source = bundle_of_kind("jpeg");
  const std::string dir = scratch_dir("gst-expected");
  fs::remove_all(dir);
  fs::copy(source, dir, fs::copy_options::recursive);
  gearnn::Manifest m = gearnn::read_manifest(dir + "/manifest.json");
  for (size_t k = 0; k < m.levels.size(); ++k) m.levels[k].expected = gearnn::ExpectedAccuracy{40.0 + double(k), {}, "test"};
  gearnn::write_manifest(dir + "/manifest.json", m);

  for (const bool with : {true, false}) {
    auto h = gearnn_harness("bundle=" + (with ? dir : source) + " level-source=fixed level=" + m.levels[1].name);
    GstBus* bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 64, 48).c_str());
    GstBuffer* out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 64, 48, 0), 0);
    const Seg seg = read_seg(out);
    gst_buffer_unref(out);
    EXPECT_EQ(bool(seg.s.has_expected), with);
    if (with) {
      EXPECT_DOUBLE_EQ(seg.s.expected_miou, 41.0);
    }
    auto switches = element_messages(bus, "gearnn-level-switch");
    ASSERT_EQ(switches.size(), 1u);
    double expected = 0;
    EXPECT_EQ(bool(gst_structure_get_double(switches[0], "expected-miou", &expected)), with);
    if (with) {
      EXPECT_DOUBLE_EQ(expected, 41.0);
    }
    for (auto* s : switches) gst_structure_free(s);
    gst_element_set_bus(h->element, nullptr);
    gst_object_unref(bus);
  }
}

// target-miou: abr-hint names the cheapest representation played so far whose
// level's expected mIoU meets the target, and follows a new target while playing.
TEST(Gearnn, AbrHintNamesTheCheapestRepresentationThatMeetsTheTarget) {
  const std::string dir = scratch_dir("gst-abr-hint");
  fs::remove_all(dir);
  fs::copy(abr_bundle(), dir, fs::copy_options::recursive);
  gearnn::Manifest m = gearnn::read_manifest(dir + "/manifest.json");
  for (auto& l : m.levels) {
    const int w = l.distortion.resolution->width;
    l.expected = gearnn::ExpectedAccuracy{w == 480 ? 60.0 : w == 320 ? 55.0 : 45.0, {}, "test"};
  }
  gearnn::write_manifest(dir + "/manifest.json", m);

  auto h = gearnn_harness("bundle=" + dir + " level-source=caps target-miou=50");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  GstElement* nn = gst_harness_find_element(h.get(), "gearnn");
  const auto hint = [&] {
    gchar* v = nullptr;
    g_object_get(nn, "abr-hint", &v, nullptr);
    std::string out = v ? v : "";
    g_free(v);
    return out;
  };
  int pts = 0;
  const auto play = [&](int w, int h_, int frames) {
    gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, w, h_).c_str());
    for (int i = 0; i < frames; ++i) gst_buffer_unref(push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, w, h_, 0), pts++));
  };
  play(480, 360, 2);
  EXPECT_EQ(hint(), "480x360");
  play(320, 240, 2);
  EXPECT_EQ(hint(), "320x240") << "320x240 meets 50 and costs less";
  play(240, 180, 2);
  EXPECT_EQ(hint(), "320x240") << "240x180 (45) misses the target";
  g_object_set(nn, "target-miou", 58.0, nullptr);
  play(240, 180, 1);
  EXPECT_EQ(hint(), "480x360");

  auto messages = element_messages(bus, "gearnn-abr-hint");
  ASSERT_EQ(messages.size(), 3u);
  int width = 0;
  gboolean meets = FALSE;
  double expected = 0;
  ASSERT_TRUE(gst_structure_get_int(messages[1], "width", &width));
  EXPECT_EQ(width, 320);
  ASSERT_TRUE(gst_structure_get_boolean(messages[1], "meets-target", &meets));
  EXPECT_TRUE(meets);
  ASSERT_TRUE(gst_structure_get_double(messages[1], "expected-miou", &expected));
  EXPECT_DOUBLE_EQ(expected, 55.0);
  for (auto* s : messages) gst_structure_free(s);
  gst_object_unref(nn);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
}

// With early-exit on, every frame gets a map and its meta says where it left
// and what it cost; the exit follows the property while playing.
TEST(Gearnn, EarlyExitReportsItsExitInTheMeta) {
  const std::string dir = scratch_dir("gst-exits");
  gearnn::RandomBundleOptions o;
  o.width = 0.125;
  o.classes = 5;
  o.levels = 2;
  o.exits = {"base.4", "base.6"};
  o.exit_threshold = 0.01;  // below 1/5: every frame can leave at the first exit
  gearnn::write_random_bundle(dir, o);
  auto h = gearnn_harness("bundle=" + dir);
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_I420, 64, 48).c_str());

  GstBuffer* out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 64, 48, 0), 0);
  Seg off = read_seg(out);
  gst_buffer_unref(out);
  ASSERT_TRUE(off.present);
  EXPECT_EQ(off.exit, "");
  EXPECT_FALSE(off.s.has_compute_fraction);

  GstElement* nn = gst_harness_find_element(h.get(), "gearnn");
  g_object_set(nn, "early-exit", TRUE, nullptr);
  out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 64, 48, 0), 1);
  Seg early = read_seg(out);
  gst_buffer_unref(out);
  ASSERT_TRUE(early.present);
  EXPECT_EQ(early.exit, "base.4");
  ASSERT_TRUE(early.s.has_compute_fraction);
  EXPECT_GT(early.s.compute_fraction, 0.0);
  EXPECT_LT(early.s.compute_fraction, 1.0);
  EXPECT_EQ(early.map.size(), off.map.size());
  EXPECT_NE(early.map, off.map);  // a random head is not the network

  // Thresholds scaled to 1: every frame takes the whole network, and pays for the heads it passed.
  g_object_set(nn, "exit-threshold-scale", 100.0, nullptr);
  gst_object_unref(nn);
  out = push_pull(h.get(), make_frame(GST_VIDEO_FORMAT_I420, 64, 48, 0), 2);
  Seg through = read_seg(out);
  gst_buffer_unref(out);
  EXPECT_EQ(through.exit, "");
  EXPECT_GT(through.s.compute_fraction, 1.0);
  EXPECT_EQ(through.map, off.map);
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

}  // namespace
