// Offline and runtime measure a stream alike: real libx264 streams (x264's
// default preset, AQ and mbtree on) played through gearnnquality !
// avdec_h264 ! gearnn measure the descriptor the offline side computes for
// their level, a ladder of representations lands on each one's level, and
// brightness reads the same on the same frames; gearnn-eval-stream scores a
// ladder it encodes (H.264, JPEG or brightness) and the same streams given as files alike.
#include "../distort/synthetic.h"
#include "distort/apply.h"
#include "distort/distort_images.h"
#include "distort/h264.h"
#include "gearnnmeta.h"
#include "manifest.h"
#include "measure/stream_quality.h"
#include "random_bundle.h"
#include "stream_player.h"
#include "test_support.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <tuple>

namespace fs = std::filesystem;
using namespace gearnn;

namespace {

class GstEnvironment : public ::testing::Environment {
public:
  void SetUp() override { gst_init(nullptr, nullptr); }
};
const auto* const gst_environment = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

// A moving textured scene with sensor noise, so that the encoder has real work.
std::vector<std::string> write_sequence(const std::string& dir, int count, int width, int height) {
  std::mt19937 rng(7);
  std::vector<std::string> paths;
  for (int i = 0; i < count; ++i) {
    RgbImage img = gearnn::testing::pattern_image(width, height, i);
    for (uint8_t& p : img.pixels) p = uint8_t(std::clamp(int(p) + int(rng() % 17) - 8, 0, 255));
    char name[32];
    std::snprintf(name, sizeof name, "/f%03d.png", i);
    paths.push_back(dir + name);
    write_png_rgb(paths.back(), img);
  }
  return paths;
}

// The offline descriptor of a level on these frames, as gearnn adapt computes it.
double offline_qp(const std::vector<std::string>& frames, const std::string& setting, const std::string& cache) {
  const auto out = distort_images(frames, std::vector<std::string>(frames.size(), "seq"),
                                  parse_distortion_setting(setting), cache, 1);
  double sum = 0;
  for (const auto& d : out) sum += *d.measured.h264_qp;
  return sum / double(out.size());
}

struct Measured {
  std::vector<std::string> levels;
  std::vector<double> qp;
};

Measured play(const std::string& stream, const std::string& bundle) {
  Measured m;
  tools::PlayOptions o;
  o.bundle = bundle;
  o.threads = 1;
  tools::play_file(stream, tools::StreamCodec::h264, o, [&](const GstGearnnSegmentation& seg) {
    m.levels.push_back(seg.level);
    m.qp.push_back(seg.measured & GST_GEARNN_MEASURED_H264_QP ? seg.measured_qp : -1);
  });
  return m;
}

// A bundle of random weights whose levels carry the given names and descriptors.
std::string bundle_with_levels(const std::string& name, const std::vector<LevelSpec>& levels,
                               const std::vector<std::string>& exits = {}) {
  const std::string dir = gearnn::testing::scratch_dir(name);
  RandomBundleOptions o;
  o.architecture = "drn_d_22";
  o.width = 0.125;
  o.classes = 5;
  o.levels = int(levels.size());
  o.exits = exits;
  write_random_bundle(dir, o);
  Manifest m = read_manifest(dir + "/manifest.json");
  for (size_t i = 0; i < levels.size(); ++i) {
    m.levels[i].name = levels[i].name;
    m.levels[i].distortion = levels[i].distortion;
  }
  write_manifest(dir + "/manifest.json", m);
  return dir;
}

LevelSpec abr_level(const std::string& name, int w, int h, double qp) {
  LevelSpec l;
  l.name = name;
  l.distortion.resolution = Resolution{w, h};
  l.distortion.h264_qp = qp;
  return l;
}

LevelSpec jpeg_level(const std::string& name, double quality) {
  LevelSpec l;
  l.name = name;
  l.distortion.jpeg_quality = quality;
  return l;
}

// results.csv of a report: (method, level) -> mIoU.
std::map<std::pair<std::string, std::string>, double> report_rows(const std::string& dir) {
  std::ifstream in(dir + "/results.csv");
  std::map<std::pair<std::string, std::string>, double> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string method, level, miou;
    std::getline(fields, method, ',');
    std::getline(fields, level, ',');
    std::getline(fields, miou, ',');
    rows[{method, level}] = std::stod(miou);
  }
  return rows;
}

