#include "gst_test_support.h"

#include "adaptive_model.h"
#include "bundle.h"
#include "random_bundle.h"
#include "stream_engine.h"
#include "test_support.h"

#include <gst/app/gstappsink.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace {

class GstEnvironment : public ::testing::Environment {
public:
  void SetUp() override { gst_init(nullptr, nullptr); }
};
const auto* const gst_environment = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

}  // namespace

namespace gsttest {

using gearnn::testing::scratch_dir;

std::string bundle_of_kind(const std::string& kind, int levels) {
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

// Converts a frame between formats without dithering: how the tests make their I420, NV12 and other frames.
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
GstBuffer* make_frame(GstVideoFormat format, int width, int height, int seed, int brightness) {
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

// What the engine computes directly on the frame, converted to RGB by the
// element's own StreamEngine.
std::vector<uint8_t> engine_map(const std::string& bundle, const std::string& level, GstVideoFormat format,
                                int width, int height, GstBuffer* frame) {
  GstVideoInfo info = video_info(format, width, height);
  gstgearnn::StreamEngine engine(bundle, "cpu");
  engine.set_format(info);
  GstVideoFrame mapped;
  EXPECT_TRUE(gst_video_frame_map(&mapped, &info, frame, GST_MAP_READ));
  engine.model().select(level);
  const gearnn::ClassMap cm = engine.model().segment(engine.rgb(mapped));
  gst_video_frame_unmap(&mapped);
  return cm.classes;
}

Seg read_seg(GstBuffer* buf) {
  Seg out;
  out.present = gst_buffer_get_gearnn_segmentation(buf, &out.s);
  if (out.present) {
    out.map.assign(out.s.class_map, out.s.class_map + size_t(out.s.width) * out.s.height);
    out.level = out.s.level ? out.s.level : "";
    out.adaptor = out.s.adaptor ? out.s.adaptor : "";
    out.exit = out.s.exit ? out.s.exit : "";
  }
  return out;
}

HarnessPtr gearnn_harness(const std::string& properties) {
  const std::string line = "gearnn name=nn " + properties;
  return HarnessPtr(gst_harness_new_parse(line.c_str()), &gst_harness_teardown);
}

// Pushes one frame and returns what came out (the test owns it).
GstBuffer* push_pull(GstHarness* h, GstBuffer* frame, int index) {
  GST_BUFFER_PTS(frame) = GstClockTime(index) * GST_SECOND / 30;
  GST_BUFFER_DURATION(frame) = GST_SECOND / 30;
  EXPECT_EQ(gst_harness_push(h, frame), GST_FLOW_OK);
  return gst_harness_pull(h);
}

// Every message on the bus: element messages named `name` (copied) and the number of warnings.
std::vector<GstStructure*> element_messages(GstBus* bus, const char* name, int* warnings) {
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


std::vector<GstSample*> samples_from_appsink(const std::string& description) {
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);
  EXPECT_NE(pipeline, nullptr) << (err ? err->message : "");
  if (!pipeline) return {};
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  g_object_set(sink, "sync", FALSE, nullptr);
  EXPECT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  std::vector<GstSample*> out;
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) out.push_back(s);
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

std::vector<GstBuffer*> run_to_appsink(const std::string& description) {
  std::vector<GstBuffer*> out;
  for (GstSample* s : samples_from_appsink(description)) {
    out.push_back(gst_buffer_ref(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  return out;
}

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

}  // namespace gsttest
