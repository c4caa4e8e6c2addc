// gearnn-gst-bench: the same frames through the gearnn element in a real
// pipeline (appsrc ! gearnn ! fakesink) and through the bare engine (segment_into)
// at the same thread count; prints both throughputs and their ratio.
//
//   gearnn-gst-bench BUNDLE [options]      (--help lists them)
//
// Both sides run the same pre-decoded frames on the same level with the same
// LibTorch thread count. The bare side is the engine's own work,
// AdaptiveModel::segment_into (normalisation, padding, network, fused
// up-sampling and argmax, crop) on RGB frames made beforehand, outside the
// timing, by the element's own conversion (StreamEngine); the pipeline side
// times everything the element does per frame (that conversion, the engine's
// work, the meta), so the ratio is the cost of being an element.
//
// Each run of each side is its own process (this program with --side), as in
// deployment. In one process the two sides would each keep an OpenMP thread
// pool (one per thread that runs LibTorch: here the main thread, there the
// streaming thread); on a machine with as many cores as threads the idle pool
// makes GNU OpenMP stop spin-waiting, which slowed whichever side ran second
// by up to a fifth.
#include "adaptive_model.h"
#include "bundle.h"
#include "cli/args.h"
#include "cli/bench_timing.h"
#include "gearnnmeta.h"
#include "stream_engine.h"
#include "stream_player.h"

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
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const gearnn::cli::CommandSpec kSpec{
    "gearnn-gst-bench BUNDLE [--video FILE] [--frames N] [--warmup K] [--size WxH] [--format F] [--threads T] "
    "[--repeat R] [--early-exit] [--json]",
    "The same frames through the gearnn element (appsrc ! gearnn ! fakesink) and\n"
    "through the bare engine (segment_into), at the same thread count; prints both\n"
    "throughputs and their ratio (the best of --repeat runs of each side, and the\n"
    "median of the ratios of each run pair).",
    {{"--video", "FILE", "frames to decode (default: OpenCV's vtest.avi, else a test pattern)"},
     {"--frames", "N", "timed frames (default 20)"},
     {"--warmup", "K", "frames before the timing starts (default 3)"},
     {"--size", "WxH", "frame size (default 480x360)"},
     {"--format", "F", "raw format the element gets: I420, RGB, NV12, BGRx, ... (default I420)"},
     {"--threads", "T", "LibTorch threads on both sides (default: LibTorch's setting)"},
     {"--repeat", "R", "runs of each side (default 3)"},
     {"--early-exit", "", "both sides take the bundle's early exits (FlexDNN); adds the exit rate per exit"},
     {"--json", "", "one JSON object instead of the table"},
     {"--side", "bare|pipeline", "internal: run that side once and print its figures"}},
    1,
    1};

struct Options {
  std::string bundle, video = "/usr/share/doc/opencv-doc/examples/data/vtest.avi", format = "I420";
  int frames = 20, warmup = 3, width = 480, height = 360, threads = 0, repeat = 3;
  bool json = false, early_exit = false;
  std::string side;  // "bare" or "pipeline": run that side once and print its figures (internal)
};

