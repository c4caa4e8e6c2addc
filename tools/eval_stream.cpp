// gearnn-eval-stream: a bundle's accuracy measured through the elements.
// A labelled split is encoded as a ladder of H.264 representations (the
// offline encoder's recipe, as services encode), of JPEG qualities (the
// offline JPEG encoder, one image per frame as an MJPEG camera sends) or of
// brightness factors (the offline brightness change, then carried by one of
// those encoders), or given as files encoded elsewhere; each representation
// is played through ... ! gearnnquality ! decoder ! gearnn
// (tools/stream_player.h), and the masks are scored against the labels at
// the labels' resolution: the adaptive element, the element fixed on the
// base level, and the element fixed on each level in turn (the best of them
// is the oracle). A local DASH MPD may stand for the files: each video
// representation is one stream.
#include "cli/args.h"
#include "cli/bench_timing.h"
#include "cli/offline_options.h"
#include "distort/apply.h"
#include "distort/h264.h"
#include "distort/jpeg.h"
#include "error.h"
#include "experiment/adapt.h"
#include "eval/confusion.h"
#include "eval/report.h"
#include "bundle.h"
#include "manifest.h"
#include "mpd_reader.h"
#include "stream_player.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

namespace fs = std::filesystem;
using namespace gearnn;
using namespace gearnn::cli;

