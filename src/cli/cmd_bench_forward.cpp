// gearnn bench forward: the engine's class-map path (segment_into: scores at
// 1/8 resolution, fused up-sampling and argmax) against its exact forward
// (full-resolution log-probabilities) plus argmax, on the same frame, in one
// run; and, over a dataset, by how many pixels their class maps differ.
#include "adaptive_model.h"
#include "args.h"
#include "class_map_head.h"
#include "bench_timing.h"
#include "commands.h"
#include "data/dataset.h"
#include "early_exit.h"
#include "error.h"
#include "tensor_file.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

namespace gearnn::cli {
namespace {

const CommandSpec kSpec{
    "gearnn bench forward BUNDLE [--size WxH] [--level L] [--frames N] [--threads T] [--json]",
    "Times, alternating on the same frame: segment_into() (the element's path: the\n"
    "network to 1/8-resolution scores, then the fused up-sampling and argmax) and\n"
    "the exact forward() (transposed-conv up-sampling, log-softmax) plus argmax.\n"
    "Reports medians. With --data, counts the pixels where the two class maps\n"
    "differ over a split's images.",
    {{"--size", "WxH", "frame size (default 480x360); a synthetic street-like frame"},
     {"--image", "PNG", "time this image instead (its own size)"},
     {"--level", "L", "level (default: the bundle's base level)"},
     {"--frames", "N", "timed frames of each path (default 20)"},
     {"--warmup", "K", "untimed frames of each path first (default 3)"},
     {"--threads", "T", "LibTorch intra-op threads (default: LibTorch's setting)"},
     {"--no-fold", "", "keep every BN layer apart from its conv (default: fold those no adaptor touches)"},
     {"--save-input", "FILE", "write the frame's normalised input tensor (\"input\") for peer benchmarks"},
     {"--stages", "", "also time each part of segment_into() alone (input, each stage, class map; each exit's "
                      "head, confidence and class map) beside its MACs"},
     {"--data", "ROOT", "also compare the two class maps on this dataset's images"},
     {"--split", "S", "the split for --data (default val)"},
     {"--limit", "N", "at most N images of the split (default all)"},
     {"--json", "", "print JSON"}},
    1,
    1};

struct Mismatch {
  long long pixels = 0, differing = 0;
};

Mismatch compare_on_dataset(AdaptiveModel& model, const std::string& root, const std::string& split, int limit) {
  const Dataset data = Dataset::open(root, split);
  const Normalization& n = model.bundle().manifest().normalization;
  Mismatch m;
  c10::InferenceMode guard;
  const size_t count = limit > 0 ? std::min(data.size(), size_t(limit)) : data.size();
  for (size_t i = 0; i < count; ++i) {
    const RgbImage image = data.load_image(i);
    std::vector<uint8_t> fused(size_t(image.width) * size_t(image.height));
    model.segment_into(image.view(), fused.data());
    const ClassMap exact =
        argmax_class_map(model.forward(frame_to_input(image.view(), n, model.bundle().device())), image.width,
                         image.height);
    for (size_t p = 0; p < fused.size(); ++p) m.differing += fused[p] != exact.classes[p];
    m.pixels += (long long)fused.size();
  }
  return m;
}

struct StageTime {
  std::string stage;
  double ms = 0, macs_share = 0;
  bool exit = false;  // an exit's part: off the network's path, not in its sum
};

// Each part of segment_into() run alone on this frame, medians over the frames:
// the input conversion, each stage of the trunk (on the previous stage's
// output), then the classifier with the fused up-sampling and argmax. Where a
// frame's time goes, against where its multiply-accumulates are. Each exit
// of the bundle adds its head, its confidence and the class map from its
// scores, on the output of the stage it follows.
std::vector<StageTime> time_parts(const Bundle& bundle, const std::string& level, const RgbImage& frame, int warmup,
                                  int frames) {
  const Architecture& arch = bundle.architecture();
  const WeightTable& weights = bundle.weights(*bundle.find_level(level));
  c10::InferenceMode guard;
  std::vector<StageTime> out;
  auto time = [&](const std::string& name, double macs_share, const auto& run, bool exit = false) {
    std::vector<double> ms;
    for (int i = 0; i < warmup + frames; ++i) {
      const auto t0 = Clock::now();
      run();
      if (i >= warmup) ms.push_back(millis(Clock::now() - t0));
    }
    out.push_back({name, median(ms), macs_share, exit});
  };
  FrameInput input(bundle.manifest().normalization, bundle.device());
  time("input", 0, [&] { input.convert(frame.view()); });
  at::Tensor x = input.convert(frame.view());
  const std::vector<int64_t> steps = arch.step_macs(x.size(2), x.size(3));
  int64_t total = 0;
  for (int64_t m : steps) total += m;
  const ExitCosts exit_macs = exit_costs(arch, bundle.exits(), x.size(2), x.size(3));
  UpsampledArgmax head;
  std::vector<uint8_t> classes(size_t(frame.width) * size_t(frame.height));
  for (const Architecture::Stage& stage : arch.stages()) {
    int64_t macs = 0;
    for (size_t k = stage.first_step; k < stage.end_step; ++k) macs += steps[k];
    at::Tensor y;
    time(stage.prefix, double(macs) / double(total), [&] { y = arch.trunk(weights, x, stage.first_step, stage.end_step); });
    x = y;
    for (size_t e = 0; e < bundle.exits().size(); ++e) {
      const ExitHead& exit = bundle.exits()[e];
      if (exit.end_step != stage.end_step) continue;
      at::Tensor scores;
      const std::string name = "exit " + exit.spec.after;
      time(name + " head", double(exit_macs.head[e]) / double(total), [&] { scores = exit.scores(x); }, true);
      time(name + " confidence", 0, [&] { exit_confidence(scores); }, true);
      time(name + " class map", 0, [&] { head.run(scores, frame.width, frame.height, classes.data()); }, true);
    }
  }
  time("class map", double(steps.back()) / double(total),
       [&] { head.run(arch.classify(weights, x), frame.width, frame.height, classes.data()); });
  return out;
}

}  // namespace

int bench_forward(const std::vector<std::string>& argv) {
  const Args args(kSpec, argv);
  if (args.help()) {
    std::cout << help_text(kSpec);
    return 0;
  }
  const int frames = args.get_int("--frames", 20), warmup = args.get_int("--warmup", 3);
  if (frames < 1 || warmup < 0) throw UsageError("--frames must be at least 1 and --warmup at least 0");
  if (args.has("--threads")) at::set_num_threads(args.get_int("--threads", 1));

  const auto bundle = Bundle::load(args.positional()[0], "cpu", DescriptorCheck::current,
                                   args.has("--no-fold") ? Folding::none : Folding::inference);
  AdaptiveModel model(bundle);
  if (args.has("--level")) model.select(args.get("--level"));
  const auto [width, height] = args.has("--size") ? parse_size("--size", args.get("--size")) : std::pair{480, 360};
  const RgbImage frame = args.has("--image") ? read_png_rgb(args.get("--image")) : synthetic_frame(width, height);
  const Normalization& n = bundle->manifest().normalization;
  if (args.has("--save-input"))
    write_tensor_file(args.get("--save-input"), {{"input", frame_to_input(frame.view(), n, at::kCPU)}},
                      {{"level", model.level_name()}, {"frame", std::to_string(frame.width) + "x" +
                                                                    std::to_string(frame.height)}});

  std::vector<uint8_t> classes(size_t(frame.width) * size_t(frame.height));
  std::vector<double> segment_ms, forward_ms;
  {
    c10::InferenceMode guard;
    FrameInput input(n, bundle->device());
    for (int i = 0; i < warmup + frames; ++i) {
      auto t0 = Clock::now();
      model.segment_into(frame.view(), classes.data());
      auto t1 = Clock::now();
      argmax_into(model.forward(input.convert(frame.view())), frame.width, frame.height, classes.data());
      auto t2 = Clock::now();
      if (i < warmup) continue;
      segment_ms.push_back(millis(t1 - t0));
      forward_ms.push_back(millis(t2 - t1));
    }
  }
  const double segment = median(segment_ms), forward = median(forward_ms);
  std::vector<StageTime> stages;
  if (args.has("--stages")) {
    stages = time_parts(*bundle, model.level_name(), frame, warmup, frames);
  }
  const Mismatch mismatch = args.has("--data")
                                ? compare_on_dataset(model, args.get("--data"), args.get("--split", "val"),
                                                     args.get_int("--limit", 0))
                                : Mismatch{};

  if (args.has("--json")) {
    nlohmann::json j = {{"bundle", bundle->folder()},
                        {"architecture", bundle->architecture().name()},
                        {"width_multiplier", bundle->architecture().width()},
                        {"level", model.level_name()},
                        {"frame", std::to_string(frame.width) + "x" + std::to_string(frame.height)},
                        {"threads", at::get_num_threads()},
                        {"folded_pairs", bundle->folding().folded},
                        {"conv_bn_pairs", bundle->folding().pairs},
                        {"folded_values_before", bundle->folding().values_before},
                        {"folded_values_after", bundle->folding().values_after},
                        {"base_values", bundle->base_params()},
                        {"frames", frames},
                        {"segment_ms_median", segment},
                        {"forward_ms_median", forward},
                        {"forward_over_segment", forward / segment}};
    for (const StageTime& t : stages)
      j[t.exit ? "exit_parts" : "stages"].push_back({{"stage", t.stage}, {"ms_median", t.ms}, {"macs_share", t.macs_share}});
    if (args.has("--data")) {
      j["class_map_pixels"] = mismatch.pixels;
      j["class_map_differing_pixels"] = mismatch.differing;
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("bundle %s (%s, width %g), level %s, %dx%d, %d threads, median of %d, %zu of %zu conv+BN pairs folded\n",
              bundle->folder().c_str(), bundle->architecture().name().c_str(), bundle->architecture().width(),
              model.level_name().c_str(), frame.width, frame.height, at::get_num_threads(), frames,
              bundle->folding().folded, bundle->folding().pairs);
  std::printf("  segment_into (scores, fused up-sampling + argmax): %8.2f ms\n", segment);
  std::printf("  forward (exact log-probabilities) + argmax:        %8.2f ms  (%.2fx)\n", forward, forward / segment);
  if (!stages.empty()) {
    double sum = 0;
    for (const StageTime& t : stages)
      if (!t.exit) sum += t.ms;
    std::printf("  its parts alone (%.2f ms together): time, share of that time | share of the MACs\n", sum);
    for (const StageTime& t : stages)
      if (!t.exit)
        std::printf("    %-8s %7.2f ms  %5.1f%% | %5.1f%%\n", t.stage.c_str(), t.ms, 100.0 * t.ms / sum,
                    100.0 * t.macs_share);
    bool heading = false;
    for (const StageTime& t : stages) {
      if (!t.exit) continue;
      if (!heading) std::printf("  exits, on their stage's output (shares of the network's time and MACs above):\n");
      heading = true;
      std::printf("    %-24s %7.2f ms  %5.1f%% | %5.1f%%\n", t.stage.c_str(), t.ms, 100.0 * t.ms / sum,
                  100.0 * t.macs_share);
    }
  }
  if (args.has("--data"))
    std::printf("  class maps differ in %lld of %lld pixels (%.5f%%)\n", mismatch.differing, mismatch.pixels,
                mismatch.pixels ? 100.0 * double(mismatch.differing) / double(mismatch.pixels) : 0.0);
  return 0;
}

}  // namespace gearnn::cli
