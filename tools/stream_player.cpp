#include "stream_player.h"

#include "error.h"

#include <gst/app/gstappsink.h>

#include <cstdio>
#include <memory>

namespace gearnn::tools {
namespace {

struct Unref {
  void operator()(GstElement* e) const { gst_object_unref(e); }
};
using ElementPtr = std::unique_ptr<GstElement, Unref>;

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The pipeline's first error, waiting up to `timeout`; "" when there is none.
std::string pipeline_error(GstElement* pipeline, GstClockTime timeout) {
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, timeout, GST_MESSAGE_ERROR);
  gst_object_unref(bus);
  if (!m) return "";
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(m, &err, &debug);
  std::string out = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + (err ? err->message : "error") +
                    (debug ? std::string(" (") + debug + ")" : "");
  g_clear_error(&err);
  g_free(debug);
  gst_message_unref(m);
  return out;
}

constexpr GstClockTime kPoll = GST_SECOND / 4;
constexpr int kMaxIdlePolls = 240;  // a minute without a frame is a stall

}  // namespace

void require_gearnn_plugin() {
  GstElementFactory* f = gst_element_factory_find("gearnn");
#ifdef GEARNN_BUILD_PLUGIN_DIR
  if (!f) {
    gst_registry_scan_path(gst_registry_get(), GEARNN_BUILD_PLUGIN_DIR);
    f = gst_element_factory_find("gearnn");
  }
#endif
  if (!f)
    throw Error("the gearnn GStreamer plugin is not found: set GST_PLUGIN_PATH to the folder of libgstgearnn.so "
                "(BUILD/gst) or install it");
  gst_object_unref(f);
}

std::string played_through(StreamCodec codec) {
  // parsebin opens the container (or none); the second h264parse hands
  // gearnnquality the byte-stream access units it reads slice headers from.
  // jpegdec keeps its defaults, as a user's pipeline would.
  return codec == StreamCodec::h264
             ? "parsebin ! h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ! gearnnquality ! "
               "avdec_h264 ! gearnn"
             : "jpegparse ! gearnnquality ! jpegdec ! gearnn";
}

void play_file(const std::string& path, StreamCodec codec, const PlayOptions& o,
               const std::function<void(const GstGearnnSegmentation&)>& frame) {
  std::string description = "filesrc location=" + quoted(path) + " ! " + played_through(codec) +
                            " name=gearnn qos=false bundle=" + quoted(o.bundle) +
                            " level-source=" + o.level_source + " threads=" + std::to_string(o.threads);
  if (!o.level.empty()) description += " level=" + quoted(o.level);
  if (o.early_exit) {
    char scale[32];
    std::snprintf(scale, sizeof scale, "%.17g", o.exit_scale);
    description += std::string(" early-exit=true exit-threshold-scale=") + scale;
  }
  description += " ! appsink name=sink sync=false max-buffers=4";
  GError* err = nullptr;
  ElementPtr pipeline(gst_parse_launch(description.c_str(), &err));
  if (err) {
    const std::string message = err->message;
    g_clear_error(&err);
    throw Error(path + ": cannot build the pipeline (" + message + "): " + description);
  }
  ElementPtr sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    const std::string why = pipeline_error(pipeline.get(), 0);
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    throw Error(path + ": the pipeline does not start: " + (why.empty() ? "state change failed" : why));
  }
  // Never blocks for good: between frames the bus is checked for errors, and
  // a pipeline that neither delivers nor ends is given up on.
  std::string problem;
  int idle = 0;
  try {
    while (problem.empty()) {
      GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), kPoll);
      if (!sample) {
        if (gst_app_sink_is_eos(GST_APP_SINK(sink.get()))) break;
        problem = pipeline_error(pipeline.get(), 0);
        if (problem.empty() && ++idle > kMaxIdlePolls) problem = "no frame and no end of stream for a minute";
        continue;
      }
      idle = 0;
      GstGearnnSegmentation seg;
      GstBuffer* buffer = gst_sample_get_buffer(sample);
      if (!buffer || !gst_buffer_get_gearnn_segmentation(buffer, &seg))
        problem = "a frame came out of gearnn without a segmentation meta";
      else
        frame(seg);
      gst_sample_unref(sample);
    }
  } catch (...) {
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    throw;
  }
  if (problem.empty()) problem = pipeline_error(pipeline.get(), 0);
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  // parsebin found streams, but none that h264parse takes.
  if (codec == StreamCodec::h264 && problem.find("not-linked") != std::string::npos)
    problem = "no H.264 video stream in the file (" + problem + ")";
  if (!problem.empty()) throw Error(path + ": " + problem);
}

}  // namespace gearnn::tools