namespace {

CommandSpec spec() {
  CommandSpec s{
      "gearnn-eval-stream --data ROOT --bundle BUNDLE (--ladder SPEC | --streams LIST | --mpd FILE) -o REPORT_DIR\n"
      "  [options]",
      "Encodes the split's frames, in order, as one stream per representation of\n"
      "SPEC (h264 settings: h264:480x360@22,320x240@400k,...; JPEG qualities:\n"
      "jpeg:10,50,90, one JPEG image per frame; or brightness factors:\n"
      "brightness:0.2,0.5,1, encoded as --carrier says), or takes the\n"
      "representations as files (--streams) or from a local DASH MPD (--mpd:\n"
      "each video representation, named WxH@<bandwidth>k), plays each through\n"
      "the gearnn elements, and scores the masks. Rows: adaptive (level-source=auto),\n"
      "base (fixed on the bundle's level without adaptor), oracle (the best fixed\n"
      "level in hindsight, per representation), fixed:<level> for every level, and\n"
      "with --switching, DNN switching (each level's whole fine-tuned model, chosen\n"
      "by the same element as the adaptors are). With --early-exit, the adaptive\n"
      "element again with the bundle's early exits on, per threshold scale: mIoU,\n"
      "time and MACs per frame and the frames leaving at each exit.\n"
      "Writes the formats of gearnn eval, with a table of the levels chosen.",
      {{"--split", "S", "split to score (default val)"},
       {"--bundle", "BUNDLE", "the bundle played by gearnn"},
       {"--ladder", "SPEC", "representations, as H.264, JPEG or brightness distortion settings"},
       {"--streams", "LIST", "representations as files instead: NAME=FILE,... (H.264: Annex B, MP4, MKV, "
                             "MPEG-TS; a FILE ending .mjpeg or .mjpg: JPEG images one after another; the split's "
                             "frames in list order)"},
       {"--mpd", "FILE", "representations from a static DASH MPD on disk (SegmentTemplate or one file each)"},
       {"--carrier", "SETTING", "how brightness representations are encoded: jpeg:Q (default jpeg:95) or an h264 "
                                 "setting without a size (h264:@18, h264:@800k)"},
       {"--switching", "DIR", "whole models per level (gearnn adapt's --switching-out)"},
       {"--early-exit", "S,..", "threshold scales at which to play the bundle's exits too (e.g. 0.95,1,1.02)"},
       {"--time-rounds", "N", "with --early-exit: rounds in which the adaptive element and each scale are played in "
                              "turn (default 3); times are medians over them"},
       {"--fps", "N", "frame rate the frames are encoded at (default 30)"},
       {"--work", "DIR", "where the encoded streams go (default REPORT_DIR/streams)"},
       {"--title", "T", "report title"},
       {"--notes", "FILE", "Markdown appended to the report"},
       {"--output", "DIR", "report folder", "-o"}},
      0,
      0};
  for (const auto& o : data_options()) s.options.push_back(o);
  return s;
}

// Encodes the dataset's images, in order, at `setting`: H.264 to an Annex B
// file, JPEG as one image after another (each as gearnn distort encodes it),
// after the brightness change of `brightness` where there is one.
void encode(const Dataset& data, const DistortionSetting& setting, const std::optional<DistortionSetting>& brightness,
            int fps, const std::string& path) {
  std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot write");
  const auto write = [&](const uint8_t* bytes, size_t size) {
    out.write(reinterpret_cast<const char*>(bytes), std::streamsize(size));
  };
  const auto frame = [&](size_t i) {
    RgbImage image = data.load_image(i);
    if (brightness) image = apply_distortion(image, *brightness).image;
    return image;
  };
  if (setting.kind == DistortionSetting::Kind::jpeg) {
    for (size_t i = 0; i < data.size(); ++i) {
      const std::vector<uint8_t> image = encode_jpeg(frame(i), setting.jpeg_quality);
      write(image.data(), image.size());
    }
  } else {
    h264_roundtrip_stream(
        data.size(), frame, [](size_t, RgbImage&&, const H264FrameQp&) {}, h264_rate_of(setting), setting.size, fps,
        write);
  }
  out.close();
  if (!out) throw Error(path + ": write error");
  fs::rename(path + ".tmp", path);
}

// One representation: encoded from the split at `setting` (after the
// brightness change of `brightness`, if any), or read from `file`.
struct Representation {
  std::string name;
  std::optional<DistortionSetting> setting;  // the codec's: for a brightness representation, the carrier
  std::string file;
  tools::StreamCodec codec = tools::StreamCodec::h264;
  std::optional<DistortionSetting> brightness = std::nullopt;
};

tools::StreamCodec codec_of(const DistortionSetting& s) {
  return s.kind == DistortionSetting::Kind::jpeg ? tools::StreamCodec::jpeg : tools::StreamCodec::h264;
}

// The encoder that carries brightness representations: JPEG at a quality, or
// H.264 at the frames' own size.
DistortionSetting carrier_option(const std::string& text) {
  const DistortionSetting c = parse_distortion_setting(text);
  if (c.kind == DistortionSetting::Kind::jpeg) return c;
  if (c.kind == DistortionSetting::Kind::h264 && !c.size) return c;
  throw UsageError("--carrier: '" + text + "' is not jpeg:Q or an h264 setting without a size (h264:@18, h264:@800k)");
}

std::vector<Representation> encoded_ladder(const std::vector<DistortionSetting>& ladder,
                                           const DistortionSetting& carrier) {
  std::vector<Representation> out;
  for (const auto& r : ladder) {
    if (r.kind == DistortionSetting::Kind::h264)
      out.push_back({r.text().substr(5), r, "", tools::StreamCodec::h264});  // the name without "h264:"
    else if (r.kind == DistortionSetting::Kind::jpeg)
      out.push_back({r.text(), r, "", tools::StreamCodec::jpeg});
    else if (r.kind == DistortionSetting::Kind::brightness)
      out.push_back({r.text(), carrier, "", codec_of(carrier), r});
    else
      throw UsageError("--ladder takes h264, jpeg or brightness settings, not " + r.text());
  }
  return out;
}

// An encoded representation's file name without extension: its name, and for
// a brightness representation its carrier too, so that a stream encoded with
// another carrier is not taken for it.
std::string encoded_stem(const Representation& r) {
  return r.brightness ? r.name + "-" + r.setting->text() : r.name;
}

tools::StreamCodec codec_of_file(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  return ext == ".mjpeg" || ext == ".mjpg" ? tools::StreamCodec::jpeg : tools::StreamCodec::h264;
}

// "NAME=FILE,NAME=FILE": every file a readable regular file, names unique.
std::vector<Representation> given_files(const std::string& list) {
  std::vector<Representation> out;
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t eq = item.find('=');
    if (item.find_first_of(" \t|") < eq)
      throw UsageError("--streams: the name in '" + item + "' has a space or a '|' (it names a report row)");
    if (eq == 0 || eq == std::string::npos || eq + 1 == item.size())
      throw UsageError("--streams: '" + item + "' is not NAME=FILE");
    Representation r{item.substr(0, eq), std::nullopt, item.substr(eq + 1)};
    r.codec = codec_of_file(r.file);
    std::error_code ec;
    if (!fs::is_regular_file(r.file, ec)) throw Error(r.file + ": not a regular file (--streams " + r.name + ")");
    if (!std::ifstream(r.file)) throw Error(r.file + ": cannot read (--streams " + r.name + ")");
    for (const auto& seen : out)
      if (seen.name == r.name) throw UsageError("--streams: the name '" + r.name + "' is given twice");
    out.push_back(std::move(r));
  }
  if (out.empty()) throw UsageError("--streams: no NAME=FILE given");
  return out;
}

