// distort_images: cached, reproducible distorted copies of image files; and
// the `gearnn distort` command.
#include "distort/distort_images.h"
#include "distort/h264.h"
#include "measure/stream_quality.h"
#include "distort/image_ops.h"
#include "error.h"
#include "synthetic.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>

using namespace gearnn;
using gearnn::testing::pattern_image;
using gearnn::testing::scratch_dir;
namespace fs = std::filesystem;

namespace {

// Six frames of two interleaved sequences: a0 b0 a1 a2 b1 a3.
struct Sources {
  std::vector<std::string> paths, sequences;
  std::vector<RgbImage> images;
};

Sources write_sources(const std::string& dir, int width = 64, int height = 48) {
  Sources s;
  const std::vector<std::pair<std::string, int>> order = {{"a", 0}, {"b", 0}, {"a", 1}, {"a", 2}, {"b", 1}, {"a", 3}};
  for (const auto& [seq, i] : order) {
    const RgbImage img = pattern_image(width, height, (seq == "a" ? 4 : 40) + 3 * i);
    const std::string path = dir + "/" + seq + std::to_string(i) + ".png";
    write_png_rgb(path, img);
    s.paths.push_back(path);
    s.sequences.push_back(seq);
    s.images.push_back(img);
  }
  return s;
}

struct FileStamp {
  ino_t inode;
  timespec mtime;
};

FileStamp stamp(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return {st.st_ino, st.st_mtim};
}

void expect_same_stamp(const FileStamp& a, const FileStamp& b, const std::string& path) {
  EXPECT_EQ(a.inode, b.inode) << path << " was rewritten";
  EXPECT_EQ(a.mtime.tv_sec, b.mtime.tv_sec) << path;
  EXPECT_EQ(a.mtime.tv_nsec, b.mtime.tv_nsec) << path;
}

}  // namespace

TEST(DistortImages, JpegIsMeasuredAndTheSecondCallReadsTheCache) {
  const std::string dir = scratch_dir("distort-jpeg");
  const Sources src = write_sources(dir);
  const DistortionSetting setting = parse_distortion_setting("jpeg:30");
  DistortStats stats;
  const auto first = distort_images(src.paths, src.sequences, setting, dir + "/cache", 2, &stats);
  EXPECT_EQ(stats.computed, 6u);
  EXPECT_EQ(stats.cached, 0u);
  ASSERT_EQ(first.size(), 6u);
  std::vector<FileStamp> stamps;
  for (const DistortedImage& d : first) {
    ASSERT_TRUE(d.measured.jpeg_quality.has_value());
    EXPECT_EQ(*d.measured.jpeg_quality, 30.0);
    ASSERT_TRUE(d.measured.resolution.has_value());
    EXPECT_EQ(d.measured.resolution->width, 64);
    const RgbImage out = read_png_rgb(d.path);
    EXPECT_EQ(out.width, 64);
    EXPECT_EQ(out.height, 48);
    stamps.push_back(stamp(d.path));
  }
  EXPECT_NE(read_png_rgb(first[0].path).pixels, src.images[0].pixels);

  const auto second = distort_images(src.paths, src.sequences, setting, dir + "/cache", 2, &stats);
  EXPECT_EQ(stats.computed, 0u);
  EXPECT_EQ(stats.cached, 6u);
  for (size_t i = 0; i < second.size(); ++i) {
    EXPECT_EQ(second[i].path, first[i].path);
    EXPECT_EQ(second[i].measured.describe(), first[i].measured.describe());
    expect_same_stamp(stamps[i], stamp(second[i].path), second[i].path);
  }

  // A source that changes gets a new entry; the others stay cached.
  write_png_rgb(src.paths[2], pattern_image(64, 48, 99));
  const auto third = distort_images(src.paths, src.sequences, setting, dir + "/cache", 1, &stats);
  EXPECT_EQ(stats.computed, 1u);
  EXPECT_EQ(stats.cached, 5u);
  EXPECT_NE(third[2].path, first[2].path);
}

