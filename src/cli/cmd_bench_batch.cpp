// gearnn bench batch: N streams through one resident bundle, one forward each
// (unbatched) against one forward for all (batched, every stream on one level,
// and every stream on its own level), and through the shared batcher with one
// thread per stream, as the elements use it.
#include "adaptive_model.h"
#include "args.h"
#include "batch_segmenter.h"
#include "bench_timing.h"
#include "commands.h"
#include "error.h"
#include "shared_batcher.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

namespace gearnn::cli {
namespace {

const CommandSpec kSpec{
    "gearnn bench batch BUNDLE [--streams 1,2,4,8] [--size WxH] [--rounds N] [--json]",
    "For each stream count N, times in one run: (a) unbatched: N frames, one\n"
    "segment_into() each, stream k on level k mod L; (b) same: one batched forward\n"
    "of N frames on one level; (c) mixed: one batched forward, stream k on level\n"
    "k mod L; (d) batcher: N threads, one per stream, each submitting its frames to\n"
    "the shared batcher (mixed levels) and waiting, as gearnn elements with\n"
    "batch-size N do. Frames per second are over all streams; latency is from a\n"
    "frame's submission to its class map. Reports medians. Batches run in chunks of\n"
    "at most 200,000 input pixels on a CPU (batch_segmenter.h); --max-pixels changes it.",
    {{"--streams", "LIST", "stream counts (default 1,2,4,8)"},
     {"--size", "WxH", "frame size (default 480x360); a synthetic street-like frame"},
     {"--rounds", "N", "timed rounds per method and stream count (default 10)"},
     {"--timeout", "MS", "the batcher's batch timeout (default 10)"},
     {"--threads", "T", "LibTorch intra-op threads of every method (default: LibTorch's setting)"},
     {"--max-pixels", "P", "input pixels per batched forward (default 200000 on a CPU; 0: unlimited)"},
     {"--json", "", "print JSON"}},
    1,
    1};

struct Row {
  size_t streams = 0;
  double unbatched_fps = 0, same_fps = 0, mixed_fps = 0, batcher_fps = 0;
  double unbatched_latency_ms = 0, same_latency_ms = 0, mixed_latency_ms = 0, batcher_latency_ms = 0;
  size_t split_layers = 0;
};

// Median time of `round` (one untimed warm-up first), in ms.
template <class F>
double time_rounds(int rounds, F round) {
  round();
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    round();
    ms.push_back(millis(Clock::now() - t0));
  }
  return median(ms);
}

// Runs `body` on a thread of its own with `threads` LibTorch threads. GNU
// OpenMP keeps one pool per thread that runs parallel work, spinning a while
// after each region: a pool left on the main thread by one method would take
// cores from the next method's pool. A thread's pool ends with the thread.
template <class F>
void on_own_thread(int threads, F body) {
  std::thread([&] {
    at::set_num_threads(threads);
    c10::InferenceMode guard;
    body();
  }).join();
}

Row measure(const std::shared_ptr<const Bundle>& bundle, const RgbImage& frame, size_t n, int rounds,
            double timeout_ms, int threads, size_t max_pixels) {
  const size_t levels = bundle->level_count();
  const size_t pixels = size_t(frame.width) * size_t(frame.height);
  std::vector<std::vector<uint8_t>> maps(n, std::vector<uint8_t>(pixels));
  Row row;
  row.streams = n;

  on_own_thread(threads, [&] {
    std::vector<std::unique_ptr<AdaptiveModel>> models;
    for (size_t k = 0; k < n; ++k) {
      models.push_back(std::make_unique<AdaptiveModel>(bundle));
      models.back()->select(k % levels);
    }
    const double unbatched = time_rounds(rounds, [&] {
      for (size_t k = 0; k < n; ++k) models[k]->segment_into(frame.view(), maps[k].data());
    });
    row.unbatched_fps = 1000.0 * double(n) / unbatched;
    row.unbatched_latency_ms = unbatched / double(n);
  });
  std::vector<BatchItem> same, mixed;
  for (size_t k = 0; k < n; ++k) {
    same.push_back({frame.view(), 0, maps[k].data()});
    mixed.push_back({frame.view(), k % levels, maps[k].data()});
  }
  // Same and mixed alternate round by round, so that drift in the machine's
  // speed falls on both alike.
  on_own_thread(threads, [&] {
    BatchSegmenter same_segmenter(bundle, max_pixels), mixed_segmenter(bundle, max_pixels);
    same_segmenter.segment(same);
    mixed_segmenter.segment(mixed);
    std::vector<double> same_ms, mixed_ms;
    auto timed = [](BatchSegmenter& segmenter, const std::vector<BatchItem>& items) {
      const auto t0 = Clock::now();
      segmenter.segment(items);
      return millis(Clock::now() - t0);
    };
    for (int r = 0; r < rounds; ++r) {  // which goes first alternates too
      if (r % 2) mixed_ms.push_back(timed(mixed_segmenter, mixed));
      same_ms.push_back(timed(same_segmenter, same));
      if (r % 2 == 0) mixed_ms.push_back(timed(mixed_segmenter, mixed));
    }
    row.same_latency_ms = median(same_ms);
    row.mixed_latency_ms = median(mixed_ms);
  });
  row.same_fps = 1000.0 * double(n) / row.same_latency_ms;
  row.mixed_fps = 1000.0 * double(n) / row.mixed_latency_ms;
  std::vector<size_t> mixed_levels;
  for (size_t k = 0; k < n; ++k) mixed_levels.push_back(k % levels);
  row.split_layers = MixedBatchPlan(bundle, mixed_levels).split_layers();

  // The batcher: one thread per stream, rounds + 1 frames each (the first untimed).
  BatchSettings settings;
  settings.batch_size = n;
  settings.timeout = std::chrono::microseconds(int64_t(timeout_ms * 1000));
  settings.group = "bench-" + std::to_string(n);
  settings.threads = threads;  // as the measurements above
  std::vector<std::vector<double>> latencies(n);
  std::vector<Clock::time_point> first(n), last(n);
  std::vector<std::thread> clients;
  for (size_t k = 0; k < n; ++k) {
    clients.emplace_back([&, k] {
      c10::InferenceMode thread_guard;
      auto client = SharedBatcher::join(bundle, settings);
      client->segment(frame.view(), k % levels, maps[k].data());  // warm-up
      first[k] = Clock::now();
      for (int r = 0; r < rounds; ++r) {
        const auto t0 = Clock::now();
        client->segment(frame.view(), k % levels, maps[k].data());
        latencies[k].push_back(millis(Clock::now() - t0));
      }
      last[k] = Clock::now();
    });
  }
  for (auto& t : clients) t.join();
  const double total_ms = millis(*std::max_element(last.begin(), last.end()) - *std::min_element(first.begin(), first.end()));
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  row.batcher_latency_ms = median(all);
  row.batcher_fps = 1000.0 * double(n) * double(rounds) / total_ms;
  return row;
}

}  // namespace