Options parse_options(const gearnn::cli::Args& args) {
  using gearnn::cli::UsageError;
  Options o;
  o.bundle = args.positional()[0];
  o.video = args.get("--video", o.video);
  o.format = args.get("--format", o.format);
  o.frames = args.get_int("--frames", o.frames);
  o.warmup = args.get_int("--warmup", o.warmup);
  o.repeat = args.get_int("--repeat", o.repeat);
  o.threads = args.get_int("--threads", o.threads);
  o.json = args.has("--json");
  o.early_exit = args.has("--early-exit");
  o.side = args.get("--side");
  if (args.has("--size")) std::tie(o.width, o.height) = gearnn::cli::parse_size("--size", args.get("--size"));
  if (o.frames < 1 || o.warmup < 1 || o.width < 1 || o.height < 1 || o.repeat < 1)
    throw UsageError("frames, warmup, repeat and size must be positive");
  if (!o.side.empty() && o.side != "bare" && o.side != "pipeline") throw UsageError("--side is bare or pipeline");
  if (!o.video.empty() && !g_file_test(o.video.c_str(), G_FILE_TEST_EXISTS)) o.video.clear();
  return o;
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
  if (error) {  // set also for a pipeline built without a missing element
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
  double inference_ms = 0;  // sum over the timed frames of the meta's inference time
  double compute_fraction = 0;                // sum over the timed frames, with early exits on
  std::map<std::string, int> frames_per_exit;  // timed frames by the exit they took ("network": none)
};

GstPadProbeReturn on_output(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* t = static_cast<PipelineTiming*>(data);
  const int n = ++t->seen;
  if (n == t->warmup) t->start = Clock::now();
  t->end = Clock::now();
  GstGearnnSegmentation seg;
  if (n > t->warmup && gst_buffer_get_gearnn_segmentation(GST_PAD_PROBE_INFO_BUFFER(info), &seg)) {
    t->inference_ms += double(seg.inference_ns) / 1e6;
    if (seg.has_compute_fraction) {
      t->compute_fraction += seg.compute_fraction;
      ++t->frames_per_exit[seg.exit ? seg.exit : "network"];
    }
  }
  return GST_PAD_PROBE_OK;
}


// One side, once: frames/s and (pipeline) the element's own segment_into() ms per frame.
struct SideResult {
  double fps = -1, inference_ms = 0;
  double compute_fraction = 1;  // mean, pipeline side with --early-exit
  std::string exits;            // "stage:frames,..." (pipeline side with --early-exit)
};

SideResult run_bare(const Options& o, const std::vector<GstSample*>& samples) {
  // The RGB frames are made outside the timing, by the element's own
  // conversion (in a pipeline the element makes them inside it).
  GstVideoInfo in_info;
  gst_video_info_from_caps(&in_info, gst_sample_get_caps(samples[0]));
  gstgearnn::StreamEngine engine(o.bundle, "cpu");
  gearnn::AdaptiveModel& model = engine.model();
  model.set_early_exit(o.early_exit);
  engine.set_format(in_info);
  std::vector<gearnn::RgbImage> frames;
  for (GstSample* s : samples) {
    GstVideoFrame in;
    gst_video_frame_map(&in, &in_info, gst_sample_get_buffer(s), GST_MAP_READ);
    const gearnn::RgbView v = engine.rgb(in);
    gearnn::RgbImage copy{v.width, v.height, {}};
    for (int y = 0; y < v.height; ++y)
      copy.pixels.insert(copy.pixels.end(), v.data + size_t(y) * v.stride, v.data + size_t(y) * v.stride + size_t(v.width) * 3);
    frames.push_back(std::move(copy));
    gst_video_frame_unmap(&in);
  }
  std::vector<uint8_t> classes(size_t(o.width) * size_t(o.height));
  Clock::time_point t0;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (int(i) == o.warmup) t0 = Clock::now();
    model.segment_into(frames[i].view(), classes.data());
  }
  SideResult r;
  r.fps = o.frames / std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

SideResult run_pipeline(const Options& o, const std::vector<GstSample*>& samples, const std::string& level_name) {
  const int total = int(samples.size());
  const std::string desc = "appsrc name=src format=time max-bytes=0 max-buffers=0 ! gearnn name=nn bundle=\"" +
                           o.bundle + "\" level-source=fixed level=\"" + level_name +
                           "\" threads=" + std::to_string(o.threads) +
                           (o.early_exit ? " early-exit=true" : "") + " ! fakesink name=sink sync=false";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &error);
  if (error) {  // a missing gearnn still gives a pipeline, whose appsrc would block for good
    std::fprintf(stderr, "gearnn-gst-bench: %s (is GST_PLUGIN_PATH set to the build's gst folder?)\n",
                 error->message);
    if (pipeline) gst_object_unref(pipeline);
    g_error_free(error);
    return {};
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  g_object_set(src, "caps", gst_sample_get_caps(samples[0]), nullptr);
  PipelineTiming timing;
  timing.warmup = o.warmup;
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, on_output, &timing, nullptr);
  gst_object_unref(sinkpad);
  // Every frame is queued in appsrc before the timing can start, so that this
  // thread sleeps on the bus while the element works: a feeder woken once a
  // frame would take the cores from the element's OpenMP team, which is not
  // the element's cost.
  if (gst_element_set_state(pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE) {
    std::fprintf(stderr, "gearnn-gst-bench: the pipeline does not start\n");
    return {};
  }
  const GstClockTime duration = GST_SECOND / 30;
  for (int i = 0; i < total; ++i) {
    GstBuffer* b = gst_buffer_copy(gst_sample_get_buffer(samples[size_t(i)]));
    GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = GstClockTime(i) * duration;
    GST_BUFFER_DURATION(b) = duration;
    gst_app_src_push_buffer(GST_APP_SRC(src), b);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg =
      gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  bool failed = false;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* err = nullptr;
    gst_message_parse_error(msg, &err, nullptr);
    std::fprintf(stderr, "gearnn-gst-bench: pipeline error: %s\n", err->message);
    g_error_free(err);
    failed = true;
  }
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (failed) return {};
  if (timing.seen != total) {
    std::fprintf(stderr, "gearnn-gst-bench: %d of %d frames came out of the pipeline\n", timing.seen.load(), total);
    return {};
  }
  // From the warmup-th frame out to the last one out: `frames` frames processed.
  SideResult r;
  r.fps = o.frames / std::chrono::duration<double>(timing.end - timing.start).count();
  r.inference_ms = timing.inference_ms / o.frames;
  if (!timing.frames_per_exit.empty()) {
    r.compute_fraction = timing.compute_fraction / o.frames;
    for (const auto& [exit, frames] : timing.frames_per_exit)
      r.exits += (r.exits.empty() ? "" : ",") + exit + ":" + std::to_string(frames);
  }
  return r;
}

// The gearnn elements (GST_PLUGIN_PATH or the build folder), or false after saying why.
bool find_plugin() {
  try {
    gearnn::tools::require_gearnn_plugin();
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearnn-gst-bench: %s\n", e.what());
    return false;
  }
}

// The bundle, or null after saying why.
std::shared_ptr<const gearnn::Bundle> load_bundle(const std::string& path) {
  try {
    return gearnn::Bundle::load_shared(path, "cpu");  // the bare side's StreamEngine shares it
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearnn-gst-bench: %s\n", e.what());
    return nullptr;
  }
}

// The child: one side once; prints "fps inference_ms" on stdout.
int run_side(const Options& o) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  std::vector<GstSample*> samples = decode_frames(o.video, o.width, o.height, o.format, o.warmup + o.frames);
  std::shared_ptr<const gearnn::Bundle> bundle = load_bundle(o.bundle);
  if (!bundle) return 1;
  const std::string level_name = bundle->manifest().levels[bundle->default_level()].name;
  SideResult r;
  if (o.side == "bare") {
    r = run_bare(o, samples);
  } else {
    if (!find_plugin()) return 1;
    bundle.reset();  // the element loads its own copy, as in deployment
    r = run_pipeline(o, samples, level_name);
  }
  for (GstSample* s : samples) gst_sample_unref(s);
  if (r.fps < 0) return 1;
  std::printf("%.6f %.6f %.6f %s\n", r.fps, r.inference_ms, r.compute_fraction, r.exits.empty() ? "-" : r.exits.c_str());
  return 0;
}