TEST(DistortImages, H264EncodesEachSequenceAsOneVideo) {
  const std::string dir = scratch_dir("distort-h264");
  const Sources src = write_sources(dir);
  const DistortionSetting setting = parse_distortion_setting("h264:32x24@28");
  DistortStats stats;
  const auto out = distort_images(src.paths, src.sequences, setting, dir + "/cache", 2, &stats);
  EXPECT_EQ(stats.computed, 2u);  // two sequences

  // Sequence a is frames 0, 2, 3, 5 of the list, in that order.
  const std::vector<size_t> a = {0, 2, 3, 5};
  std::vector<RgbImage> a_frames;
  for (size_t i : a) a_frames.push_back(src.images[i]);
  const H264Roundtrip direct = h264_roundtrip(a_frames, 28, Resolution{32, 24});
  H264QualityWindow window;  // the runtime's measurement, frame by frame in display order
  for (size_t k = 0; k < a.size(); ++k) {
    const DistortedImage& d = out[a[k]];
    ASSERT_TRUE(d.measured.h264_qp.has_value());
    window.push(direct.frame_qp[k]);
    EXPECT_EQ(*d.measured.h264_qp, *window.value()) << k;
    EXPECT_EQ(d.measured.resolution->width, 32);
    EXPECT_EQ(d.measured.resolution->height, 24);
    EXPECT_EQ(read_png_rgb(d.path).pixels, direct.frames[k].pixels) << "frame " << k << " of sequence a";
  }
  EXPECT_TRUE(out[1].measured.h264_qp.has_value());
  EXPECT_TRUE(out[4].measured.h264_qp.has_value());

  std::vector<FileStamp> stamps;
  for (const auto& d : out) stamps.push_back(stamp(d.path));
  const auto again = distort_images(src.paths, src.sequences, setting, dir + "/cache", 2, &stats);
  EXPECT_EQ(stats.computed, 0u);
  EXPECT_EQ(stats.cached, 2u);
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(*again[i].measured.h264_qp, *out[i].measured.h264_qp);
    expect_same_stamp(stamps[i], stamp(again[i].path), again[i].path);
  }
}

