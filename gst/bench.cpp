// gearnn-gst-bench: the same frames through the gearnn element in a real
// pipeline (appsrc ! gearnn ! fakesink) and through the engine's bare forward
// at the same thread count; prints both throughputs and their ratio.
//
//   gearnn-gst-bench BUNDLE [--video FILE] [--frames N] [--warmup K] [--size WxH]
//                    [--format I420|RGB|NV12|BGRx] [--threads T] [--repeat R] [--json]
//
// Both sides run the same pre-decoded frames on the same level with the same
// LibTorch thread count. "Bare forward" is AdaptiveModel::forward on tensors
// prepared beforehand (no conversion, normalisation or argmax); the pipeline
// side includes everything the element does per frame (conversion to RGB,
// normalisation, padding, forward, argmax, crop, the meta).
#include "adaptive_model.h"
#include "bundle.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "gearnn-gst-bench: %s\n"
               "usage: gearnn-gst-bench BUNDLE [--video FILE] [--frames N] [--warmup K] [--size WxH]\n"
               "                        [--format I420|RGB|NV12|BGRx] [--threads T] [--repeat R] [--json]\n",
               message);
  std::exit(2);
}

// Decodes `count` frames of `video` (or a test pattern) scaled to width x height, in `format`.
std::vector<GstSample*> decode_frames(const std::string& video, int width, int height, const std::string& format,
                                      int count) {
  const std::string source = video.empty() ? "videotestsrc pattern=smpte"
                                           : "filesrc location=\"" + video + "\" ! decodebin";
  const std::string desc = source + " ! videoconvert ! videoscale ! video/x-raw,format=" + format +
                           ",width=" + std::to_string(width) + ",height=" + std::to_string(height) +
                           ",pixel-aspect-ratio=1/1 ! appsink name=sink sync=false";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &error);
  if (!pipeline) {
    std::fprintf(stderr, "gearnn-gst-bench: %s\n", error->message);
    std::exit(1);
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<GstSample*> frames;
  while (int(frames.size()) < count) {
    GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink));
    if (!s) break;
    frames.push_back(s);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (frames.empty()) {
    std::fprintf(stderr, "gearnn-gst-bench: no frames decoded from %s\n", video.c_str());
    std::exit(1);
  }
  // Loop a short video to the requested count.
  for (size_t i = 0; int(frames.size()) < count; ++i) frames.push_back(gst_sample_ref(frames[i]));
  return frames;
}

struct PipelineTiming {
  std::atomic<int> seen{0};
  int warmup = 0;
  Clock::time_point start, end;
};

