// The evaluation report: CSV, JSON, Markdown and the gnuplot plot.
#include "error.h"
#include "eval/report.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

using namespace gearnn;
using gearnn::testing::scratch_dir;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

ReportInfo info() {
  ReportInfo i;
  i.title = "CamVid val, JPEG levels";
  i.class_names = {"Sky", "Road", "traffic light"};
  i.level_order = {"q10", "q50", "q100"};
  i.method_order = {"original", "gearnn"};
  i.notes_markdown = "Notes: *synthetic*.";
  return i;
}

std::vector<ResultRow> rows() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<ResultRow> r;
  const double orig[] = {30.5, 50.25, 60.0}, gear[] = {45.0, 55.5, 60.0};
  const char* levels[] = {"q10", "q50", "q100"};
  // Given out of order: the report sorts by method_order and level_order.
  for (int l = 2; l >= 0; --l) {
    r.push_back({"gearnn", levels[l], gear[l], {0.5, 0.6, nan}, 1002, 4008, {5, 1, 0, 2, 7, 0, 0, 0, 0}});
    r.push_back({"original", levels[l], orig[l], {0.25, 0.75, 0.0}, 1000, 4000, {}});
  }
  return r;
}

}  // namespace

TEST(Report, WritesEveryFile) {
  const std::string dir = scratch_dir("report") + "/out";  // created by write_report
  write_report(dir, info(), rows());

  const auto csv = lines_of(read_file(dir + "/results.csv"));
  ASSERT_EQ(csv.size(), 7u);
  EXPECT_EQ(csv[0], "method,level,miou,resident_params,resident_bytes,iou_Sky,iou_Road,iou_traffic light");
  EXPECT_EQ(csv[1], "original,q10,30.5000,1000,4000,25.0000,75.0000,0.0000");
  EXPECT_EQ(csv[3], "original,q100,60.0000,1000,4000,25.0000,75.0000,0.0000");
  EXPECT_EQ(csv[4], "gearnn,q10,45.0000,1002,4008,50.0000,60.0000,");  // NaN: empty cell

  const auto j = nlohmann::json::parse(read_file(dir + "/results.json"));
  EXPECT_EQ(j["title"], "CamVid val, JPEG levels");
  EXPECT_EQ(j["levels"], (std::vector<std::string>{"q10", "q50", "q100"}));
  ASSERT_EQ(j["rows"].size(), 6u);
  EXPECT_EQ(j["rows"][3]["method"], "gearnn");
  EXPECT_TRUE(j["rows"][3]["class_iou"][2].is_null());
  EXPECT_EQ(j["rows"][3]["confusion"][1], (std::vector<int64_t>{2, 7, 0}));
  EXPECT_NEAR(j["average_miou"]["original"].get<double>(), (30.5 + 50.25 + 60.0) / 3, 1e-9);

  const std::string md = read_file(dir + "/report.md");
  EXPECT_NE(md.find("# CamVid val, JPEG levels"), std::string::npos);
  EXPECT_NE(md.find("| method | q10 | q50 | q100 | average | resident params | resident memory |"), std::string::npos) << md;
  EXPECT_NE(md.find("| original | 30.50 | 50.25 | 60.00 | 46.92 | 1,000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| gearnn | 45.00 | 55.50 | 60.00 | 53.50 | 1,002 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Notes: *synthetic*."), std::string::npos);

  const std::string png = read_file(dir + "/plot.png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const std::string svg = read_file(dir + "/plot.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("gearnn"), std::string::npos) << "the legend names each method";
  EXPECT_TRUE(fs::exists(dir + "/plot.gp"));
  EXPECT_TRUE(fs::exists(dir + "/plot.dat"));
}

TEST(Report, MissingLevelsAndOddNames) {
  const std::string dir = scratch_dir("report-partial");
  ReportInfo i = info();
  i.title = "it's a \"quoted\", title";
  std::vector<ResultRow> r = rows();
  r.erase(r.begin());  // gearnn q100 missing
  r.push_back({"mixed, v2", "q30", 40.0, {}, 7, 8, {}});
  write_report(dir, i, r);
  const auto csv = lines_of(read_file(dir + "/results.csv"));
  EXPECT_EQ(csv.back(), "\"mixed, v2\",q30,40.0000,7,8,,,");
  const std::string md = read_file(dir + "/report.md");
  EXPECT_NE(md.find("| method | q10 | q50 | q100 | q30 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| gearnn | 45.00 | 55.50 | - | - | 50.25* |"), std::string::npos) << md;
  EXPECT_GT(fs::file_size(dir + "/plot.png"), 0u);
}

TEST(Report, NamesWithoutRowsAreLeftOut) {
  const std::string dir = scratch_dir("report-unscored");
  ReportInfo i = info();
  i.method_order = {"original", "switching", "gearnn"};  // switching never scored
  i.level_order = {"q5", "q10", "q50", "q100"};          // nor is q5
  write_report(dir, i, rows());
  const std::string md = read_file(dir + "/report.md");
  EXPECT_EQ(md.find("switching"), std::string::npos) << md;
  EXPECT_NE(md.find("| method | q10 | q50 | q100 | average |"), std::string::npos) << md;
  const auto j = nlohmann::json::parse(read_file(dir + "/results.json"));
  EXPECT_EQ(j["levels"], (std::vector<std::string>{"q10", "q50", "q100"}));
}

TEST(Report, BadRowsAndMissingGnuplot) {
  const std::string dir = scratch_dir("report-bad");
  std::vector<ResultRow> twice = rows();
  twice.push_back(twice[0]);
  EXPECT_THROW(write_report(dir, info(), twice), Error);
  std::vector<ResultRow> short_iou = rows();
  short_iou[0].class_iou = {0.5};
  EXPECT_THROW(write_report(dir, info(), short_iou), Error);
  EXPECT_THROW(write_report(dir, info(), {}), Error);

  ::setenv("GEARNN_GNUPLOT", "/nonexistent/gnuplot", 1);
  std::string message;
  try {
    write_report(dir, info(), rows());
  } catch (const Error& e) {
    message = e.what();
  }
  ::unsetenv("GEARNN_GNUPLOT");
  EXPECT_NE(message.find("gnuplot is not installed"), std::string::npos) << message;
  EXPECT_TRUE(fs::exists(dir + "/results.csv")) << "the tables are written before the plot";
  EXPECT_FALSE(fs::exists(dir + "/plot.log"));

  // "none": the data and the script for a later `gnuplot plot.gp`, no picture.
  ::setenv("GEARNN_GNUPLOT", "none", 1);
  EXPECT_NO_THROW(write_report(dir, info(), rows()));
  ::unsetenv("GEARNN_GNUPLOT");
  EXPECT_GT(fs::file_size(dir + "/plot.gp"), 0u);
  EXPECT_GT(fs::file_size(dir + "/plot.dat"), 0u);
  EXPECT_FALSE(fs::exists(dir + "/plot.png"));
}
