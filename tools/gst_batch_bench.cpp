// gearnn-gst-batch-bench: N streams in one process, each its own branch
// (videotestsrc ! gearnn level-source=fixed ! fakesink, one streaming thread
// per stream), played three ways for each stream count: (a) unbatched
// elements (batch-size=1), every stream on its own level; (b) batch-size=N,
// every stream on one level; (c) batch-size=N, every stream on its own level.
// Frames per second are over all streams, from the warm-up frame to the last;
// latency is the meta's inference time (for a batched frame: from its
// submission to its class map, waiting included).
//
// Unbatched elements run their forwards side by side, `--threads` each (1 by
// default: N streams then use min(N, cores) cores); batched, one forward runs
// at a time, on the batcher's `--batch-threads` (default: every core).
//
//   gearnn-gst-batch-bench BUNDLE [--streams 1,2,4,8] [--size WxH] [--frames N] [--json]
#include "bundle.h"
#include "cli/args.h"
#include "error.h"
#include "gearnnmeta.h"
#include "stream_player.h"

#include <gst/gst.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const gearnn::cli::CommandSpec kSpec{
    "gearnn-gst-batch-bench BUNDLE [--streams 1,2,4,8] [--size WxH] [--frames N] [--threads T] [--json]",
    "N gearnn elements in one process: unbatched, batched on one level, batched on\n"
    "a level each; frames/s over all streams and per-frame latency.",
    {{"--streams", "LIST", "stream counts (default 1,2,4,8)"},
     {"--size", "WxH", "frame size (default 480x360)"},
     {"--frames", "N", "frames per stream (default 20, the first 3 untimed)"},
     {"--threads", "T", "LibTorch threads of each unbatched element (default 1)"},
     {"--batch-threads", "T", "LibTorch threads of the batcher (default: every core)"},
     {"--timeout", "MS", "batch-timeout (default 10)"},
     {"--json", "", "print JSON"}},
    1,
    1};

constexpr int kWarmup = 3;

struct Timing {
  std::mutex mutex;
  int seen = 0, warm_after = 0;
  Clock::time_point start, end;
  std::vector<double> latency_ms;
};

GstPadProbeReturn on_frame(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* t = static_cast<Timing*>(data);
  GstGearnnSegmentation seg;
  const bool has = gst_buffer_get_gearnn_segmentation(GST_PAD_PROBE_INFO_BUFFER(info), &seg);
  std::lock_guard<std::mutex> lock(t->mutex);
  if (++t->seen == t->warm_after) t->start = Clock::now();
  t->end = Clock::now();
  if (t->seen > t->warm_after && has) t->latency_ms.push_back(double(seg.inference_ns) / 1e6);
  return GST_PAD_PROBE_OK;
}

struct Result {
  double fps = 0, latency_ms = 0, mean_batch = 0;
};

