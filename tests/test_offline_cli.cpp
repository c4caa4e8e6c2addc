// The offline commands as a user runs them: train a base, adapt it, make the
// baselines, evaluate all five methods; on synthetic scenes, in seconds.
#include "experiment/adapt.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sys/wait.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using gearnn::testing::env;

namespace {

int gearnn_cli(const std::string& args, const std::string& log) {
  const std::string command = "'" + env("GEARNN_CLI") + "' " + args + " > '" + log + "' 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(OfflineCli, TrainAdaptBaselinesEval) {
  if (env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("offline");
  const std::string data = gearnn::testing::make_shapes_dataset(dir + "/data", 8, 3);
  const std::string common = " --data " + data + " --threads 2 --workers 1 --quiet --cache " + dir + "/cache";
  const std::string log = dir + "/log.txt";

  ASSERT_EQ(gearnn_cli(std::string("train --arch drn_d_22 --width 0.125 --epochs 3 --batch 4 --lr 0.05 --flip --val-every 1") +
                           " --class-weights median-frequency --recalibrate frames --blur 1 --noise 4 --compress 50" +
                           common + " -o " + dir + "/base",
                       log), 0) << slurp(log);
  const auto curve = nlohmann::json::parse(slurp(dir + "/base/training.json"));
  ASSERT_EQ(curve["epochs"].size(), 3u);
  EXPECT_TRUE(curve["epochs"][2].contains("val_miou"));
  // The base's loss is recorded, and every model fine-tuned from it inherits it.
  const auto base_manifest = nlohmann::json::parse(slurp(dir + "/base/manifest.json"));
  const auto weights = base_manifest["training"]["class_weights"];
  ASSERT_EQ(weights.size(), base_manifest["classes"].size()) << weights.dump();
  EXPECT_NE(*std::max_element(weights.begin(), weights.end()), *std::min_element(weights.begin(), weights.end()))
      << "median-frequency weights of unequal classes: " << weights.dump();

  const std::string levels = "jpeg:10,100";
  ASSERT_EQ(gearnn_cli("adapt --base " + dir + "/base --levels " + levels + " --base-level jpeg:100 --budget 2%" +
                           " --full-epochs 1 --adaptor-epochs 1 --batch 4" + common + " -o " + dir + "/bundle",
                       log), 0) << slurp(log);
  ASSERT_EQ(gearnn_cli("train --init " + dir + "/base --mix " + levels + " --epochs 1 --batch 4 --lr 0.001" +
                           " --val-split none" + common + " -o " + dir + "/mixed",
                       log), 0) << slurp(log);
  ASSERT_EQ(gearnn_cli("train --init " + dir + "/base --stability-alpha 2 --stability-sigma 0.1 --epochs 1" +
                           " --batch 4 --lr 0.001 --val-split none" + common + " -o " + dir + "/stability",
                       log), 0) << slurp(log);

  // Levels computed as separate jobs (--only-level, reusing the work folder) merge into one bundle;
  // a bundle of another base or a repeated level does not merge.
  const std::string adapt_args = "adapt --base " + dir + "/base --levels " + levels +
                                 " --base-level jpeg:100 --budget 2% --full-epochs 1 --adaptor-epochs 1 --batch 4" +
                                 common + " --work " + dir + "/bundle.work";
  ASSERT_EQ(gearnn_cli(adapt_args + " --only-level jpeg:10 -o " + dir + "/only10", log), 0) << slurp(log);
  ASSERT_EQ(gearnn_cli(adapt_args + " --only-level jpeg:100 -o " + dir + "/only100", log), 0) << slurp(log);
  ASSERT_EQ(gearnn_cli("bundle merge " + dir + "/only10 " + dir + "/only100 -o " + dir + "/merged", log), 0)
      << slurp(log);
  ASSERT_EQ(gearnn_cli("inspect " + dir + "/merged --json", log), 0) << slurp(log);
  EXPECT_EQ(nlohmann::json::parse(slurp(log))["levels"].size(), 2u);
  EXPECT_EQ(gearnn_cli("bundle merge " + dir + "/only10 " + dir + "/mixed -o " + dir + "/m2", log), 1) << slurp(log);
  EXPECT_NE(slurp(log).find("another base"), std::string::npos) << slurp(log);
  EXPECT_EQ(gearnn_cli("bundle merge " + dir + "/only10 " + dir + "/only10 -o " + dir + "/m3", log), 1) << slurp(log);
  // A rerun with other settings is refused instead of reusing the earlier work.
  EXPECT_EQ(gearnn_cli(adapt_args + " --adaptor-lr 0.5 -o " + dir + "/changed", log), 1) << slurp(log);
  EXPECT_NE(slurp(log).find("adaptor_lr"), std::string::npos) << slurp(log);

  for (const char* derived : {"/bundle", "/mixed", "/stability"})
    EXPECT_EQ(nlohmann::json::parse(slurp(dir + derived + "/manifest.json"))["training"]["class_weights"], weights)
        << derived;

  ASSERT_EQ(gearnn_cli("inspect " + dir + "/bundle --json", log), 0) << slurp(log);
  const auto inspect = nlohmann::json::parse(slurp(log));
  ASSERT_EQ(inspect["levels"].size(), 2u);
  // The adapted level carries Algorithm 1's record: a sensitivity per layer and the budget it kept to.
  const auto& adapted = inspect["levels"][0];
  ASSERT_TRUE(adapted.contains("sensitivity")) << adapted.dump();
  EXPECT_EQ(adapted["sensitivity"].size(), 51u) << "one value per layer of drn_d_22 (50 conv/BN layers and seg)";
  for (const auto& layer : adapted["adaptor_layers"]) EXPECT_TRUE(adapted["sensitivity"].contains(layer)) << layer;
  EXPECT_LE(adapted["adaptor_params"].get<int64_t>(), adapted["budget"].get<int64_t>());
  EXPECT_FALSE(inspect["levels"][1].contains("sensitivity")) << "the base level has no adaptor";

  ASSERT_EQ(gearnn_cli("eval --levels " + levels + " --bundle " + dir + "/bundle --switching " + dir +
                           "/bundle.switching --mixed " + dir + "/mixed --stability " + dir + "/stability" +
                           " --methods original,switching,mixed,stability,bn-frame,bn-set,gearnn" + common +
                           " --title \"Shapes' five methods\" -o " + dir + "/report",
                       log), 0) << slurp(log);
  const std::string csv = slurp(dir + "/report/results.csv");
  EXPECT_EQ(csv.rfind("method,level,miou", 0), 0u) << csv;
  for (const char* method : {"original,", "switching,", "mixed,", "stability,", "bn-frame,", "bn-set,", "gearnn,"})
    EXPECT_NE(csv.find(std::string("\n") + method + "jpeg:10,"), std::string::npos) << method << "\n" << csv;
  for (const char* file : {"report.md", "results.json", "plot.png", "plot.svg"})
    EXPECT_GT(fs::file_size(dir + "/report/" + file), 0u) << file;
  // The report says how it was made, as a shell would take the command back.
  const std::string md = slurp(dir + "/report/report.md");
  EXPECT_NE(md.find("- command: `gearnn eval --levels " + levels + " --bundle " + dir + "/bundle --switching "),
            std::string::npos) << md;
  EXPECT_NE(md.find(" --title 'Shapes'\\'' five methods' -o " + dir + "/report`, "), std::string::npos) << md;

  // The expected accuracy recorded in the bundle is what eval measured for gearnn.
  ASSERT_EQ(gearnn_cli("eval --levels " + levels + " --bundle " + dir + "/bundle --methods gearnn --write-expected" +
                           common + " -o " + dir + "/report-expected",
                       log), 0) << slurp(log);
  const auto results = nlohmann::json::parse(slurp(dir + "/report-expected/results.json"));
  const auto manifest = nlohmann::json::parse(slurp(dir + "/bundle/manifest.json"));
  for (const auto& level : manifest["levels"]) {
    ASSERT_TRUE(level.contains("expected")) << level.dump();
    EXPECT_EQ(level["expected"]["class_iou"].size(), manifest["classes"].size());
    EXPECT_NE(level["expected"]["split"].get<std::string>().find("val"), std::string::npos);
    bool found = false;
    for (const auto& row : results["rows"])
      if (row["level"] == level["name"] && row["method"] == "gearnn") {
        EXPECT_NEAR(level["expected"]["miou"].get<double>(), row["miou"].get<double>(), 1e-9);
        found = true;
      }
    EXPECT_TRUE(found) << level["name"];
  }
  ASSERT_EQ(gearnn_cli("inspect " + dir + "/bundle", log), 0) << "the bundle still loads: " << slurp(log);
  EXPECT_EQ(gearnn_cli("eval --levels " + levels + " --bundle " + dir + "/bundle --methods original --write-expected" +
                           common + " -o " + dir + "/r3",
                       log), 2) << slurp(log);

  // Bad input: an unknown level is a failure naming it; a bad option is usage.
  EXPECT_EQ(gearnn_cli("eval --levels jpeg:55 --bundle " + dir + "/bundle" + common + " -o " + dir + "/r2", log), 1);
  EXPECT_NE(slurp(log).find("jpeg:55"), std::string::npos) << slurp(log);
  EXPECT_EQ(gearnn_cli("adapt --base " + dir + "/base --levels bogus:1" + common + " -o " + dir + "/x", log), 2)
      << slurp(log);
  EXPECT_EQ(gearnn_cli("train --arch drn_d_22 --crop 12by3" + common + " -o " + dir + "/y", log), 2) << slurp(log);
  EXPECT_EQ(gearnn_cli("train --arch drn_d_22 --crop 120x90" + common + " -o " + dir + "/y", log), 2) << slurp(log);
  EXPECT_NE(slurp(log).find("multiples of 8 (for example 120x88)"), std::string::npos) << slurp(log);
}

// gearnn adapt --help states the defaults AdaptOptions starts from.
TEST(OfflineCli, AdaptHelpNamesTheDefaultsItUses) {
  if (env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  const std::string log = gearnn::testing::scratch_dir("adapt-help") + "/help.txt";
  ASSERT_EQ(gearnn_cli("adapt --help", log), 0) << slurp(log);
  const std::string help = slurp(log);
  const gearnn::AdaptOptions d;
  std::ostringstream expected;
  expected << "adaptor-only fine-tuning (default " << d.adaptor_epochs << ")";
  EXPECT_NE(help.find(expected.str()), std::string::npos) << help;
  expected.str("");
  expected << "--adaptor-lr LR           its learning rate (default " << d.adaptor_lr << ")";
  EXPECT_NE(help.find(expected.str()), std::string::npos) << help;
}

// gearnn exits --keep-heads --level-thresholds: the bundle's heads stay (same
// tensor file), and the level named gets thresholds of its own, chosen on its
// distorted frames: with no loss allowed they lose none of its mIoU, with any loss
// allowed every frame leaves at the first exit. Unknown levels are named.
TEST(OfflineCli, LevelThresholdsOnDistortedFrames) {
  if (env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("cli-level-thresholds");
  const std::string data = gearnn::testing::make_shapes_dataset(dir + "/data", 2, 6, 64, 48);
  const std::string bundle = dir + "/bundle";
  ASSERT_EQ(gearnn_cli("bundle random --arch drn_d_22 --width 0.125 --classes 11 --levels 3 --exits base.4,base.6 -o " +
                           bundle, dir + "/random.log"),
            0)
      << slurp(dir + "/random.log");
  // Named as gearnn adapt names levels: by their distortion setting.
  nlohmann::json before = nlohmann::json::parse(slurp(bundle + "/manifest.json"));
  const std::string level = "jpeg:" + std::to_string(int(before["levels"][0]["distortion"]["jpeg_quality"]));
  before["levels"][0]["name"] = level;
  std::ofstream(bundle + "/manifest.json") << before.dump(2);
  const std::string common = "exits --bundle " + bundle + " --data " + data + " --keep-heads --cache " + dir + "/cache";

  for (const char* loss : {"0", "100"}) {
    SCOPED_TRACE(std::string("max loss ") + loss);
    const std::string out = dir + "/out-" + loss, log = dir + "/exits-" + loss + ".log";
    fs::copy(bundle, out, fs::copy_options::recursive);  // rethresholded in place, as make.sh does
    ASSERT_EQ(gearnn_cli(common + " --level-thresholds " + level + " --max-loss " + loss + " -o " + out, log), 0)
        << slurp(log);
    const nlohmann::json after = nlohmann::json::parse(slurp(out + "/manifest.json"));
    EXPECT_EQ(after["exits"]["sha256"], before["exits"]["sha256"]) << "the heads' tensors are kept";
    ASSERT_EQ(after["exits"]["heads"].size(), 2u);
    for (const auto& head : after["exits"]["heads"]) {
      ASSERT_TRUE(head.contains("level_thresholds")) << head.dump();
      EXPECT_EQ(head["level_thresholds"].size(), 1u);
      const double t = head["level_thresholds"][level];
      EXPECT_GE(t, 0.0);
      EXPECT_LE(t, 1.0);
    }
    const std::string text = slurp(log);
    const size_t at = text.find(level + ": thresholds");
    ASSERT_NE(at, std::string::npos) << text;
    if (std::string(loss) == "100") {
      const size_t first = text.find(" base.4 ", at), second = text.find(" base.6 ", at);
      ASSERT_LT(first, second) << text;
      EXPECT_NE(text.substr(first, second - first).find("(100.0% of frames)"), std::string::npos)
          << "every frame leaves at the first exit: " << text;
    } else {
      // No loss allowed: the exits' mIoU is at least the network's.
      const size_t m = text.find(", mIoU ", at), against = text.find(" against ", at);
      ASSERT_NE(against, std::string::npos) << text;
      EXPECT_GE(std::stod(text.substr(m + 7)), std::stod(text.substr(against + 9))) << text;
    }
  }

  const std::string log = dir + "/bad.log";
  EXPECT_NE(gearnn_cli(common + " --level-thresholds jpeg:55 -o " + dir + "/bad", log), 0);
  EXPECT_NE(slurp(log).find("'jpeg:55', which is not one of its levels"), std::string::npos) << slurp(log);
  EXPECT_NE(gearnn_cli(common + " -o " + dir + "/bad", log), 0);
  EXPECT_NE(slurp(log).find("--keep-heads needs --level-thresholds"), std::string::npos) << slurp(log);
}

// gearnn eval-exits on a random bundle with two exits, used as both the
// FlexDNN and the BranchyNet bundle: a threshold scale that lets every frame
// out sends all of them to the first exit, at its cost; one that lets none out
// costs more than the network (every head runs); half the input costs a
// quarter of the MACs, and the smaller network also runs at the MACs of the
// cheaper exit point; the level is scored with and without its adaptor, and
// each method and adaptor use is a line of its own in the plot. Times: the
// median of the rounds, within their fastest and slowest, and the network's
// share of its own time is exactly 1.
TEST(OfflineCli, EvalExitsReportsEveryMethodAndPlotsEachApart) {
  if (env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("cli-eval-exits");
  const std::string data = gearnn::testing::make_shapes_dataset(dir + "/data", 2, 3, 64, 48);
  const std::string bundle = dir + "/bundle", log = dir + "/log.txt";
  ASSERT_EQ(gearnn_cli("bundle random --arch drn_d_22 --width 0.125 --classes 11 --levels 3 --exits base.4,base.6 -o " +
                           bundle, log), 0) << slurp(log);
  nlohmann::json manifest = nlohmann::json::parse(slurp(bundle + "/manifest.json"));
  const std::string level = "jpeg:" + std::to_string(int(manifest["levels"][0]["distortion"]["jpeg_quality"]));
  manifest["levels"][0]["name"] = level;
  std::ofstream(bundle + "/manifest.json") << manifest.dump(2);

  const std::string out = dir + "/report";
  const std::string common = "eval-exits --bundle " + bundle + " --data " + data + " --threads 1 --cache " + dir +
                             "/cache --input-scales 0.5 --time-rounds 3";
  ASSERT_EQ(gearnn_cli(common + " --levels " + level + " --branchy " + bundle + " --scales 0.0001,1000 -o " + out, log),
            0)
      << slurp(log);

  // method -> level, method, miou, ms, macs, rates, time share, fastest round's ms, slowest's
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream csv(slurp(out + "/exits.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "level,method,miou,ms_per_frame,macs_fraction,exit_rates,time_fraction,ms_min,ms_max");
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::istringstream in(line);
    for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 9u) << line;
    EXPECT_EQ(cells[0], level) << line;
    const double ms = std::stod(cells[3]), fastest = std::stod(cells[7]), slowest = std::stod(cells[8]);
    EXPECT_GT(fastest, 0) << line;
    EXPECT_LE(fastest, ms) << line;
    EXPECT_LE(ms, slowest) << line;
    EXPECT_GT(std::stod(cells[6]), 0) << line;
    rows[cells[1]] = cells;
  }
  for (const std::string suffix : {"", " (no adaptor)"})
    for (const std::string method : {"network", "flexdnn x0.0001", "flexdnn x1000", "branchynet x0.0001",
                                     "branchynet x1000", "smaller x0.5"})
      ASSERT_EQ(rows.count(method + suffix), 1u) << method + suffix << " missing in\n" << slurp(out + "/exits.csv");
  // One more smaller input with and without the adaptor: at the scale of FlexDNN
  // x0.0001's MACs (x1000 costs more than the network, so none for it).
  for (const std::string suffix : {"", " (no adaptor)"}) {
    const auto smaller = std::count_if(rows.begin(), rows.end(), [&](const auto& r) {
      return r.first.rfind("smaller x", 0) == 0 && (suffix.empty() ? r.first.find("(no adaptor)") == std::string::npos
                                                                   : r.first.find(suffix) != std::string::npos);
    });
    EXPECT_EQ(smaller, 2) << "smaller rows" << suffix << " in\n" << slurp(out + "/exits.csv");
  }
  auto macs = [&](const std::string& method) { return std::stod(rows[method][4]); };
  // The added scale is the square root of the exit row's MACs (to 3 digits): the MACs go with the area.
  for (const auto& [method, cells] : rows) {
    if (method.rfind("smaller x", 0) != 0 || method == "smaller x0.5" || method == "smaller x0.5 (no adaptor)") continue;
    const bool no_adaptor = method.find(" (no adaptor)") != std::string::npos;
    EXPECT_NEAR(std::stod(method.substr(9)),
                std::sqrt(macs(std::string("flexdnn x0.0001") + (no_adaptor ? " (no adaptor)" : ""))), 0.0015)
        << method;
  }
  EXPECT_DOUBLE_EQ(macs("network"), 1.0);
  EXPECT_EQ(rows["network"][6], "1");
  EXPECT_EQ(rows["network (no adaptor)"][6], "1");
  EXPECT_NE(slurp(out + "/exits.md").find("the median over 3 rounds"), std::string::npos);
  EXPECT_NEAR(macs("smaller x0.5"), 0.25, 0.01) << "64x48 halved is 32x24: a quarter of the pixels";
  EXPECT_LT(macs("flexdnn x0.0001"), 0.5) << "every frame leaves after base.4";
  EXPECT_EQ(rows["flexdnn x0.0001"][5], "base.4:1;base.6:0");
  EXPECT_GT(macs("flexdnn x1000"), 1.0) << "no frame leaves, and both heads run on each";
  EXPECT_EQ(rows["flexdnn x1000"][5], "base.4:0;base.6:0");
  EXPECT_EQ(rows["branchynet x1000"][4], rows["flexdnn x1000"][4]) << "the same heads and thresholds";

  // Each method's points make a line of their own: with and without the adaptor apart.
  const std::string plot = slurp(out + "/exits-plot.dat");
  for (const std::string series : {"network", "flexdnn", "branchynet", "smaller"})
    for (const std::string suffix : {"", " (no adaptor)"}) {
      const std::string head = "# " + level + ": " + series + suffix + "\n";
      const size_t at = plot.find(head);
      ASSERT_NE(at, std::string::npos) << head << " in\n" << plot;
      const size_t end = plot.find("\n\n", at);
      const auto points = std::count(plot.begin() + long(at + head.size()), plot.begin() + long(end), '\n') + 1;
      EXPECT_EQ(points, series == "network" ? 1 : 2) << plot.substr(at, end - at);
    }
  EXPECT_TRUE(fs::exists(out + "/report.md"));

  EXPECT_NE(gearnn_cli(common + " --time-rounds 0 -o " + dir + "/bad", log), 0);
  EXPECT_NE(slurp(log).find("--time-rounds: 0 is not a count of at least 1"), std::string::npos) << slurp(log);
  EXPECT_NE(gearnn_cli(common + " --levels jpeg:55 -o " + dir + "/bad", log), 0);
  EXPECT_NE(slurp(log).find("has no level 'jpeg:55'"), std::string::npos) << slurp(log);
  const std::string plain = dir + "/plain";
  ASSERT_EQ(gearnn_cli("bundle random --arch drn_d_22 --width 0.125 --classes 11 --levels 1 -o " + plain, log), 0);
  EXPECT_NE(gearnn_cli("eval-exits --bundle " + plain + " --data " + data + " -o " + dir + "/bad", log), 0);
  EXPECT_NE(slurp(log).find("has no exits (make them with gearnn exits)"), std::string::npos) << slurp(log);
}

// gearnn exits end to end on a tiny bundle: heads are trained into the work
// folder and found there again by a rerun (BranchyNet-style exits reuse the
// same first heads), and a rerun with another recipe or another base is
// refused, naming the folder's record, instead of reusing heads that do not belong;
// the heads' dilation reaches their file names and the written manifest.
TEST(OfflineCli, ExitsWorkFolderBelongsToOneTrunkAndRecipe) {
  if (env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("cli-exits-work");
  const std::string data = gearnn::testing::make_shapes_dataset(dir + "/data", 4, 2, 64, 48);
  const std::string log = dir + "/log.txt";
  for (const char* seed : {"1", "2"})
    ASSERT_EQ(gearnn_cli("bundle random --arch drn_d_22 --width 0.125 --classes 11 --levels 1 --seed " +
                             std::string(seed) + " -o " + dir + "/bundle" + seed, log), 0) << slurp(log);
  const std::string work = dir + "/heads";
  const std::string recipe = " --data " + data + " --cache " + dir + "/cache --threads 2 --stages base.6 --convs 1" +
                             " --channels 8 --dilation 2 --min-channels 8 --epochs 1 --prune-epochs 1 --batch 2 --work " +
                             work;
  ASSERT_EQ(gearnn_cli("exits --bundle " + dir + "/bundle1" + recipe + " -o " + dir + "/out", log), 0) << slurp(log);
  EXPECT_TRUE(fs::exists(work + "/trained-with.txt"));
  std::vector<std::string> heads;
  for (const auto& e : fs::directory_iterator(work))
    if (e.path().extension() == ".safetensors") heads.push_back(e.path().string());
  ASSERT_FALSE(heads.empty()) << "trained heads are kept in the work folder";
  const auto stamp = fs::last_write_time(heads.front());

  ASSERT_EQ(gearnn_cli("exits --bundle " + dir + "/bundle1" + recipe + " --fixed -o " + dir + "/branchy", log), 0)
      << slurp(log);
  EXPECT_EQ(fs::last_write_time(heads.front()), stamp) << "the rerun read the head instead of training it again";
  EXPECT_TRUE(std::any_of(heads.begin(), heads.end(),
                          [](const std::string& h) { return h.find("/base.6-1x8d2-") != std::string::npos; }))
      << heads.front() << ": the dilation names the head";
  EXPECT_NE(slurp(dir + "/branchy/manifest.json").find("\"dilation\": 2"), std::string::npos)
      << slurp(dir + "/branchy/manifest.json");

  for (const std::string& other : {"exits --bundle " + dir + "/bundle1" + recipe + " --seed 7 -o " + dir + "/x",
                                   "exits --bundle " + dir + "/bundle1" + recipe + " --distill 1 -o " + dir + "/z",
                                   "exits --bundle " + dir + "/bundle2" + recipe + " -o " + dir + "/y"}) {
    SCOPED_TRACE(other);
    EXPECT_EQ(gearnn_cli(other, log), 1) << slurp(log);
    EXPECT_NE(slurp(log).find(work + "/trained-with.txt"), std::string::npos) << slurp(log);
    EXPECT_NE(slurp(log).find("remove the folder or give another --work"), std::string::npos) << slurp(log);
  }
  EXPECT_EQ(fs::last_write_time(heads.front()), stamp);
}

// bundle select: the named levels in the order given, each with the same
// adaptor bytes; the same base and exit heads; per-level exit thresholds kept
// for the levels kept only. An unknown or repeated level, the bundle's own
// folder as the output (named by folder or by manifest) or a folder in use is
// refused by name.
TEST(OfflineCli, BundleSelectKeepsTheNamedLevels) {
  if (env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("bundle-select");
  const std::string log = dir + "/log.txt", full = dir + "/full", selected = dir + "/selected";
  ASSERT_EQ(gearnn_cli("bundle random --arch drn_d_22 --classes 5 --levels 3 --width 0.125 --exits base.4,base.6 -o " +
                           full, log), 0) << slurp(log);
  auto manifest = nlohmann::json::parse(slurp(full + "/manifest.json"));
  ASSERT_EQ(manifest["levels"].size(), 3u);
  const std::string first = manifest["levels"][0]["name"], second = manifest["levels"][1]["name"],
                    third = manifest["levels"][2]["name"];
  manifest["exits"]["heads"][0]["level_thresholds"] = {{first, 0.3}, {second, 0.4}};
  std::ofstream(full + "/manifest.json") << manifest.dump(2);

  ASSERT_EQ(gearnn_cli("bundle select " + full + " --levels " + third + "," + first + " -o " + selected, log), 0)
      << slurp(log);
  const auto kept = nlohmann::json::parse(slurp(selected + "/manifest.json"));
  ASSERT_EQ(kept["levels"].size(), 2u) << kept.dump();
  for (const auto& [at, from] : {std::pair<size_t, size_t>{0, 2}, {1, 0}}) {
    const auto &level = kept["levels"][at], &original = manifest["levels"][from];
    EXPECT_EQ(level["name"], original["name"]);
    EXPECT_EQ(level["distortion"], original["distortion"]);
    EXPECT_EQ(level.contains("adaptor"), original.contains("adaptor"));
    if (original.contains("adaptor")) {
      EXPECT_EQ(level["adaptor"]["sha256"], original["adaptor"]["sha256"]);
    }
  }
  EXPECT_EQ(kept["base"]["sha256"], manifest["base"]["sha256"]);
  EXPECT_EQ(kept["exits"]["sha256"], manifest["exits"]["sha256"]);
  EXPECT_EQ(kept["exits"]["heads"][0]["level_thresholds"], nlohmann::json({{first, 0.3}}));
  ASSERT_EQ(gearnn_cli("inspect " + selected, log), 0) << slurp(log);

  for (const auto& [args, message] :
       {std::pair<std::string, std::string>{full + " --levels nope -o " + dir + "/bad",
                                            full + ": has no level 'nope' (its levels: " + first + ", "},
        {full + " --levels " + first + "," + first + " -o " + dir + "/bad", "level '" + first + "' is given twice"},
        {selected + " --levels " + first + " -o " + selected, selected + ": is the bundle itself"},
        {selected + "/manifest.json --levels " + first + " -o " + selected, selected + ": is the bundle itself"},
        {full + " --levels " + first + " -o " + selected, selected + ": exists and is not an empty folder"}}) {
    SCOPED_TRACE(args);
    EXPECT_EQ(gearnn_cli("bundle select " + args, log), 1) << slurp(log);
    EXPECT_NE(slurp(log).find(message), std::string::npos) << slurp(log);
  }
}