// Each video representation of a local MPD, its segments joined into one
// file in `work` (named after it), in the MPD's order.
std::vector<Representation> mpd_representations(const std::string& mpd, const std::string& work) {
  std::vector<Representation> out;
  for (const tools::MpdRepresentation& r : tools::read_mpd_video(mpd)) {
    std::string name = r.width > 0 && r.height > 0 && r.bandwidth > 0
                           ? std::to_string(r.width) + "x" + std::to_string(r.height) + "@" +
                                 std::to_string((r.bandwidth + 500) / 1000) + "k"
                           : "representation-" + r.id;
    for (const auto& seen : out)
      if (seen.name == name) name += "-" + r.id;
    const std::string file = (fs::path(work) / (file_safe_name(name) + ".mp4")).string();
    tools::join_representation(r, file);
    out.push_back({name, std::nullopt, file});
  }
  return out;
}

struct Played {
  ConfusionMatrix confusion;
  std::map<std::string, size_t> frames_per_level;
  size_t switches = 0;
  double qp_sum = 0, jpeg_quality_sum = 0, brightness_sum = 0;
  size_t qp_frames = 0, jpeg_frames = 0, brightness_frames = 0;
  double ms_per_frame = 0;                      // wall clock from the first frame out to the last
  double compute_sum = 0;                       // with early exits: the frames' shares of the network's MACs
  std::map<std::string, size_t> frames_per_exit;  // with early exits; "network" for frames that left none
  explicit Played(int classes) : confusion(classes) {}
};

// Scales within the element's exit-threshold-scale range (read from the
// element: GStreamer would keep the default for a value outside it).
std::vector<double> threshold_scales(const std::string& text) {
  GstElement* element = gst_element_factory_make("gearnn", nullptr);
  if (!element) throw Error("cannot make a gearnn element");
  const auto* range = G_PARAM_SPEC_DOUBLE(g_object_class_find_property(G_OBJECT_GET_CLASS(element), "exit-threshold-scale"));
  const double min = range->minimum, max = range->maximum;
  gst_object_unref(element);
  std::vector<double> out = parse_number_list("--early-exit", text, min, max, "threshold scale");
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (std::abs(out[i] - out[j]) < 1e-9) {
        std::ostringstream v;
        v << out[i];
        throw UsageError("--early-exit: '" + v.str() + "' is given twice");
      }
  return out;
}