GstPadProbeReturn on_output(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto* t = static_cast<PipelineTiming*>(data);
  const int n = ++t->seen;
  if (n == t->warmup) t->start = Clock::now();
  t->end = Clock::now();
  return GST_PAD_PROBE_OK;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  std::string bundle_path, video = "/usr/share/doc/opencv-doc/examples/data/vtest.avi", format = "I420";
  int frames = 20, warmup = 3, width = 480, height = 360, threads = 0, repeat = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--video") video = next();
    else if (a == "--frames") frames = std::atoi(next().c_str());
    else if (a == "--warmup") warmup = std::atoi(next().c_str());
    else if (a == "--repeat") repeat = std::atoi(next().c_str());
    else if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--format") format = next();
    else if (a == "--json") json = true;
    else if (a == "--size") {
      const std::string v = next();
      if (std::sscanf(v.c_str(), "%dx%d", &width, &height) != 2) usage("--size is WxH");
    } else if (a == "--help" || a == "-h") usage("help");
    else if (!a.empty() && a[0] == '-') usage(("unknown option " + a).c_str());
    else if (bundle_path.empty()) bundle_path = a;
    else usage("one bundle only");
  }
  if (bundle_path.empty()) usage("a bundle is needed");
  if (frames < 1 || warmup < 1 || width < 1 || height < 1 || repeat < 1)
    usage("frames, warmup, repeat and size must be positive");
  if (!video.empty() && !g_file_test(video.c_str(), G_FILE_TEST_EXISTS)) video.clear();
  if (threads > 0) at::set_num_threads(threads);
  threads = at::get_num_threads();

  const int total = warmup + frames;
  std::vector<GstSample*> samples = decode_frames(video, width, height, format, total);

  // The engine alone. The RGB frames are made outside the timing (in a
  // pipeline the element converts them itself, inside the timing).
  std::shared_ptr<const gearnn::Bundle> bundle;
  try {
    bundle = gearnn::Bundle::load_shared(bundle_path, "cpu");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearnn-gst-bench: %s\n", e.what());
    return 1;
  }
  gearnn::AdaptiveModel model(bundle);
  const std::string level_name = model.level_name();
  std::vector<at::Tensor> inputs;
  {
    GstVideoInfo in_info, rgb_info;
    gst_video_info_from_caps(&in_info, gst_sample_get_caps(samples[0]));
    gst_video_info_set_format(&rgb_info, GST_VIDEO_FORMAT_RGB, width, height);
    rgb_info.fps_n = in_info.fps_n;
    rgb_info.fps_d = in_info.fps_d;
    GstVideoConverter* conv = gst_video_converter_new(&in_info, &rgb_info, nullptr);
    std::vector<uint8_t> rgb(GST_VIDEO_INFO_SIZE(&rgb_info));
    for (GstSample* s : samples) {
      GstVideoFrame in, out;
      GstBuffer* wrap = gst_buffer_new_wrapped_full(GstMemoryFlags(0), rgb.data(), rgb.size(), 0, rgb.size(),
                                                    nullptr, nullptr);
      gst_video_frame_map(&in, &in_info, gst_sample_get_buffer(s), GST_MAP_READ);
      gst_video_frame_map(&out, &rgb_info, wrap, GST_MAP_WRITE);
      gst_video_converter_frame(conv, &in, &out);
      gst_video_frame_unmap(&out);
      gst_video_frame_unmap(&in);
      gst_buffer_unref(wrap);
      const gearnn::RgbView view{rgb.data(), width, height, size_t(GST_VIDEO_INFO_PLANE_STRIDE(&rgb_info, 0))};
      inputs.push_back(gearnn::frame_to_input(view, bundle->manifest().normalization, bundle->device()));
    }
    gst_video_converter_free(conv);
  }
  auto run_bare = [&]() {
    Clock::time_point t0;
    for (int i = 0; i < total; ++i) {
      if (i == warmup) t0 = Clock::now();
      at::Tensor out = model.forward(inputs[size_t(i)]);
      (void)out.data_ptr<float>();
    }
    return frames / std::chrono::duration<double>(Clock::now() - t0).count();
  };

  // The element in a pipeline: returns frames/s, or -1 on failure.
  auto run_pipeline = [&]() -> double {
    const std::string desc = "appsrc name=src format=time block=true max-bytes=0 ! gearnn name=nn bundle=\"" +
                             bundle_path + "\" level-source=fixed level=\"" + level_name +
                             "\" threads=" + std::to_string(threads) + " ! fakesink name=sink sync=false";
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(desc.c_str(), &error);
    if (!pipeline) {
      std::fprintf(stderr, "gearnn-gst-bench: %s (is GST_PLUGIN_PATH set to the build's gst folder?)\n",
                   error->message);
      return -1.0;
    }
    GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    g_object_set(src, "caps", gst_sample_get_caps(samples[0]), "max-buffers", guint64(4), nullptr);
    PipelineTiming timing;
    timing.warmup = warmup;
    GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, on_output, &timing, nullptr);
    gst_object_unref(sinkpad);
    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      std::fprintf(stderr, "gearnn-gst-bench: the pipeline does not start\n");
      return -1.0;
    }
    const GstClockTime duration = GST_SECOND / 30;
    for (int i = 0; i < total; ++i) {
      GstBuffer* b = gst_buffer_copy(gst_sample_get_buffer(samples[size_t(i)]));
      GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = GstClockTime(i) * duration;
      GST_BUFFER_DURATION(b) = duration;
      gst_app_src_push_buffer(GST_APP_SRC(src), b);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
                                                 GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    int rc = 0;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      std::fprintf(stderr, "gearnn-gst-bench: pipeline error: %s\n", err->message);
      g_error_free(err);
      rc = 1;
    }
    gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    if (rc) return -1.0;
    if (timing.seen != total) {
      std::fprintf(stderr, "gearnn-gst-bench: %d of %d frames came out of the pipeline\n", timing.seen.load(), total);
      return -1.0;
    }
    // From the warmup-th frame out to the last one out: `frames` frames processed.
    return frames / std::chrono::duration<double>(timing.end - timing.start).count();
  };

  // Alternate the two, `repeat` times each, and keep the best of each: on a
  // shared machine the other load only ever slows a run down.
  double bare_fps = 0, pipe_fps = 0;
  std::string runs;
  for (int r = 0; r < repeat; ++r) {
    const double b = run_bare();
    const double p = run_pipeline();
    if (p < 0) return 1;
    bare_fps = std::max(bare_fps, b);
    pipe_fps = std::max(pipe_fps, p);
    char line[96];
    std::snprintf(line, sizeof line, "%s{\"bare\": %.4f, \"pipeline\": %.4f}", r ? ", " : "", b, p);
    runs += line;
  }
  for (GstSample* s : samples) gst_sample_unref(s);
  const double ratio = bare_fps > 0 ? pipe_fps / bare_fps : 0;
  const std::string arch = bundle->manifest().architecture;
  if (json) {
    std::printf("{\"architecture\": \"%s\", \"width_multiplier\": %g, \"frame\": \"%dx%d\", \"format\": \"%s\", "
                "\"frames\": %d, \"threads\": %d, \"bare_forward_fps\": %.4f, \"pipeline_fps\": %.4f, "
                "\"ratio\": %.4f, \"runs\": [%s]}\n",
                arch.c_str(), bundle->manifest().width, width, height, format.c_str(), frames, threads, bare_fps,
                pipe_fps, ratio, runs.c_str());
  } else {
    std::printf("bundle %s (%s, width %g), %dx%d %s frames, %d timed (+%d warm-up), %d threads, best of %d\n",
                bundle_path.c_str(), arch.c_str(), bundle->manifest().width, width, height, format.c_str(), frames,
                warmup, threads, repeat);
    std::printf("runs (frames/s): %s\n", runs.c_str());
    std::printf("bare forward:                 %8.3f frames/s  (%.1f ms/frame)\n", bare_fps, 1000.0 / bare_fps);
    std::printf("pipeline (appsrc ! gearnn):   %8.3f frames/s  (%.1f ms/frame)\n", pipe_fps, 1000.0 / pipe_fps);
    std::printf("ratio pipeline / bare:        %8.3f\n", ratio);
  }
  return 0;
}