// The parent: runs `side` in a child process.
SideResult spawn_side(const char* self, const Options& o, const char* side) {
  std::vector<std::string> args = {self, o.bundle, "--video", o.video, "--frames", std::to_string(o.frames),
                                   "--warmup", std::to_string(o.warmup), "--size",
                                   std::to_string(o.width) + "x" + std::to_string(o.height), "--format", o.format,
                                   "--threads", std::to_string(o.threads), "--side", side};
  if (o.early_exit) args.push_back("--early-exit");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  gchar* out = nullptr;
  gint status = 0;
  GError* error = nullptr;
  SideResult r;
  if (!g_spawn_sync(nullptr, argv.data(), nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &out, nullptr, &status,
                    &error)) {
    std::fprintf(stderr, "gearnn-gst-bench: cannot run %s: %s\n", self, error->message);
    g_error_free(error);
    return r;
  }
  char exits[512] = "";
  if (g_spawn_check_wait_status(status, nullptr) && out &&
      std::sscanf(out, "%lf %lf %lf %511s", &r.fps, &r.inference_ms, &r.compute_fraction, exits) == 4 &&
      std::strcmp(exits, "-") != 0)
    r.exits = exits;
  g_free(out);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Options o;
  try {
    const gearnn::cli::Args args(kSpec, std::vector<std::string>(argv + 1, argv + argc));
    if (args.help()) {
      std::cout << gearnn::cli::help_text(kSpec);
      return 0;
    }
    o = parse_options(args);
  } catch (const gearnn::cli::UsageError& e) {
    std::fprintf(stderr, "gearnn-gst-bench: %s\n\n%s", e.what(), gearnn::cli::help_text(kSpec).c_str());
    return 2;
  }
  if (!o.side.empty()) return run_side(o);
  if (o.threads <= 0) o.threads = at::get_num_threads();

  std::shared_ptr<const gearnn::Bundle> bundle = load_bundle(o.bundle);
  if (!bundle) return 1;
  if (!find_plugin()) return 1;

  // Alternate the two, `repeat` times each, and keep the best of each: on a
  // shared machine the other load only ever slows a run down.
  double bare_fps = 0, pipe_fps = 0, inference_ms = 0;
  SideResult best_pipe;
  std::string runs;
  std::vector<double> pair_ratios;  // each run's pipeline over the bare run just before it
  for (int r = 0; r < o.repeat; ++r) {
    const SideResult b = spawn_side(argv[0], o, "bare");
    const SideResult p = spawn_side(argv[0], o, "pipeline");
    if (b.fps < 0 || p.fps < 0) return 1;
    bare_fps = std::max(bare_fps, b.fps);
    pair_ratios.push_back(p.fps / b.fps);
    if (p.fps > pipe_fps) {
      pipe_fps = p.fps;
      inference_ms = p.inference_ms;
      best_pipe = p;
    }
    char line[96];
    std::snprintf(line, sizeof line, "%s{\"bare\": %.4f, \"pipeline\": %.4f}", r ? ", " : "", b.fps, p.fps);
    runs += line;
  }
  const double ratio = bare_fps > 0 ? pipe_fps / bare_fps : 0;
  const double pair_ratio = gearnn::cli::median(pair_ratios);
  // "stage:frames,..." of the best pipeline run as JSON members and as text.
  std::string exits_json, exits_text;
  {
    std::istringstream items(best_pipe.exits);
    for (std::string item; std::getline(items, item, ',');) {
      const size_t colon = item.rfind(':');
      const std::string stage = item.substr(0, colon);
      const int frames = std::atoi(item.c_str() + colon + 1);
      exits_json += (exits_json.empty() ? "\"" : ", \"") + stage + "\": " + std::to_string(frames);
      char part[96];
      std::snprintf(part, sizeof part, "%s%s %.0f%%", exits_text.empty() ? "" : ", ", stage.c_str(),
                    100.0 * frames / o.frames);
      exits_text += part;
    }
  }
  const std::string arch = bundle->manifest().architecture;
  const double around_ms = 1000.0 / pipe_fps - inference_ms;
  if (o.json) {
    std::printf("{\"architecture\": \"%s\", \"width_multiplier\": %g, \"frame\": \"%dx%d\", \"format\": \"%s\", "
                "\"frames\": %d, \"threads\": %d, \"bare_engine_fps\": %.4f, \"pipeline_fps\": %.4f, "
                "\"ratio\": %.4f, \"ratio_median_of_pairs\": %.4f, \"element_segment_ms\": %.3f, \"early_exit\": %s, \"compute_fraction\": %.4f, "
                "\"frames_per_exit\": {%s}, \"runs\": [%s]}\n",
                arch.c_str(), bundle->manifest().width, o.width, o.height, o.format.c_str(), o.frames, o.threads,
                bare_fps, pipe_fps, ratio, pair_ratio, inference_ms, o.early_exit ? "true" : "false", best_pipe.compute_fraction,
                exits_json.c_str(), runs.c_str());
  } else {
    std::printf("bundle %s (%s, width %g), %dx%d %s frames, %d timed (+%d warm-up), %d threads, best of %d\n",
                o.bundle.c_str(), arch.c_str(), bundle->manifest().width, o.width, o.height, o.format.c_str(),
                o.frames, o.warmup, o.threads, o.repeat);
    std::printf("runs (frames/s): %s\n", runs.c_str());
    std::printf("bare engine (segment_into):   %8.3f frames/s  (%.1f ms/frame)\n", bare_fps, 1000.0 / bare_fps);
    std::printf("pipeline (appsrc ! gearnn):   %8.3f frames/s  (%.1f ms/frame: %.1f in segment_into(), %.1f around it)\n",
                pipe_fps, 1000.0 / pipe_fps, inference_ms, around_ms);
    std::printf("ratio pipeline / bare:        %8.3f  (best against best; median of the %d run pairs %.3f)\n", ratio,
                o.repeat, pair_ratio);
    if (o.early_exit)
      std::printf("early exits (pipeline): %s of the frames; mean compute %.3f of the network's\n",
                  exits_text.empty() ? "none reported (the bundle has no exits)" : exits_text.c_str(),
                  best_pipe.compute_fraction);
  }
  return 0;
}