int bench_batch(const std::vector<std::string>& argv) {
  const Args args(kSpec, argv);
  if (args.help()) {
    std::cout << help_text(kSpec);
    return 0;
  }
  const int rounds = args.get_int("--rounds", 10);
  if (rounds < 1) throw UsageError("--rounds must be at least 1");
  const double timeout_ms = args.get_double("--timeout", 10.0);
  if (!(timeout_ms >= 0)) throw UsageError("--timeout must not be negative");
  const int threads = args.get_int("--threads", at::get_num_threads());
  if (threads < 1) throw UsageError("--threads must be at least 1");
  std::vector<size_t> counts;
  {
    std::istringstream in(args.get("--streams", "1,2,4,8"));
    std::string item;
    while (std::getline(in, item, ',')) {
      const int n = std::atoi(item.c_str());
      if (n < 1 || n > 256 || std::to_string(n) != item) throw UsageError("--streams: '" + item + "' is not a count 1..256");
      counts.push_back(size_t(n));
    }
  }
  const auto bundle = Bundle::load(args.positional()[0], "cpu", DescriptorCheck::current, Folding::inference);
  const auto [width, height] = args.has("--size") ? parse_size("--size", args.get("--size")) : std::pair{480, 360};
  const RgbImage frame = synthetic_frame(width, height);

  std::vector<Row> rows;
  const long max_pixels_option = args.get_int("--max-pixels", int(BatchSegmenter::kCpuMaxBatchPixels));
  if (max_pixels_option < 0) throw UsageError("--max-pixels must not be negative");
  const size_t max_pixels = max_pixels_option == 0 ? SIZE_MAX : size_t(max_pixels_option);
  for (size_t n : counts) rows.push_back(measure(bundle, frame, n, rounds, timeout_ms, threads, max_pixels));

  if (args.has("--json")) {
    nlohmann::json runs = nlohmann::json::array();
    for (const Row& r : rows)
      runs.push_back({{"streams", r.streams},
                      {"unbatched_fps", r.unbatched_fps},
                      {"same_fps", r.same_fps},
                      {"mixed_fps", r.mixed_fps},
                      {"batcher_fps", r.batcher_fps},
                      {"unbatched_latency_ms_median", r.unbatched_latency_ms},
                      {"same_latency_ms_median", r.same_latency_ms},
                      {"mixed_latency_ms_median", r.mixed_latency_ms},
                      {"batcher_latency_ms_median", r.batcher_latency_ms},
                      {"mixed_over_same", r.mixed_fps / r.same_fps},
                      {"mixed_over_unbatched", r.mixed_fps / r.unbatched_fps},
                      {"split_layers", r.split_layers}});
    nlohmann::json j = {{"bundle", bundle->folder()},
                        {"levels", bundle->level_count()},
                        {"frame", std::to_string(width) + "x" + std::to_string(height)},
                        {"threads", threads},
                        {"rounds", rounds},
                        {"batch_timeout_ms", timeout_ms},
                        {"max_batch_pixels", max_pixels == SIZE_MAX ? 0 : max_pixels},
                        {"frames_per_forward", std::min(counts.back(), BatchSegmenter(bundle, max_pixels).chunk_for(width, height))},
                        {"runs", runs}};
    // The largest stream count's figures at the top level too.
    for (const auto& [key, value] : runs.back().items()) j[key] = value;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("bundle %s, %zu levels, %dx%d, %d threads, median of %d rounds, at most %zu frames per forward; "
              "fps over all streams\n", bundle->folder().c_str(), bundle->level_count(), width, height, threads, rounds,
              BatchSegmenter(bundle, max_pixels).chunk_for(width, height));
  std::printf("%7s %10s %10s %10s %10s %11s %11s %13s\n", "streams", "unbatched", "same", "mixed", "batcher",
              "mixed/same", "mixed/unb.", "batcher lat.");
  for (const Row& r : rows)
    std::printf("%7zu %10.2f %10.2f %10.2f %10.2f %11.3f %11.3f %10.1f ms\n", r.streams, r.unbatched_fps, r.same_fps,
                r.mixed_fps, r.batcher_fps, r.mixed_fps / r.same_fps, r.mixed_fps / r.unbatched_fps,
                r.batcher_latency_ms);
  return 0;
}

}  // namespace gearnn::cli
