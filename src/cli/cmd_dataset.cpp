// gearnn dataset stats: what a dataset holds, and the normalisation a bundle
// trained on it should record.
#include "args.h"
#include "commands.h"
#include "data/dataset.h"
#include "data/stats.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

namespace gearnn::cli {
namespace {

const CommandSpec kSpec{
    "gearnn dataset stats --data ROOT [--split train] [--threads N] [--json]",
    "Reads every image and label of a split (CamVid or Cityscapes layout) and\n"
    "prints the layout, the sample count, each class's share of the labelled\n"
    "pixels with its median-frequency weight, and the per-channel mean and std\n"
    "of RGB/255 that go into a bundle's \"normalization\".",
    {{"--data", "ROOT", "dataset folder"},
     {"--split", "NAME", "list file (CamVid: NAME.txt) or split folder (Cityscapes); default train"},
     {"--threads", "N", "decoding threads (default: all cores)"},
     {"--json", "", "print JSON"}},
    0,
    0};

// Six decimals, as the manifest writes them, without float-to-double noise.
std::vector<double> rounded(const std::array<float, 3>& v) {
  std::vector<double> out;
  for (float x : v) out.push_back(std::round(double(x) * 1e6) / 1e6);
  return out;
}

double share(int64_t part, int64_t whole) { return whole > 0 ? double(part) / double(whole) : 0.0; }

int stats(const Args& args) {
  const int threads = args.get_int("--threads", int(std::max(1u, std::thread::hardware_concurrency())));
  if (threads < 1) throw UsageError("--threads must be at least 1");
  const Dataset dataset = Dataset::open(args.require("--data"), args.get("--split", "train"));
  const DatasetStats s = compute_stats(dataset, threads);
  const auto classes = dataset.classes();
  const auto weights = s.median_frequency_weights();
  const int64_t labelled = s.label_pixels - s.void_pixels;
  std::map<std::string, int> sequences;
  for (const auto& sample : dataset.samples()) ++sequences[sample.sequence];
  const auto& n = s.normalization;

  if (args.has("--json")) {
    nlohmann::json cls = nlohmann::json::array();
    for (size_t c = 0; c < classes.size(); ++c)
      cls.push_back({{"index", c},
                     {"name", classes[c].name},
                     {"pixels", s.class_pixels[c]},
                     {"frequency", share(s.class_pixels[c], labelled)},
                     {"median_frequency_weight", weights[c]}});
    nlohmann::json sizes = nlohmann::json::array();
    for (const auto& [size, count] : s.image_sizes)
      sizes.push_back({{"width", size.first}, {"height", size.second}, {"images", count}});
    const nlohmann::json j = {{"data", dataset.root()},
                              {"layout", dataset.layout()},
                              {"split", dataset.split()},
                              {"samples", dataset.size()},
                              {"sequences", sequences},
                              {"image_sizes", sizes},
                              {"label_pixels", s.label_pixels},
                              {"void_pixels", s.void_pixels},
                              {"classes", cls},
                              {"normalization", {{"mean", rounded(n.mean)}, {"std", rounded(n.std)}}}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::printf("dataset:   %s (%s layout, split %s)\n", dataset.root().c_str(), dataset.layout().c_str(),
              dataset.split().c_str());
  std::printf("samples:   %zu in %zu sequences (", dataset.size(), sequences.size());
  const char* sep = "";
  for (const auto& [name, count] : sequences) {
    std::printf("%s%s %d", sep, name.c_str(), count);
    sep = ", ";
  }
  std::printf(")\nimages:    ");
  sep = "";
  for (const auto& [size, count] : s.image_sizes) {
    std::printf("%s%dx%d (%lld)", sep, size.first, size.second, static_cast<long long>(count));
    sep = ", ";
  }
  std::printf("\nvoid:      %.2f%% of label pixels\n", 100.0 * share(s.void_pixels, s.label_pixels));
  std::printf("classes:   %zu (share of labelled pixels, median-frequency weight)\n", classes.size());
  for (size_t c = 0; c < classes.size(); ++c)
    std::printf("  %3zu %-16s %7.3f%%  %8.4f\n", c, classes[c].name.c_str(), 100.0 * share(s.class_pixels[c], labelled),
                weights[c]);
  std::printf("normalization (RGB/255, for the bundle manifest):\n");
  std::printf("  mean  %.6f %.6f %.6f\n  std   %.6f %.6f %.6f\n", n.mean[0], n.mean[1], n.mean[2], n.std[0], n.std[1],
              n.std[2]);
  return 0;
}

}  // namespace

int run_dataset(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("missing subcommand (stats)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << help_text(kSpec);
    return 0;
  }
  if (argv[0] != "stats") throw UsageError("unknown subcommand '" + argv[0] + "' (stats)");
  const Args args(kSpec, std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (args.help()) {
    std::cout << help_text(kSpec);
    return 0;
  }
  return stats(args);
}

}  // namespace gearnn::cli
