// The offline commands as a user runs them: train a base, adapt it, make the
// baselines, evaluate all five methods; on synthetic scenes, in seconds.
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <sys/wait.h>
#include <filesystem>
#include <fstream>
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
                           " --methods original,switching,mixed,stability,bn-frame,bn-set,gearnn" + common + " -o " +
                           dir + "/report",
                       log), 0) << slurp(log);
  const std::string csv = slurp(dir + "/report/results.csv");
  EXPECT_EQ(csv.rfind("method,level,miou", 0), 0u) << csv;
  for (const char* method : {"original,", "switching,", "mixed,", "stability,", "bn-frame,", "bn-set,", "gearnn,"})
    EXPECT_NE(csv.find(std::string("\n") + method + "jpeg:10,"), std::string::npos) << method << "\n" << csv;
  for (const char* file : {"report.md", "results.json", "plot.png", "plot.svg"})
    EXPECT_GT(fs::file_size(dir + "/report/" + file), 0u) << file;

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
}
