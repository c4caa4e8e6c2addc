// gearnn-soak: tens of thousands of frames through gearnn, as a 24/7
// pipeline sees them: the level switching every few frames (the quality
// meta's QP cycles through the bundle's levels), caps changes between two
// sizes, flushes and new segments. Prints the resident memory at intervals
// and fails when it grows by more than --max-growth between the first
// report and the last.
#include "cli/args.h"
#include "error.h"
#include "gearnnmeta.h"
#include "manifest.h"
#include "stream_player.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

#ifdef GEARNN_STATIC_PLUGIN
// gearnn-soak-sanitized has the plugin compiled in (plugin.cpp defines this with C linkage).
extern "C" void gst_plugin_gearnn_register(void);
#endif

using namespace gearnn;
using namespace gearnn::cli;

namespace {

const CommandSpec kSpec{
    "gearnn-soak BUNDLE [--frames 20000] [--report-every 2000] [--sizes 64x48,96x72] [options]",
    "Pushes frames through a gearnn element (GstHarness) with a level switch every\n"
    "--switch-every frames, a caps change every --caps-every frames and a flush\n"
    "every --flush-every frames, printing resident memory every --report-every\n"
    "frames. Exits 1 when it grew by more than --max-growth percent from the\n"
    "first report to the last.",
    {{"--frames", "N", "frames in all (default 20000)"},
     {"--report-every", "N", "frames between memory reports (default 2000)"},
     {"--sizes", "WxH,WxH", "the two frame sizes the caps alternate between (default 64x48,96x72)"},
     {"--switch-every", "N", "frames between QP changes (default 5)"},
     {"--caps-every", "N", "frames between caps changes (default 500)"},
     {"--flush-every", "N", "frames between flushes (default 1000)"},
     {"--threads", "N", "gearnn's threads (default 1)"},
     {"--max-growth", "PCT", "allowed growth of resident memory (default 2)"}},
    1,
    1};

double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

std::pair<int, int> parse_even_size(const std::string& s) {
  const auto [w, h] = parse_size("--sizes", s);
  if (w < 8 || h < 8 || w % 2 || h % 2) throw UsageError("--sizes needs two even sizes of at least 8x8, not '" + s + "'");
  return {w, h};
}

std::string caps_for(std::pair<int, int> size) {
  return "video/x-raw,format=I420,width=" + std::to_string(size.first) + ",height=" + std::to_string(size.second) +
         ",framerate=30/1";
}

int run(int argc, char** argv) {
  const Args args(kSpec, std::vector<std::string>(argv + 1, argv + argc));
  if (args.help()) {
    std::cout << help_text(kSpec);
    return 0;
  }
  gst_init(nullptr, nullptr);
#ifdef GEARNN_STATIC_PLUGIN
  gst_plugin_gearnn_register();
#else
  tools::require_gearnn_plugin();
#endif
  const std::string bundle = args.positional()[0];
  const int frames = args.get_int("--frames", 20000), every = args.get_int("--report-every", 2000);
  const int switch_every = args.get_int("--switch-every", 5), caps_every = args.get_int("--caps-every", 500);
  const int flush_every = args.get_int("--flush-every", 1000);
  const double max_growth = args.get_double("--max-growth", 2.0);
  const std::string sizes = args.get("--sizes", "64x48,96x72");
  const size_t comma = sizes.find(',');
  if (comma == std::string::npos) throw UsageError("--sizes needs two sizes WxH,WxH");
  const std::pair<int, int> size[2] = {parse_even_size(sizes.substr(0, comma)), parse_even_size(sizes.substr(comma + 1))};
  if (frames < 1 || every < 1 || switch_every < 1 || caps_every < 1 || flush_every < 1)
    throw UsageError("counts must be at least 1");

  // The QPs the levels describe, to cycle through (a bundle without QP levels switches on size alone).
  std::vector<double> qps;
  for (const LevelSpec& l : read_manifest(manifest_path_of(bundle)).levels)
    if (l.distortion.h264_qp) qps.push_back(*l.distortion.h264_qp);
  if (qps.empty()) qps.push_back(30);

  GstHarness* h = gst_harness_new_parse(("gearnn bundle=\"" + bundle + "\" qp-window=1 hysteresis=0 threads=" +
                                         std::to_string(args.get_int("--threads", 1))).c_str());
  if (!h) throw Error("cannot make a gearnn harness");
  int current = 0;
  gst_harness_set_src_caps_str(h, caps_for(size[current]).c_str());
  std::vector<double> reports;
  long switches_seen = 0;
  std::string last_level;
  for (int i = 0; i < frames; ++i) {
    if (i > 0 && i % caps_every == 0) {
      current = 1 - current;
      gst_harness_set_src_caps_str(h, caps_for(size[current]).c_str());
    }
    if (i > 0 && i % flush_every == 0) {
      gst_harness_push_event(h, gst_event_new_flush_start());
      gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
      GstSegment segment;
      gst_segment_init(&segment, GST_FORMAT_TIME);
      gst_harness_push_event(h, gst_event_new_segment(&segment));
    }
    const int w = size[current].first, hgt = size[current].second;
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, size_t(w) * hgt * 3 / 2, nullptr);
    gst_buffer_memset(buf, 0, guint8(16 + (i * 7) % 200), size_t(w) * hgt);
    gst_buffer_memset(buf, size_t(w) * hgt, 128, size_t(w) * hgt / 2);
    GST_BUFFER_PTS(buf) = GstClockTime(i) * (GST_SECOND / 30);
    GstGearnnQuality q{};
    q.codec = "h264";
    q.qp = qps[size_t(i / switch_every) % qps.size()];
    q.jpeg_quality = -1;
    q.slices = 1;
    q.slice_types = "P";
    q.frame_type = 'P';
    gst_buffer_add_gearnn_quality(buf, &q);
    if (gst_harness_push(h, buf) != GST_FLOW_OK) throw Error("frame " + std::to_string(i) + " was refused");
    GstBuffer* out = gst_harness_pull(h);
    GstGearnnSegmentation seg;
    if (!out || !gst_buffer_get_gearnn_segmentation(out, &seg))
      throw Error("frame " + std::to_string(i) + " came out without a segmentation");
    if (seg.level != last_level) ++switches_seen;
    last_level = seg.level;
    gst_buffer_unref(out);
    while (GstEvent* e = gst_harness_try_pull_event(h)) gst_event_unref(e);
    if ((i + 1) % every == 0 || i + 1 == frames) {
      reports.push_back(resident_mib());
      std::printf("frames %6d  resident %8.1f MiB  level switches %ld\n", i + 1, reports.back(), switches_seen);
      std::fflush(stdout);
    }
  }
  gst_harness_teardown(h);
  const double growth = 100.0 * (reports.back() - reports.front()) / reports.front();
  std::printf("resident memory from the first report to the last: %+.2f%% (limit %.1f%%)\n", growth, max_growth);
  std::fflush(stdout);  // a leak checker's exit skips stdio's own flush
  return growth > max_growth ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int status = run(argc, argv);
    if (gst_is_initialized()) gst_deinit();  // what GStreamer keeps to the end is not counted as leaked
    return status;
  } catch (const UsageError& e) {
    std::cerr << "gearnn-soak: " << e.what() << "\n" << kSpec.usage << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gearnn-soak: " << e.what() << "\n";
    return 1;
  }
}