Played play(const std::string& stream, tools::StreamCodec codec, const Dataset& data, const tools::PlayOptions& o,
            int classes) {
  Played p(classes);
  size_t index = 0;
  std::string last_level;
  std::chrono::steady_clock::time_point first, last;
  tools::play_file(stream, codec, o, [&](const GstGearnnSegmentation& seg) {
    last = std::chrono::steady_clock::now();
    if (index == 0) first = last;
    if (index >= data.size())
      throw Error(stream + ": more frames than the split's " + std::to_string(data.size()) + " came out");
    const ClassMap label = data.load_label(index++);
    ClassMap predicted{int(seg.width), int(seg.height),
                       std::vector<uint8_t>(seg.class_map, seg.class_map + size_t(seg.width) * seg.height)};
    p.confusion.add(predicted, label);
    ++p.frames_per_level[seg.level];
    if (!last_level.empty() && last_level != seg.level) ++p.switches;
    last_level = seg.level;
    if (seg.measured & GST_GEARNN_MEASURED_H264_QP) {
      p.qp_sum += seg.measured_qp;
      ++p.qp_frames;
    }
    if (seg.measured & GST_GEARNN_MEASURED_JPEG_QUALITY) {
      p.jpeg_quality_sum += seg.measured_jpeg_quality;
      ++p.jpeg_frames;
    }
    if (seg.measured & GST_GEARNN_MEASURED_BRIGHTNESS) {
      p.brightness_sum += seg.measured_brightness;
      ++p.brightness_frames;
    }
    if (seg.has_compute_fraction) {
      p.compute_sum += seg.compute_fraction;
      ++p.frames_per_exit[seg.exit ? seg.exit : "network"];
    }
  });
  // Between frames out, so that starting the pipeline and loading the bundle do not count.
  if (index > 1) p.ms_per_frame = 1000 * std::chrono::duration<double>(last - first).count() / double(index - 1);
  if (index != data.size())
    throw Error(stream + ": " + std::to_string(index) + " frames came out of " + std::to_string(data.size()));
  return p;
}

ResultRow row(const std::string& method, const std::string& level, const ConfusionMatrix& c, int64_t resident = 0) {
  ResultRow r;
  r.resident_params = resident;
  r.resident_bytes = resident * int64_t(sizeof(float));
  r.method = method;
  r.level = level;
  r.miou = c.miou();
  r.class_iou = c.per_class_iou();
  r.confusion = c.counts();
  return r;
}

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The means of what the element measured on a stream, per dimension it
// reports: QP, JPEG quality, brightness.
struct MeanMeasured {
  std::vector<std::pair<std::string, std::string>> values;  // ("QP", "33.10"), ...
  explicit MeanMeasured(const Played& p) {
    const auto add = [&](const char* what, double sum, size_t n, const char* format) {
      if (!n) return;
      char buf[32];
      std::snprintf(buf, sizeof buf, format, sum / double(n));
      values.push_back({what, buf});
    };
    add("QP", p.qp_sum, p.qp_frames, "%.2f");
    add("JPEG quality", p.jpeg_quality_sum, p.jpeg_frames, "%.2f");
    add("brightness", p.brightness_sum, p.brightness_frames, "%.3f");
  }
  // "33.10", or named: "QP 33.10, brightness 0.412" (where representations
  // measure different dimensions); "-" when nothing was measured.
  std::string text(bool named) const {
    std::string out;
    for (const auto& [what, value] : values) out += (out.empty() ? "" : ", ") + (named ? what + " " : "") + value;
    return out.empty() ? "-" : out;
  }
};

// The one dimension every representation measured, or "" where they differ.
std::string common_dimension(const std::vector<MeanMeasured>& all) {
  std::string only;
  for (const MeanMeasured& m : all) {
    if (m.values.size() != 1) return "";
    if (!only.empty() && only != m.values[0].first) return "";
    only = m.values[0].first;
  }
  return only;
}