// Muxes an H.264 stream into MPEG-TS without re-encoding, in this process.
void mux_to_mpeg_ts(const std::string& in, const std::string& out) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(
      ("filesrc location=\"" + in + "\" ! h264parse ! mpegtsmux ! filesink location=\"" + out + "\"").c_str(), &err);
  ASSERT_EQ(err, nullptr) << err->message;
  ASSERT_NE(gst_element_set_state(p, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(p);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  EXPECT_TRUE(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) << "muxing " << in;
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
}

// Runs a command, returns its exit status; its stderr goes to `err`.
int run_capturing(const std::string& command, const std::string& err) {
  const int status = std::system((command + " 2> " + err).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

double mean(const std::vector<double>& v, size_t from = 0) {
  double s = 0;
  for (size_t i = from; i < v.size(); ++i) s += v[i];
  return s / double(v.size() - from);
}

}  // namespace

// ffmpeg's own command line (x264's default preset, its default threading)
// encodes the frames at a level's settings; the element's measurement over
// the stream is the level's offline descriptor within 1 QP.
TEST(StreamLevels, AStreamAtALevelsSettingsMeasuresItsDescriptor) {
  if (std::system("ffmpeg -version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no ffmpeg command: skipped";
  const std::string dir = gearnn::testing::scratch_dir("stream-descriptor");
  const auto frames = write_sequence(dir, 90, 160, 120);
  const std::string bundle = bundle_with_levels("stream-descriptor-bundle", {abr_level("a", 160, 120, 20),
                                                                             abr_level("b", 160, 120, 40)});
  struct Case {
    const char* setting;
    const char* ffmpeg_rate;
  };
  for (const Case& c : {Case{"h264:160x120@28", "-crf 28"}, Case{"h264:160x120@36", "-crf 36"},
                        Case{"h264:160x120@150k", "-b:v 150k -maxrate 150k -bufsize 300k"}}) {
    SCOPED_TRACE(c.setting);
    const double descriptor = offline_qp(frames, c.setting, dir + "/cache");
    const std::string stream = dir + "/" + std::string(c.ffmpeg_rate).substr(1, 3) + ".h264";
    const std::string cmd = "ffmpeg -loglevel error -y -framerate 30 -i " + dir + "/f%03d.png -c:v libx264 " +
                            c.ffmpeg_rate + " -g 30 -x264-params scenecut=0 -pix_fmt yuv420p " + stream;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const Measured m = play(stream, bundle);
    ASSERT_EQ(m.qp.size(), frames.size());
    for (double qp : m.qp) ASSERT_GE(qp, 0) << "every frame carries a measured QP";
    EXPECT_NEAR(mean(m.qp), descriptor, 1.0);
  }
}

// Four representations (two resolutions, two qualities; two switches change
// only the quality, as a drone link does) in one stream: after its first GOP
// each representation runs the level made at its settings, and no
// representation switches more than once after that GOP's first frame.
TEST(StreamLevels, ALadderLandsOnEachRepresentationsLevel) {
  const std::string dir = gearnn::testing::scratch_dir("stream-ladder");
  const auto frames = write_sequence(dir, 60, 160, 120);
  const std::vector<std::string> ladder = {"h264:160x120@20", "h264:160x120@38", "h264:96x72@38", "h264:96x72@20"};
  std::vector<LevelSpec> levels;
  for (const std::string& setting : ladder) {
    const DistortionSetting s = parse_distortion_setting(setting);
    levels.push_back(abr_level(setting, s.size->width, s.size->height, offline_qp(frames, setting, dir + "/cache")));
  }
  const std::string bundle = bundle_with_levels("stream-ladder-bundle", levels);

  const std::string stream = dir + "/ladder.h264";
  {
    std::ofstream out(stream, std::ios::binary);
    for (const std::string& setting : ladder) {
      const DistortionSetting s = parse_distortion_setting(setting);
      h264_roundtrip_stream(
          frames.size(), [&](size_t i) { return read_png_rgb(frames[i]); },
          [](size_t, RgbImage&&, const H264FrameQp&) {}, H264RateControl(s.crf), s.size, 30,
          [&](const uint8_t* d, size_t n) { out.write(reinterpret_cast<const char*>(d), std::streamsize(n)); });
    }
  }
  const Measured m = play(stream, bundle);
  ASSERT_EQ(m.levels.size(), ladder.size() * frames.size());
  for (size_t r = 0; r < ladder.size(); ++r) {
    SCOPED_TRACE(ladder[r]);
    const size_t begin = r * frames.size(), end = begin + frames.size();
    int switches = 0;
    for (size_t i = begin + 1; i < end; ++i) switches += m.levels[i] != m.levels[i - 1];
    EXPECT_LE(switches, 1);
    for (size_t i = begin + 30; i < end; ++i) EXPECT_EQ(m.levels[i], ladder[r]) << "frame " << i - begin;
  }
}

// Brightness: the offline descriptor of a level (the mean luma of its frames
// against the bundle's reference) is what the element measures on the same
// frames, given as RGB exactly and as I420 (read from its Y plane) within the
// conversion's rounding.
TEST(StreamLevels, BrightnessReadsTheSameOfflineAndAtRunTime) {
  const std::string dir = gearnn::testing::scratch_dir("stream-brightness");
  const auto frames = write_sequence(dir, 12, 64, 48);
  LevelSpec dark, normal;
  dark.name = "dark";
  dark.distortion.brightness = 0.3;
  normal.name = "normal";
  normal.distortion.brightness = 1.0;
  const std::string bundle = bundle_with_levels("stream-brightness-bundle", {dark, normal});
  const Manifest manifest = read_manifest(bundle + "/manifest.json");
  const auto distorted = distort_images(frames, std::vector<std::string>(frames.size(), "seq"),
                                        parse_distortion_setting("brightness:0.4"), dir + "/cache", 1);
  for (const char* format : {"RGB", "I420"}) {
    SCOPED_TRACE(format);
    GstHarness* h = gst_harness_new_parse(
        ("videoconvert ! video/x-raw,format=" + std::string(format) + " ! gearnn bundle=" + bundle).c_str());
    gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
    for (const auto& d : distorted) {
      const RgbImage img = read_png_rgb(d.path);
      GstBuffer* in = gst_buffer_new_memdup(img.pixels.data(), img.pixels.size());
      ASSERT_EQ(gst_harness_push(h, in), GST_FLOW_OK);
      GstBuffer* out = gst_harness_pull(h);
      GstGearnnSegmentation seg;
      ASSERT_TRUE(gst_buffer_get_gearnn_segmentation(out, &seg));
      ASSERT_TRUE(seg.measured & GST_GEARNN_MEASURED_BRIGHTNESS);
      const double offline = relative_brightness(*d.mean_luma, luma_of_mean(manifest.normalization.mean));
      EXPECT_NEAR(seg.measured_brightness, offline, std::string(format) == "RGB" ? 1e-9 : 0.005);
      gst_buffer_unref(out);
    }
    gst_harness_teardown(h);
  }
}

namespace {

// The gearnn-eval-stream command line on a synthetic labelled split of 20
// 96x72 frames, with a bundle of two H.264 levels: clean (QP 20, the base)
// and coarse (QP 40).
std::string eval_stream_on_shapes(const std::string& tool, const std::string& dir, const std::string& bundle_name) {
  const std::string data = gearnn::testing::make_shapes_dataset(dir + "/data", 2, 20, 96, 72);
  LevelSpec clean = abr_level("clean", 96, 72, 20), coarse = abr_level("coarse", 96, 72, 40);
  const std::string bundle = bundle_with_levels(bundle_name, {coarse, clean});
  return tool + " --data " + data + " --split val --bundle " + bundle + " --threads 1";
}

// Runs the ladder (streams into dir/streams, the report into dir/encoded) and
// returns the report's rows.
std::map<std::pair<std::string, std::string>, double> run_ladder(const std::string& common, const std::string& dir,
                                                                   const std::string& ladder) {
  const std::string command = common + " --ladder " + ladder + " --work " + dir + "/streams -o " + dir + "/encoded";
  EXPECT_EQ(run_capturing(command, dir + "/encoded.err"), 0) << read_text(dir + "/encoded.err");
  return report_rows(dir + "/encoded");
}

// The cells of the first Markdown table row after `section` that starts with
// `row_start` ("| name |"); empty when there is none. cells[0] is before the first '|'.
std::vector<std::string> table_row(const std::string& table, const std::string& section, const std::string& row_start) {
  std::vector<std::string> cells;
  const size_t from = table.find(section);
  const size_t at = from == std::string::npos ? from : table.find(row_start, from);
  if (at == std::string::npos) return cells;
  std::istringstream line(table.substr(at, table.find('\n', at) - at));
  for (std::string cell; std::getline(line, cell, '|');) cells.push_back(cell);
  return cells;
}

bool have_element(const char* name) {
  GstElementFactory* f = gst_element_factory_find(name);
  if (f) gst_object_unref(f);
  return f != nullptr;
}

}  // namespace

// gearnn-eval-stream on a synthetic labelled split: the oracle row is the best
// fixed level and the base row the fixed base level of each representation;
// the streams it encoded, given back as files (one as Annex B, one muxed into
// MPEG-TS without re-encoding), score exactly as they did; bad files are named.
TEST(StreamLevels, EvalStreamScoresItsLadderAndGivenFilesAlike) {
  const std::string tool = gearnn::testing::env("GEARNN_EVAL_STREAM");
  if (tool.empty()) GTEST_SKIP() << "GEARNN_EVAL_STREAM is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("eval-stream");
  const std::string common = eval_stream_on_shapes(tool, dir, "eval-stream-bundle");

  const std::string work = dir + "/streams", encoded = dir + "/encoded";
  const auto rows = run_ladder(common, dir, "h264:96x72@18,96x72@40");
  ASSERT_FALSE(HasFailure());
  for (const std::string rep : {"96x72@18", "96x72@40"}) {
    SCOPED_TRACE(rep);
    const double fixed_clean = rows.at({"fixed:clean", rep}), fixed_coarse = rows.at({"fixed:coarse", rep});
    EXPECT_DOUBLE_EQ(rows.at({"oracle", rep}), std::max(fixed_clean, fixed_coarse));
    EXPECT_DOUBLE_EQ(rows.at({"base", rep}), fixed_clean);  // the level without adaptor
    ASSERT_TRUE(rows.count({"adaptive", rep}));
  }
  const std::string table = read_text(encoded + "/report.md");
  // Each representation runs the level of its quality from its first frame to
  // its last, so the adaptive element scores exactly as that level fixed, and
  // the level-choice table says so.
  for (const auto& [rep, level] : {std::pair<std::string, std::string>{"96x72@18", "clean"}, {"96x72@40", "coarse"}}) {
    SCOPED_TRACE(rep);
    EXPECT_DOUBLE_EQ(rows.at({"adaptive", rep}), rows.at({"fixed:" + level, rep}));
    const auto cells = table_row(table, "## Levels chosen by the adaptive element", "| " + rep + " |");
    ASSERT_FALSE(cells.empty()) << "the level-choice table lists each representation:\n" << table;
    ASSERT_GE(cells.size(), 5u) << table;
    EXPECT_EQ(cells[3], " 0 ") << "switches";
    EXPECT_EQ(cells[4], " " + level + " 20 ") << "frames per level";
  }

  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(work))
    if (e.path().extension() == ".h264") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 2u);
  // Muxed by GStreamer: ffmpeg's stream copy of raw H.264 with B frames drops frames.
  if (!have_element("mpegtsmux")) GTEST_SKIP() << "no mpegtsmux (gst-plugins-bad): the given-files half is skipped";
  const std::string ts = dir + "/second.ts";
  mux_to_mpeg_ts(files[1], ts);
  const std::string given = dir + "/given";
  ASSERT_EQ(run_capturing(common + " --streams first=" + files[0] + ",second=" + ts + " -o " + given,
                          dir + "/given.err"), 0)
      << read_text(dir + "/given.err");
  const auto given_rows = report_rows(given);
  // The work folder's names sort as the ladder: 96x72_18 before 96x72_40.
  for (const auto& [from, to] : {std::pair{std::string("96x72@18"), std::string("first")}, {"96x72@40", "second"}})
    for (const std::string method : {"adaptive", "base", "oracle", "fixed:clean", "fixed:coarse"}) {
      SCOPED_TRACE(method + " " + to);
      EXPECT_DOUBLE_EQ(given_rows.at({method, to}), rows.at({method, from}));
    }

  EXPECT_EQ(run_capturing(common + " --streams a=" + dir + "/missing.h264 -o " + dir + "/bad", dir + "/bad.err"), 1);
  EXPECT_NE(read_text(dir + "/bad.err").find(dir + "/missing.h264: not a regular file"), std::string::npos)
      << read_text(dir + "/bad.err");
  const std::string text = dir + "/not-video.h264";
  std::ofstream(text) << "not a video\n";
  EXPECT_EQ(run_capturing(common + " --streams a=" + text + " -o " + dir + "/bad", dir + "/bad.err"), 1);
  EXPECT_NE(read_text(dir + "/bad.err").find(text + ": "), std::string::npos) << read_text(dir + "/bad.err");
  EXPECT_EQ(run_capturing(common + " --ladder h264:96x72@18 --streams a=" + files[0] + " -o " + dir + "/bad",
                          dir + "/bad.err"), 2);
}

// gearnn-eval-stream --ladder jpeg:...: each representation is one JPEG per
// frame at its quality, so the element runs that quality's level from the
// first frame to the last and scores exactly as the level fixed; the stream
// given back as an .mjpeg file scores the same, and a file of no JPEG is named.
TEST(StreamLevels, EvalStreamScoresAJpegLadder) {
  const std::string tool = gearnn::testing::env("GEARNN_EVAL_STREAM");
  if (tool.empty()) GTEST_SKIP() << "GEARNN_EVAL_STREAM is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("eval-stream-jpeg");
  const std::string data = gearnn::testing::make_shapes_dataset(dir + "/data", 2, 20, 96, 72);
  const std::string bundle = bundle_with_levels("eval-stream-jpeg-bundle", {jpeg_level("q20", 20), jpeg_level("q90", 90)});
  const std::string common = tool + " --data " + data + " --split val --bundle " + bundle + " --threads 1";

  const auto rows = run_ladder(common, dir, "jpeg:20,90");
  ASSERT_FALSE(HasFailure());
  const std::string table = read_text(dir + "/encoded/report.md");
  EXPECT_NE(table.find("| representation | mean measured JPEG quality |"), std::string::npos) << table;
  for (const auto& [rep, level, measured] : {std::tuple<std::string, std::string, std::string>{"jpeg:20", "q20", "20"},
                                             {"jpeg:90", "q90", "90"}}) {
    SCOPED_TRACE(rep);
    EXPECT_DOUBLE_EQ(rows.at({"adaptive", rep}), rows.at({"fixed:" + level, rep}));
    EXPECT_DOUBLE_EQ(rows.at({"base", rep}), rows.at({"fixed:q90", rep}));  // the level without adaptor
    EXPECT_DOUBLE_EQ(rows.at({"oracle", rep}), std::max(rows.at({"fixed:q20", rep}), rows.at({"fixed:q90", rep})));
    const auto cells = table_row(table, "## Levels chosen by the adaptive element", "| " + rep + " |");
    ASSERT_GE(cells.size(), 5u) << table;
    EXPECT_EQ(cells[2], " " + measured + ".00 ") << "mean measured JPEG quality";
    EXPECT_EQ(cells[3], " 0 ") << "switches";
    EXPECT_EQ(cells[4], " " + level + " 20 ") << "frames per level";
  }
  // The two representations are not the same pictures: the coarse one's masks differ.
  EXPECT_NE(rows.at({"fixed:q90", "jpeg:20"}), rows.at({"fixed:q90", "jpeg:90"}));

  const std::string file = dir + "/streams/jpeg_20.mjpeg";
  ASSERT_TRUE(fs::is_regular_file(file));
  ASSERT_EQ(run_capturing(common + " --streams given=" + file + " -o " + dir + "/given", dir + "/given.err"), 0)
      << read_text(dir + "/given.err");
  const auto given_rows = report_rows(dir + "/given");
  for (const std::string method : {"adaptive", "base", "oracle", "fixed:q20", "fixed:q90"}) {
    SCOPED_TRACE(method);
    EXPECT_DOUBLE_EQ(given_rows.at({method, "given"}), rows.at({method, "jpeg:20"}));
  }
  const std::string text = dir + "/not-jpeg.mjpeg";
  std::ofstream(text) << "not a JPEG\n";
  EXPECT_EQ(run_capturing(common + " --streams a=" + text + " -o " + dir + "/bad", dir + "/bad.err"), 1);
  EXPECT_NE(read_text(dir + "/bad.err").find(text + ": "), std::string::npos) << read_text(dir + "/bad.err");
}

// gearnn-eval-stream --ladder brightness:...: each representation is the
// split darkened or brightened as gearnn distort does it and carried as JPEG
// (or H.264 with --carrier); the element measures on it the brightness that
// the offline side computes for the level from the same frames, runs that
// level on every frame, and the level-choice table shows what it measured.
TEST(StreamLevels, EvalStreamScoresABrightnessLadder) {
  const std::string tool = gearnn::testing::env("GEARNN_EVAL_STREAM");
  if (tool.empty()) GTEST_SKIP() << "GEARNN_EVAL_STREAM is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("eval-stream-brightness");
  const std::string data = gearnn::testing::make_shapes_dataset(dir + "/data", 2, 20, 96, 72);
  std::vector<std::string> frames;
  std::ifstream list(data + "/val.txt");
  for (std::string image, label; list >> image >> label;) frames.push_back(data + "/" + image);
  ASSERT_EQ(frames.size(), 20u);
  // The levels' descriptors as gearnn adapt computes them, on these frames.
  const std::string probe =
      bundle_with_levels("eval-stream-brightness-probe", {jpeg_level("a", 10), jpeg_level("b", 90)});
  const double reference = luma_of_mean(read_manifest(probe + "/manifest.json").normalization.mean);
  const auto descriptor = [&](double factor) {
    double sum = 0;
    for (const auto& f : frames)
      sum += relative_brightness(
          apply_distortion(read_png_rgb(f), parse_distortion_setting("brightness:" + std::to_string(factor))).mean_luma,
          reference);
    return sum / double(frames.size());
  };
  LevelSpec dark, normal;
  dark.name = "dark";
  dark.distortion.brightness = descriptor(0.3);
  normal.name = "normal";
  normal.distortion.brightness = descriptor(1.0);
  ASSERT_LT(dark.distortion.brightness, 0.5 * *normal.distortion.brightness);
  const std::string bundle = bundle_with_levels("eval-stream-brightness-bundle", {dark, normal});
  const std::string common = tool + " --data " + data + " --split val --bundle " + bundle + " --threads 1";

  const auto rows = run_ladder(common, dir, "brightness:0.3,1");
  ASSERT_FALSE(HasFailure());
  const std::string table = read_text(dir + "/encoded/report.md");
  EXPECT_NE(table.find("| representation | mean measured brightness |"), std::string::npos) << table;
  EXPECT_NE(table.find("JPEG encoded one image per frame as `gearnn distort` encodes (libjpeg, IJG tables, 4:2:0); "
                       "each changed in brightness first, as `gearnn distort` changes it (each RGB value times the "
                       "factor, clipped to 255), then encoded at `jpeg:95`, and played through"),
            std::string::npos)
      << table;
  for (const auto& [rep, level] :
       {std::pair<std::string, LevelSpec>{"brightness:0.3", dark}, {"brightness:1", normal}}) {
    SCOPED_TRACE(rep);
    EXPECT_DOUBLE_EQ(rows.at({"adaptive", rep}), rows.at({"fixed:" + level.name, rep}));
    EXPECT_DOUBLE_EQ(rows.at({"base", rep}), rows.at({"fixed:normal", rep}));  // the level without adaptor
    EXPECT_DOUBLE_EQ(rows.at({"oracle", rep}), std::max(rows.at({"fixed:dark", rep}), rows.at({"fixed:normal", rep})));
    const auto cells = table_row(table, "## Levels chosen by the adaptive element", "| " + rep + " |");
    ASSERT_GE(cells.size(), 5u) << table;
    // JPEG at quality 95 moves the mean luma by a fraction of a level.
    EXPECT_NEAR(std::stod(cells[2]), *level.distortion.brightness, 0.01) << "mean measured brightness";
    EXPECT_EQ(cells[3], " 0 ") << "switches";
    EXPECT_EQ(cells[4], " " + level.name + " 20 ") << "frames per level";
  }
  EXPECT_NE(rows.at({"fixed:normal", "brightness:0.3"}), rows.at({"fixed:normal", "brightness:1"}));

  // Carried by H.264 instead: the same level, the same brightness within the
  // codec's and the video-range conversion's rounding.
  ASSERT_EQ(run_capturing(common + " --ladder brightness:0.3 --carrier h264:@18 --work " + dir + "/h264 -o " + dir +
                              "/h264-report",
                          dir + "/h264.err"),
            0)
      << read_text(dir + "/h264.err");
  const std::string h264_table = read_text(dir + "/h264-report/report.md");
  const auto cells = table_row(h264_table, "## Levels chosen by the adaptive element", "| brightness:0.3 |");
  ASSERT_GE(cells.size(), 5u) << h264_table;
  EXPECT_NEAR(std::stod(cells[2]), *dark.distortion.brightness, 0.02) << h264_table;
  EXPECT_EQ(cells[4], " dark 20 ") << h264_table;
  EXPECT_TRUE(fs::is_regular_file(dir + "/h264/brightness_0.3-h264_@18.h264"));

  // Another carrier into the same work folder encodes anew: the streams are named by their carrier.
  ASSERT_EQ(run_capturing(common + " --ladder brightness:0.3 --carrier jpeg:20 --work " + dir + "/streams -o " + dir +
                              "/q20-report",
                          dir + "/q20.err"),
            0)
      << read_text(dir + "/q20.err");
  const std::string q95 = dir + "/streams/brightness_0.3-jpeg_95.mjpeg";
  const std::string q20 = dir + "/streams/brightness_0.3-jpeg_20.mjpeg";
  ASSERT_TRUE(fs::is_regular_file(q95) && fs::is_regular_file(q20));
  EXPECT_LT(fs::file_size(q20), fs::file_size(q95));

  for (const auto& [args, message] :
       {std::pair<std::string, std::string>{"--ladder brightness:0.3 --carrier h264:96x72@18",
                                            "--carrier: 'h264:96x72@18' is not jpeg:Q or an h264 setting"},
        {"--ladder brightness:0.3 --carrier brightness:0.5", "--carrier: 'brightness:0.5' is not jpeg:Q"},
        {"--streams a=" + q20 + " --carrier jpeg:90", "--carrier goes with --ladder"},
        {"--ladder jpeg:90 --carrier jpeg:50", "--carrier encodes brightness representations, and --ladder has"}}) {
    SCOPED_TRACE(args);
    EXPECT_EQ(run_capturing(common + " " + args + " -o " + dir + "/bad", dir + "/bad.err"), 2);
    EXPECT_NE(read_text(dir + "/bad.err").find(message), std::string::npos) << read_text(dir + "/bad.err");
  }
}

// gearnn-eval-stream --mpd: a two-representation ladder muxed into DASH by
// ffmpeg without re-encoding (with a SegmentTimeline and with a segment
// duration) scores exactly as the ladder did, representation by
// representation in the MPD's order; a missing segment, a live MPD and a file
// that is not an MPD are named. (ffmpeg states its nominal segment duration,
// shorter than a GOP here: the reader counts the segments that exist.)
TEST(StreamLevels, EvalStreamReadsTheRepresentationsOfADashMpd) {
  const std::string tool = gearnn::testing::env("GEARNN_EVAL_STREAM");
  if (tool.empty()) GTEST_SKIP() << "GEARNN_EVAL_STREAM is not set (run through meson test)";
  if (std::system("ffmpeg -hide_banner -loglevel error -muxers 2>/dev/null | grep -qw dash") != 0)
    GTEST_SKIP() << "no ffmpeg with its dash muxer: the MPD is made by ffmpeg";
  if (!have_element("mpegtsmux"))
    GTEST_SKIP() << "no mpegtsmux (gst-plugins-bad): ffmpeg needs timestamps to copy the streams";
  const std::string dir = gearnn::testing::scratch_dir("eval-stream-mpd");
  const std::string common = eval_stream_on_shapes(tool, dir, "eval-stream-mpd-bundle");
  const std::string work = dir + "/streams";
  const auto ladder_rows = run_ladder(common, dir, "h264:96x72@40,96x72@18");
  ASSERT_FALSE(HasFailure());
  mux_to_mpeg_ts(work + "/96x72@40.h264", dir + "/first.ts");
  mux_to_mpeg_ts(work + "/96x72@18.h264", dir + "/second.ts");

  for (const bool timeline : {true, false}) {
    SCOPED_TRACE(timeline ? "SegmentTimeline" : "segment duration");
    const std::string dash = dir + (timeline ? "/dash-timeline" : "/dash-duration");
    fs::create_directories(dash);
    ASSERT_EQ(std::system(("ffmpeg -hide_banner -loglevel error -y -i " + dir + "/first.ts -i " + dir +
                           "/second.ts -map 0:v -map 1:v -c copy -tag:v avc1 -f dash -seg_duration 0.2 -use_template 1"
                           " -use_timeline " + (timeline ? "1" : "0") + " -adaptation_sets id=0,streams=v " +
                           dash + "/manifest.mpd")
                              .c_str()),
              0);
    const std::string report = dash + "-report";
    ASSERT_EQ(run_capturing(common + " --mpd " + dash + "/manifest.mpd -o " + report, dir + "/mpd.err"), 0)
        << read_text(dir + "/mpd.err");
    const auto rows = report_rows(report);
    // The MPD's representations in its order, named WxH@<bandwidth>k: the
    // level-choice table lists them in that order.
    const std::string table = read_text(report + "/report.md");
    std::vector<std::pair<size_t, std::string>> names;
    for (const auto& [key, miou] : rows)
      if (key.first == "adaptive") names.push_back({table.find("| " + key.second + " |"), key.second});
    std::sort(names.begin(), names.end());
    ASSERT_EQ(names.size(), 2u);
    for (const auto& [pos, name] : names) {
      ASSERT_NE(pos, std::string::npos) << name << " is not in the level-choice table";
      ASSERT_EQ(name.rfind("96x72@", 0), 0u) << name;
    }
    for (const auto& [from, to] : {std::pair{std::string("96x72@40"), names[0].second}, {"96x72@18", names[1].second}})
      for (const std::string method : {"adaptive", "base", "oracle", "fixed:clean", "fixed:coarse"}) {
        SCOPED_TRACE(method + " " + to);
        EXPECT_DOUBLE_EQ(rows.at({method, to}), ladder_rows.at({method, from}));
      }
  }

  // A segment the timeline lists gone: named, nothing scored.
  std::string segment;
  for (const auto& e : fs::directory_iterator(dir + "/dash-timeline"))
    if (e.path().extension() == ".m4s" && e.path().filename().string().find("init") == std::string::npos)
      segment = e.path().string();
  ASSERT_FALSE(segment.empty());
  fs::remove(segment);
  EXPECT_EQ(run_capturing(common + " --mpd " + dir + "/dash-timeline/manifest.mpd -o " + dir + "/bad", dir + "/bad.err"), 1);
  EXPECT_NE(read_text(dir + "/bad.err").find("segment " + segment + " is missing"), std::string::npos)
      << read_text(dir + "/bad.err");
  std::string live = read_text(dir + "/dash-timeline/manifest.mpd");
  const size_t type = live.find("type=\"static\"");
  ASSERT_NE(type, std::string::npos);
  live.replace(type, 13, "type=\"dynamic\"");
  std::ofstream(dir + "/dash-timeline/live.mpd") << live;
  EXPECT_EQ(run_capturing(common + " --mpd " + dir + "/dash-timeline/live.mpd -o " + dir + "/bad", dir + "/bad.err"), 1);
  EXPECT_NE(read_text(dir + "/bad.err").find("live.mpd: a dynamic (live) MPD"), std::string::npos)
      << read_text(dir + "/bad.err");
  std::ofstream(dir + "/text.mpd") << "not xml at all <";
  EXPECT_EQ(run_capturing(common + " --mpd " + dir + "/text.mpd -o " + dir + "/bad", dir + "/bad.err"), 1);
  EXPECT_NE(read_text(dir + "/bad.err").find("text.mpd: not an MPD"), std::string::npos) << read_text(dir + "/bad.err");
}

// With --early-exit the adaptive element plays each representation again with
// the bundle's exits on, once per threshold scale. The random heads'
// threshold is 0.5: at x0.01 every frame leaves at the first exit, at a
// fraction of the network's MACs; at x100 (a threshold above any confidence)
// none leaves, every head runs on every frame and the masks are the
// network's. A bundle without exits, a scale outside the element's range or
// one given twice is refused before anything is encoded.
TEST(StreamLevels, EvalStreamPlaysTheExitsOfEachRepresentation) {
  const std::string tool = gearnn::testing::env("GEARNN_EVAL_STREAM");
  if (tool.empty()) GTEST_SKIP() << "GEARNN_EVAL_STREAM is not set (run through meson test)";
  const std::string dir = gearnn::testing::scratch_dir("eval-stream-exits");
  const std::string data = gearnn::testing::make_shapes_dataset(dir + "/data", 2, 6, 96, 72);
  const std::vector<LevelSpec> levels = {abr_level("coarse", 96, 72, 40), abr_level("clean", 96, 72, 20)};
  const std::string with_exits = bundle_with_levels("eval-stream-exits-bundle", levels, {"base.4", "base.6"});
  const std::string common = tool + " --data " + data + " --split val --threads 1 --ladder h264:96x72@30 --work " +
                             dir + "/streams";
  ASSERT_EQ(run_capturing(common + " --bundle " + with_exits + " --early-exit 0.01,100 --time-rounds 2 -o " + dir +
                              "/report",
                          dir + "/report.err"),
            0)
      << read_text(dir + "/report.err");
  const auto rows = report_rows(dir + "/report");
  const std::string rep = "96x72@30";
  ASSERT_TRUE(rows.count({"adaptive+exits x0.01", rep}) && rows.count({"adaptive+exits x100", rep}))
      << read_text(dir + "/report/results.csv");
  EXPECT_DOUBLE_EQ(rows.at({"adaptive+exits x100", rep}), rows.at({"adaptive", rep}));

  const std::string table = read_text(dir + "/report/report.md");
  const std::string section = "## Early exits per representation";
  ASSERT_NE(table.find(section), std::string::npos) << table;
  auto cells_of = [&](const std::string& method) { return table_row(table, section, "| " + rep + " | " + method + " |"); };
  // Cells: (empty), representation, method, mIoU, ms, time share, MACs share, frames per exit.
  const auto network = cells_of("adaptive");
  ASSERT_GE(network.size(), 7u) << table;
  EXPECT_EQ(network[5], " 100.00 ") << "the adaptive element's own time";
  EXPECT_EQ(network[6], " 100.00 ") << "the network's MACs";
  const auto all_out = cells_of("adaptive+exits x0.01"), none_out = cells_of("adaptive+exits x100");
  ASSERT_GE(all_out.size(), 8u) << table;
  ASSERT_GE(none_out.size(), 8u) << table;
  EXPECT_LT(std::stod(all_out[6]), 50.0) << "MACs when every frame leaves after base.4";
  EXPECT_GT(std::stod(all_out[4]), 0.0) << "ms per frame";
  EXPECT_GT(std::stod(all_out[5]), 0.0) << "time share";
  EXPECT_EQ(all_out[7], " base.4 6 ") << "frames per exit";
  EXPECT_GT(std::stod(none_out[6]), 100.0) << "MACs when no frame leaves and every head runs";
  EXPECT_EQ(none_out[7], " network 6 ") << "frames per exit";
  EXPECT_NE(table.find("the median over 2 rounds"), std::string::npos) << table;

  const std::string without = bundle_with_levels("eval-stream-no-exits-bundle", levels);
  EXPECT_EQ(run_capturing(common + " --bundle " + without + " --early-exit 1 -o " + dir + "/bad", dir + "/bad.err"), 1);
  EXPECT_NE(read_text(dir + "/bad.err").find("has no early exits"), std::string::npos) << read_text(dir + "/bad.err");
  for (const auto& [scales, message] :
       {std::pair<std::string, std::string>{"0.005", "'0.005' is not a threshold scale from 0.01 to 100"},
        {"1,2,1", "'1' is given twice"},
        {"1 --time-rounds 0", "--time-rounds: 0 is not a count of at least 1"}}) {
    EXPECT_EQ(run_capturing(common + " --bundle " + with_exits + " --early-exit " + scales + " -o " + dir + "/bad",
                            dir + "/bad.err"),
              2);
    EXPECT_NE(read_text(dir + "/bad.err").find(message), std::string::npos) << read_text(dir + "/bad.err");
  }
  EXPECT_EQ(run_capturing(common + " --bundle " + with_exits + " --time-rounds 2 -o " + dir + "/bad", dir + "/bad.err"), 2);
  EXPECT_NE(read_text(dir + "/bad.err").find("--time-rounds times the plays of --early-exit"), std::string::npos)
      << read_text(dir + "/bad.err");
}