Result play(const std::string& bundle, const std::vector<std::string>& levels, int width, int height, int frames,
            int threads, int batch_size, int timeout_ms) {
  std::string desc;
  for (size_t k = 0; k < levels.size(); ++k)
    desc += "videotestsrc num-buffers=" + std::to_string(frames) + " pattern=" + std::to_string(k % 3 ? 18 : 0) +
            " ! video/x-raw,format=I420,width=" + std::to_string(width) + ",height=" + std::to_string(height) +
            " ! gearnn name=nn" + std::to_string(k) + " bundle=\"" + bundle + "\" level-source=fixed level=\"" +
            levels[k] + "\" threads=" + std::to_string(threads) + " batch-size=" + std::to_string(batch_size) +
            " batch-timeout=" + std::to_string(timeout_ms) + " ! fakesink name=sink" + std::to_string(k) +
            " sync=false ";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &error);
  if (error) throw gearnn::Error(std::string("pipeline: ") + error->message);
  Timing timing;
  timing.warm_after = kWarmup * int(levels.size());
  for (size_t k = 0; k < levels.size(); ++k) {
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), ("sink" + std::to_string(k)).c_str());
    GstPad* pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_frame, &timing, nullptr);
    gst_object_unref(pad);
    gst_object_unref(sink);
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 600 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  std::string why = m ? "error" : "no EOS within 600 s";
  if (m && !ok) {
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    why = e->message;
    g_error_free(e);
  }
  if (m) gst_message_unref(m);
  Result r;
  GstElement* nn = gst_bin_get_by_name(GST_BIN(pipeline), "nn0");
  g_object_get(nn, "batch-mean-size", &r.mean_batch, nullptr);
  gst_object_unref(nn);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  if (!ok) throw gearnn::Error("pipeline of " + std::to_string(levels.size()) + " streams: " + why);
  const int timed = timing.seen - timing.warm_after;
  r.fps = double(timed) / std::chrono::duration<double>(timing.end - timing.start).count();
  std::sort(timing.latency_ms.begin(), timing.latency_ms.end());
  r.latency_ms = timing.latency_ms.empty() ? 0 : timing.latency_ms[timing.latency_ms.size() / 2];
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  try {
    const gearnn::cli::Args args(kSpec, std::vector<std::string>(argv + 1, argv + argc));
    if (args.help()) {
      std::cout << gearnn::cli::help_text(kSpec);
      return 0;
    }
    gearnn::tools::require_gearnn_plugin();
    const std::string bundle = args.positional()[0];
    const auto [width, height] =
        args.has("--size") ? gearnn::cli::parse_size("--size", args.get("--size")) : std::pair{480, 360};
    const int frames = args.get_int("--frames", 20), threads = args.get_int("--threads", 1);
    const int timeout = args.get_int("--timeout", 10);
    const int batch_threads = args.get_int("--batch-threads", int(std::max(1u, std::thread::hardware_concurrency())));
    if (frames <= kWarmup || threads < 1 || batch_threads < 1 || timeout < 0)
      throw gearnn::cli::UsageError("--frames must exceed 3, --threads be at least 1, --timeout not negative");
    std::vector<int> counts;
    std::istringstream in(args.get("--streams", "1,2,4,8"));
    for (std::string item; std::getline(in, item, ',');) counts.push_back(std::stoi(item));
    std::vector<std::string> names;
    const auto loaded = gearnn::Bundle::load(bundle, "cpu");
    for (const auto& l : loaded->manifest().levels) names.push_back(l.name);

    nlohmann::json runs = nlohmann::json::array();
    if (!args.has("--json"))
      std::printf("%s, %dx%d, %d frames per stream, %d threads per unbatched element, %d for the batcher; "
                  "fps over all streams\n", bundle.c_str(), width, height, frames, threads, batch_threads);
    for (int n : counts) {
      std::vector<std::string> own, one(size_t(n), names[0]);
      for (int k = 0; k < n; ++k) own.push_back(names[size_t(k) % names.size()]);
      const Result unbatched = play(bundle, own, width, height, frames, threads, 1, timeout);
      const Result same = play(bundle, one, width, height, frames, batch_threads, n, timeout);
      const Result mixed = play(bundle, own, width, height, frames, batch_threads, n, timeout);
      runs.push_back({{"streams", n},
                      {"unbatched_fps", unbatched.fps},
                      {"same_fps", same.fps},
                      {"mixed_fps", mixed.fps},
                      {"unbatched_latency_ms_median", unbatched.latency_ms},
                      {"mixed_latency_ms_median", mixed.latency_ms},
                      {"mixed_mean_batch", mixed.mean_batch},
                      {"mixed_over_same", mixed.fps / same.fps},
                      {"mixed_over_unbatched", mixed.fps / unbatched.fps}});
      if (!args.has("--json"))
        std::printf("  %2d streams: unbatched %7.2f  same %7.2f  mixed %7.2f fps (mixed/same %.3f, "
                    "mixed/unbatched %.3f, mean batch %.2f); latency unbatched %.1f ms, mixed %.1f ms\n",
                    n, unbatched.fps, same.fps, mixed.fps, mixed.fps / same.fps, mixed.fps / unbatched.fps,
                    mixed.mean_batch, unbatched.latency_ms, mixed.latency_ms);
    }
    if (args.has("--json")) {
      nlohmann::json j = {{"bundle", bundle}, {"frame", std::to_string(width) + "x" + std::to_string(height)},
                          {"threads", threads}, {"batch_threads", batch_threads}, {"frames_per_stream", frames},
                          {"runs", runs}};
      for (const auto& [key, value] : runs.back().items()) j[key] = value;
      std::cout << j.dump(2) << "\n";
    }
    return 0;
  } catch (const gearnn::cli::UsageError& e) {
    std::fprintf(stderr, "gearnn-gst-batch-bench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearnn-gst-batch-bench: %s\n", e.what());
    return 1;
  }
}