int run(int argc, char** argv) {
  const CommandSpec s = spec();
  const std::vector<std::string> arguments(argv + 1, argv + argc);
  const Args args(s, arguments);
  if (args.help()) {
    std::cout << help_text(s);
    return 0;
  }
  const auto began = std::chrono::steady_clock::now();
  gst_init(nullptr, nullptr);
  tools::require_gearnn_plugin();
  const std::string bundle = args.require("--bundle"), out_dir = args.require("--output");
  if (int(args.has("--ladder")) + int(args.has("--streams")) + int(args.has("--mpd")) != 1)
    throw UsageError("give one of --ladder, --streams and --mpd");
  const int fps = args.get_int("--fps", 30);
  const int threads = apply_threads(args);
  const Dataset data = open_dataset(args, "--split", "val");
  if (data.size() == 0) throw Error("the split has no frames");
  const auto loaded = Bundle::load(bundle);  // a bad bundle fails here, before any encoding or joining
  std::vector<double> exit_scales;
  const int time_rounds_given = args.get_int("--time-rounds", 3);
  if (time_rounds_given < 1)
    throw UsageError("--time-rounds: " + std::to_string(time_rounds_given) + " is not a count of at least 1");
  const size_t time_rounds = size_t(time_rounds_given);
  if (args.has("--time-rounds") && !args.has("--early-exit"))
    throw UsageError("--time-rounds times the plays of --early-exit; give both or neither");
  if (args.has("--early-exit")) {
    exit_scales = threshold_scales(args.get("--early-exit"));
    if (loaded->exits().empty()) throw Error(bundle + ": has no early exits (--early-exit; make them with gearnn exits)");
  }
  const std::string work = args.get("--work", (fs::path(out_dir) / "streams").string());
  if (args.has("--ladder") || args.has("--mpd") || args.has("--switching")) fs::create_directories(work);
  if (args.has("--carrier") && !args.has("--ladder")) throw UsageError("--carrier goes with --ladder");
  const DistortionSetting carrier = carrier_option(args.get("--carrier", "jpeg:95"));
  const std::vector<Representation> representations =
      args.has("--ladder")  ? encoded_ladder(level_spec_option(args, "--ladder"), carrier)
      : args.has("--mpd")   ? mpd_representations(args.get("--mpd"), work)
                            : given_files(args.get("--streams"));
  const Manifest& m = loaded->manifest();
  int64_t resident = loaded->base_params();
  for (size_t l = 0; l < loaded->level_count(); ++l) resident += loaded->adaptor_params(l);
  const int64_t switching_resident = loaded->base_params() * int64_t(loaded->level_count());
  const int classes = int(m.classes.size());
  std::string base_level = m.levels[0].name;
  for (const auto& l : m.levels)
    if (!l.adaptor) base_level = l.name;

  std::string switching;
  if (args.has("--switching")) {
    switching = (fs::path(work) / "switching-bundle").string();
    write_switching_bundle(bundle, args.get("--switching"), switching);
  }
  bool has_h264 = false, has_jpeg = false;
  for (const Representation& r : representations) (r.codec == tools::StreamCodec::jpeg ? has_jpeg : has_h264) = true;
  const bool mixed_codecs = has_h264 && has_jpeg;
  size_t brightness_count = 0;
  for (const Representation& r : representations) brightness_count += r.brightness.has_value();
  if (args.has("--carrier") && brightness_count == 0)
    throw UsageError("--carrier encodes brightness representations, and --ladder has none");
  std::vector<ResultRow> rows;
  struct Choice {
    MeanMeasured measured;
    size_t switches;
    std::string levels, oracle;
  };
  std::vector<Choice> choices;
  std::ostringstream exits_table;
  exits_table << "## Early exits per representation\n\n"
              << "| representation | method | mIoU | ms per frame | time (% of the adaptive element's) | "
                 "MACs (% of the network's) | frames per exit |\n"
              << "|---|---|---:|---:|---:|---:|---|\n";
  std::vector<std::string> rep_names;
  for (const Representation& rep : representations) {
    const std::string& name = rep.name;
    rep_names.push_back(name);
    const std::string extension = rep.codec == tools::StreamCodec::jpeg ? ".mjpeg" : ".h264";
    const std::string stream =
        rep.file.empty() ? (fs::path(work) / (file_safe_name(encoded_stem(rep)) + extension)).string() : rep.file;
    if (rep.file.empty() && !fs::exists(stream)) encode(data, *rep.setting, rep.brightness, fps, stream);
    std::fprintf(stderr, "%s: playing %zu frames\n", name.c_str(), data.size());

    tools::PlayOptions o;
    o.bundle = bundle;
    o.threads = threads;
    // The adaptive element, then with its exits at each scale. With exits they
    // are played in rounds, in turn and one later each round, so that a busy
    // spell of the machine falls on all; a play's share of the adaptive
    // element's time is taken within its round. Accuracy: the first round.
    std::vector<tools::PlayOptions> settings{o};
    for (double scale : exit_scales) {
      tools::PlayOptions e = o;
      e.early_exit = true;
      e.exit_scale = scale;
      settings.push_back(e);
    }
    const size_t rounds = exit_scales.empty() ? 1 : time_rounds;
    std::vector<std::optional<Played>> played(settings.size());
    const auto round_ms = time_in_rounds(settings.size(), rounds, [&](size_t i) {
      Played p = play(stream, rep.codec, data, settings[i], classes);
      const double ms = p.ms_per_frame;
      if (!played[i]) played[i] = std::move(p);
      return ms;
    });
    const Played& adaptive = *played[0];
    rows.push_back(row("adaptive", name, adaptive.confusion, resident));
    const double frames = double(data.size());
    if (!exit_scales.empty())
      exits_table << "| " << name << " | adaptive | " << fixed(adaptive.confusion.miou()) << " | "
                  << fixed(median(round_ms[0])) << " | 100.00 | 100.00 | |\n";
    for (size_t i = 1; i < settings.size(); ++i) {
      const Played& exits = *played[i];
      std::ostringstream method;
      method << "adaptive+exits x" << settings[i].exit_scale;
      rows.push_back(row(method.str(), name, exits.confusion, resident));
      const double share = paired_share(round_ms[i], round_ms[0]);
      std::string per_exit;
      for (const auto& [exit, n] : exits.frames_per_exit)
        per_exit += (per_exit.empty() ? "" : ", ") + exit + " " + std::to_string(n);
      exits_table << "| " << name << " | " << method.str() << " | " << fixed(exits.confusion.miou()) << " | "
                  << fixed(median(round_ms[i])) << " | " << (share > 0 ? fixed(100 * share) : "-") << " | "
                  << fixed(100 * exits.compute_sum / frames) << " | " << per_exit << " |\n";
    }
    if (!switching.empty()) {
      tools::PlayOptions w = o;
      w.bundle = switching;
      rows.push_back(row("switching", name, play(stream, rep.codec, data, w, classes).confusion, switching_resident));
    }
    o.level_source = "fixed";
    const ResultRow* best = nullptr;
    const size_t first_fixed = rows.size();
    for (const LevelSpec& level : m.levels) {
      o.level = level.name;
      rows.push_back(row("fixed:" + level.name, name, play(stream, rep.codec, data, o, classes).confusion, resident));
    }
    for (size_t i = first_fixed; i < rows.size(); ++i)
      if (!best || rows[i].miou > best->miou) best = &rows[i];
    const std::string best_level = best->method.substr(6);
    ResultRow oracle = *best, base = rows[first_fixed];
    for (size_t i = first_fixed; i < rows.size(); ++i)
      if (rows[i].method == "fixed:" + base_level) base = rows[i];
    oracle.method = "oracle";
    base.method = "base";
    rows.push_back(oracle);
    rows.push_back(base);
    std::string levels;
    for (const auto& [level, n] : adaptive.frames_per_level) levels += (levels.empty() ? "" : ", ") + level + " " + std::to_string(n);
    choices.push_back({MeanMeasured(adaptive), adaptive.switches, levels, best_level});
    std::fprintf(stderr, "%s: adaptive %.2f, base %.2f, oracle %s %.2f\n", name.c_str(), adaptive.confusion.miou(),
                 base.miou, best_level.c_str(), oracle.miou);
  }

  std::vector<MeanMeasured> measured;
  for (const Choice& c : choices) measured.push_back(c.measured);
  const std::string only = common_dimension(measured);
  std::ostringstream table;
  table << "## Levels chosen by the adaptive element\n\n"
        << "| representation | mean measured" << (only.empty() ? "" : " " + only)
        << " | switches | frames per level | oracle level |\n"
        << "|---|---:|---:|---|---|\n";
  for (size_t i = 0; i < choices.size(); ++i)
    table << "| " << rep_names[i] << " | " << choices[i].measured.text(only.empty()) << " | " << choices[i].switches
          << " | " << choices[i].levels << " | " << choices[i].oracle << " |\n";

  ReportInfo info;
  info.title = args.get("--title", "gearnn through the elements: " + bundle);
  for (const auto& c : m.classes) info.class_names.push_back(c.name);
  info.level_order = rep_names;
  info.method_order = {"adaptive", "base", "oracle", "switching"};
  std::ostringstream notes;
  notes << "\n" << table.str() << "\n";
  if (!exit_scales.empty())
    notes << exits_table.str() << "\nTimes per frame are the wall clock from each play's first frame out to its last "
          << "(parsing, decoding and gearnn; not the pipeline's start): the median over " << time_rounds
          << " rounds, in each of which the adaptive element and every scale are played in turn; the time share is "
          << "the median over rounds of the play's time over the adaptive element's in the same round. One machine: "
          << "compare them within this table. MACs count the trunk, the exit heads each frame ran and the "
          << "classifier, as a share of the network's.\n\n";
  notes << "Each representation is the split's " << data.size() << " frames in list order, ";
  if (args.has("--ladder")) {
    if (has_h264) notes << "H.264 encoded at " << fps << " frames/s by `" << h264_recipe() << "`";
    if (mixed_codecs) notes << ", ";
    if (has_jpeg) notes << "JPEG encoded one image per frame as `gearnn distort` encodes (libjpeg, IJG tables, 4:2:0)";
    if (brightness_count > 0)
      notes << "; " << (brightness_count < representations.size() ? "the brightness representations" : "each")
            << " changed in brightness first, as `gearnn distort` changes it (each RGB value times the factor, "
            << "clipped to 255), then encoded at `" << carrier.text() << "`";
  } else if (args.has("--mpd")) {
    notes << "read from the video representations of " << args.get("--mpd");
  } else {
    notes << "read from the files given (" << args.get("--streams") << ")";
  }
  notes << ", and played through ";
  if (has_h264) notes << "`" << tools::played_through(tools::StreamCodec::h264) << "`";
  if (mixed_codecs) notes << " (H.264) and ";
  if (has_jpeg) notes << "`" << tools::played_through(tools::StreamCodec::jpeg) << "`" << (mixed_codecs ? " (JPEG)" : "");
  notes << " (" << (threads > 0 ? std::to_string(threads) : std::string("default")) << " threads). "
        << "Masks are scored at the labels' resolution. `base` is the element fixed on level " << base_level
        << "; `oracle` is, per representation, the fixed level that scored best in hindsight.\n\nCommand: `"
        << command_line("gearnn-eval-stream", arguments) << "`, "
        << std::lround(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()) << " s.\n";
  if (args.has("--notes")) {
    std::ifstream in(args.get("--notes"));
    if (!in) throw Error(args.get("--notes") + ": cannot read");
    notes << "\n" << in.rdbuf();
  }
  info.notes_markdown = notes.str();
  write_report(out_dir, info, rows);
  std::cout << "wrote " << out_dir << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "gearnn-eval-stream: " << e.what() << "\n" << spec().usage << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gearnn-eval-stream: " << e.what() << "\n";
    return 1;
  }
}
