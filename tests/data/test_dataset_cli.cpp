// gearnn dataset stats, run as the real executable.
#include "data/dataset.h"
#include "synthetic.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sys/wait.h>

using namespace gearnn;
using namespace gearnn::testing;

namespace {

struct CliRun {
  int code;
  std::string out;  // stdout and stderr together
};

CliRun gearnn_cli(const std::string& args) {
  const std::string command = "'" + env("GEARNN_CLI") + "' " + args + " 2>&1";
  CliRun r{-1, ""};
  FILE* p = popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class DatasetCli : public ::testing::Test {
protected:
  void SetUp() override {
    if (env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  }
};

}  // namespace

TEST_F(DatasetCli, StatsOnSyntheticCamvid) {
  const std::string root = scratch_dir("cli-camvid");
  make_camvid(root, "train", 4, 10, 6, {"0001TP", "0016E5"});
  // The counts must agree with what the library reads.
  const CliRun r = gearnn_cli("dataset stats --data '" + root + "' --threads 2 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layout"], "camvid");
  EXPECT_EQ(j["split"], "train");
  EXPECT_EQ(j["samples"], 4);
  EXPECT_EQ(j["sequences"]["0016E5"], 2);
  EXPECT_EQ(j["classes"].size(), 11u);
  EXPECT_EQ(j["label_pixels"], 4 * 60);

  const Dataset d = Dataset::open(root, "train");
  int64_t void_pixels = 0, sky = 0;
  for (size_t i = 0; i < d.size(); ++i)
    for (uint8_t v : d.load_label(i).classes) {
      void_pixels += v == Dataset::kIgnore;
      sky += v == 0;
    }
  EXPECT_EQ(j["void_pixels"], void_pixels);
  EXPECT_EQ(j["classes"][0]["pixels"], sky);
  EXPECT_EQ(j["classes"][0]["name"], "Sky");
  EXPECT_EQ(j["normalization"]["mean"].size(), 3u);
  EXPECT_EQ(j["normalization"]["std"].size(), 3u);

  const CliRun text = gearnn_cli("dataset stats --data '" + root + "'");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("camvid layout"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("mean"), std::string::npos) << text.out;
}

TEST_F(DatasetCli, UsageAndFailures) {
  for (const char* c : {"dataset --help", "dataset stats --help"}) {
    const CliRun r = gearnn_cli(c);
    EXPECT_EQ(r.code, 0) << c << "\n" << r.out;
    EXPECT_NE(r.out.find("usage:"), std::string::npos) << c;
  }
  for (const char* c : {"dataset", "dataset frobnicate", "dataset stats", "dataset stats --data /tmp --threads 0"}) {
    const CliRun r = gearnn_cli(c);
    EXPECT_EQ(r.code, 2) << "'" << c << "'\n" << r.out;
  }
  const CliRun missing = gearnn_cli("dataset stats --data /nonexistent/camvid");
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_NE(missing.out.find("/nonexistent/camvid"), std::string::npos) << missing.out;

  const std::string root = scratch_dir("cli-no-split");
  make_camvid(root, "train", 1, 4, 4);
  const CliRun split = gearnn_cli("dataset stats --data '" + root + "' --split test");
  EXPECT_EQ(split.code, 1) << split.out;
  EXPECT_NE(split.out.find("test.txt"), std::string::npos) << split.out;
}