TEST(DistortImages, ThreadsAndSharedCachesGiveTheSameFiles) {
  const std::string dir = scratch_dir("distort-threads");
  const Sources src = write_sources(dir);
  for (const char* text : {"h264:@30", "brightness:1.7", "resize:40x30"}) {
    const DistortionSetting setting = parse_distortion_setting(text);
    const auto serial = distort_images(src.paths, src.sequences, setting, dir + "/serial", 1);
    // Two callers racing on one cache folder, as two processes would.
    std::vector<DistortedImage> x, y;
    std::thread other([&] { x = distort_images(src.paths, src.sequences, setting, dir + "/shared", 3); });
    y = distort_images(src.paths, src.sequences, setting, dir + "/shared", 3);
    other.join();
    for (size_t i = 0; i < serial.size(); ++i) {
      const auto pixels = read_png_rgb(serial[i].path).pixels;
      EXPECT_EQ(read_png_rgb(x[i].path).pixels, pixels) << text << " " << i;
      EXPECT_EQ(read_png_rgb(y[i].path).pixels, pixels) << text << " " << i;
      EXPECT_EQ(x[i].measured.describe(), serial[i].measured.describe());
    }
    for (const auto& entry : fs::recursive_directory_iterator(dir + "/shared"))
      EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST(DistortImages, BrightnessResizeAndClean) {
  const std::string dir = scratch_dir("distort-kinds");
  const Sources src = write_sources(dir, 30, 20);
  const auto bright =
      distort_images(src.paths, src.sequences, parse_distortion_setting("brightness:0.4"), dir + "/c", 1);
  EXPECT_EQ(read_png_rgb(bright[3].path).pixels, adjust_brightness(src.images[3], 0.4).pixels);
  // The runtime's measurement of the distorted pixels (relative to a bundle's reference later).
  EXPECT_FALSE(bright[3].measured.brightness.has_value());
  ASSERT_TRUE(bright[3].mean_luma.has_value());
  EXPECT_EQ(*bright[3].mean_luma, mean_luma(adjust_brightness(src.images[3], 0.4).view()));

  const auto small = distort_images(src.paths, src.sequences, parse_distortion_setting("resize:16x10"), dir + "/c", 1);
  EXPECT_EQ(small[0].measured.resolution->width, 16);
  EXPECT_EQ(read_png_rgb(small[0].path).height, 10);

  const auto clean = distort_images(src.paths, src.sequences, DistortionSetting{}, dir + "/c", 1);
  for (size_t i = 0; i < clean.size(); ++i) {
    EXPECT_EQ(clean[i].path, src.paths[i]);
    EXPECT_EQ(clean[i].measured.resolution->width, 30);
    EXPECT_EQ(clean[i].measured.resolution->height, 20);
  }
}

TEST(DistortImages, ErrorsNameTheFile) {
  const std::string dir = scratch_dir("distort-errors");
  const Sources src = write_sources(dir);
  auto message = [&](std::vector<std::string> paths, std::vector<std::string> seqs, const char* setting) {
    try {
      distort_images(paths, seqs, parse_distortion_setting(setting), dir + "/c", 2);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({dir + "/missing.png"}, {"s"}, "jpeg:50").find("missing.png"), std::string::npos);
  EXPECT_NE(message({dir + "/missing.png"}, {"s"}, "clean").find("missing.png"), std::string::npos);
  EXPECT_NE(message(src.paths, {"s"}, "jpeg:50").find("sequence names"), std::string::npos);
  write_png_rgb(dir + "/big.png", pattern_image(80, 48));
  const std::string mixed = message({src.paths[0], dir + "/big.png"}, {"s", "s"}, "h264:@20");
  EXPECT_NE(mixed.find("big.png"), std::string::npos) << mixed;
  EXPECT_NO_THROW(distort_images({src.paths[0], dir + "/big.png"}, {"s", "s"},
                                 parse_distortion_setting("h264:64x48@20"), dir + "/c", 1));
}

namespace {

struct CliRun {
  int code;
  std::string out;
};

CliRun gearnn_cli(const std::string& args) {
  const std::string command = "'" + gearnn::testing::env("GEARNN_CLI") + "' " + args + " 2>&1";
  CliRun r{-1, ""};
  FILE* p = popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST(DistortCli, AppliesOneSettingAndPrintsTheMeasurement) {
  if (gearnn::testing::env("GEARNN_CLI").empty()) GTEST_SKIP() << "GEARNN_CLI is not set (run through meson test)";
  const std::string dir = scratch_dir("distort-cli");
  write_png_rgb(dir + "/in.png", pattern_image(48, 32));

  const CliRun jpeg = gearnn_cli("distort jpeg:40 " + dir + "/in.png -o " + dir + "/out.png --json");
  ASSERT_EQ(jpeg.code, 0) << jpeg.out;
  const auto j = nlohmann::json::parse(jpeg.out);
  EXPECT_EQ(j["setting"], "jpeg:40");
  EXPECT_EQ(j["measured"]["jpeg_quality"], 40.0);
  EXPECT_EQ(j["measured"]["resolution"], nlohmann::json::array({48, 32}));
  EXPECT_EQ(read_png_rgb(dir + "/out.png").width, 48);

  const CliRun h264 = gearnn_cli("distort h264:32x16@30 " + dir + "/in.png -o " + dir + "/h.png");
  ASSERT_EQ(h264.code, 0) << h264.out;
  EXPECT_NE(h264.out.find("32x16 qp="), std::string::npos) << h264.out;

  const CliRun help = gearnn_cli("distort --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage:"), std::string::npos);
  for (const std::string& bad :
       std::vector<std::string>{"distort", "distort jpeg:40 " + dir + "/in.png", "distort jpeg:400 x.png -o y.png"})
    EXPECT_EQ(gearnn_cli(bad).code, 2) << bad;
  const CliRun missing = gearnn_cli("distort jpeg:40 " + dir + "/nope.png -o " + dir + "/o.png");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("nope.png"), std::string::npos) << missing.out;
}
