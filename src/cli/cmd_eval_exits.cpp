// gearnn eval-exits: accuracy against compute for early exits (FlexDNN), the
// same heads without search or plan (BranchyNet-style), and the network alone
// on smaller inputs (FlexDNN's input-agnostic baseline), frame by frame on the
// path the element runs (AdaptiveModel::segment_into), timed there.
#include "adaptive_model.h"
#include "args.h"
#include "bench_timing.h"
#include "bundle.h"
#include "commands.h"
#include "distort/image_ops.h"
#include "error.h"
#include "eval/confusion.h"
#include "eval/report.h"
#include "experiment/level_images.h"
#include "offline_options.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

namespace gearnn::cli {
namespace {
namespace fs = std::filesystem;

CommandSpec spec() {
  CommandSpec s{
      "gearnn eval-exits --bundle BUNDLE --data ROOT -o REPORT_DIR [--branchy BUNDLE] [options]",
      "Scores early exits against the compute they save, per level: the network\n"
      "alone; the bundle's exits (FlexDNN) at each threshold scale; with --branchy,\n"
      "a bundle of fixed heads at every stage (gearnn exits --fixed) at the same\n"
      "scales; and the network on inputs shrunk by each input scale (the smaller\n"
      "input-agnostic baseline; also at the scale whose MACs match each FlexDNN\n"
      "row's mean), its class map scored at the labels' size. Each\n"
      "frame runs the element's path (normalise, trunk, exit or classifier, fused\n"
      "up-sampling and argmax); MACs are counted from the shapes. Times come\n"
      "from rounds apart from the scoring, each running every method in turn\n"
      "over the frames, so that a busy spell of the machine falls on all.\n"
      "Writes the formats of gearnn eval plus exits.md, exits.csv and a plot of\n"
      "mIoU against time per frame.",
      {{"--bundle", "BUNDLE", "the bundle with exits (gearnn exits)"},
       {"--branchy", "BUNDLE", "the same bundle with BranchyNet-style exits (gearnn exits --fixed)"},
       {"--levels", "SPEC", "levels of the bundle to score on their distorted frames (default: clean frames, default level)"},
       {"--scales", "S,..", "exit threshold scales (default 0.95,1,1.02)"},
       {"--input-scales", "F,..", "input scales of the smaller network (default 0.5,0.625,0.75,0.875), to which "
                                  "the scales matching each FlexDNN row's mean MACs are added"},
       {"--time-rounds", "N", "timing rounds (default 3): each runs every method over the frames; a row's time is "
                              "the median over rounds"},
       {"--split", "S", "split to score (default val)"},
       {"--title", "T", "report title"},
       {"--output", "DIR", "report folder", "-o"}},
      0,
      0};
  for (const auto& o : data_options()) s.options.push_back(o);
  return s;
}

// One row of the report: which model runs and how.
struct Method {
  std::string family, setting;
  bool no_adaptor = false;  // the level's frames run on the base level's weights
  bool branchy = false;     // the BranchyNet-style bundle's model
  double exit_scale = 0;    // > 0: exits on, at this threshold scale
  double input_scale = 1;   // < 1: the network on a shrunk input
};

struct Measured {
  Method method;
  ConfusionMatrix confusion;
  double macs = 0;  // mean per frame, as a fraction of the network's
  std::vector<std::string> exit_names;
  std::vector<double> exit_rate;
  std::vector<double> round_ms;  // mean time per frame in each timing round
  double time_fraction = 1;      // median over rounds of this row's time over the network's in the same round
  double ms() const { return median(round_ms); }
};

// The models of one level: the bundle's, and the BranchyNet-style bundle's where given.
struct Models {
  AdaptiveModel& main;
  AdaptiveModel* branchy;
  size_t level;

  AdaptiveModel& configure(const Method& m) {
    AdaptiveModel& model = m.branchy ? *branchy : main;
    model.select(m.no_adaptor ? model.bundle().default_level() : level);
    model.set_early_exit(m.exit_scale > 0, m.exit_scale > 0 ? m.exit_scale : 1.0);
    return model;
  }
};

// The element's path for one frame (the shrinking, where asked, counts as part of it).
// Returns the image segmented into `classes`.
const RgbImage& segment(AdaptiveModel& model, const Method& m, const RgbImage& frame, RgbImage& small,
                        std::vector<uint8_t>& classes) {
  const RgbImage* input = &frame;
  if (m.input_scale < 1) {
    small = resize_rgb(frame, std::max(8, int(std::lround(frame.width * m.input_scale))),
                       std::max(8, int(std::lround(frame.height * m.input_scale))));
    input = &small;
  }
  classes.resize(size_t(input->width) * size_t(input->height));
  model.segment_into(input->view(), classes.data());
  return *input;
}

// Accuracy, MACs and exit rates of one method over the frames (untimed).
Measured score(Models& models, const Method& method, const std::vector<RgbImage>& frames,
               const std::vector<ClassMap>& labels) {
  AdaptiveModel& model = models.configure(method);
  const Architecture& arch = model.bundle().architecture();
  Measured m{method, ConfusionMatrix(arch.classes()), 0, {}, {}, {}, 1};
  for (const auto& e : model.bundle().exits()) m.exit_names.push_back(e.spec.after);
  m.exit_rate.assign(m.exit_names.size(), 0.0);
  std::vector<uint8_t> classes;
  RgbImage small;
  for (size_t i = 0; i < frames.size(); ++i) {
    const RgbImage& input = segment(model, method, frames[i], small, classes);
    const int64_t ph = (input.height + 7) / 8 * 8, pw = (input.width + 7) / 8 * 8;
    const int64_t fh = (frames[i].height + 7) / 8 * 8, fw = (frames[i].width + 7) / 8 * 8;
    const double full = double(exit_costs(arch, {}, fh, fw).full);
    m.macs += method.input_scale < 1 ? double(exit_costs(arch, {}, ph, pw).full) / full : model.last_compute_fraction();
    if (model.last_exit().exit >= 0) m.exit_rate[size_t(model.last_exit().exit)] += 1;
    m.confusion.add(ClassMap{input.width, input.height, classes}, labels[i]);
  }
  const double n = double(frames.size());
  m.macs /= n;
  for (double& r : m.exit_rate) r /= n;
  return m;
}

// Times every row in `rounds` rounds (time_in_rounds), each run over all
// the frames after one warm-up frame; a row's share is paired with the
// network row of the same adaptor use within each round.
void time_rounds(Models& models, std::vector<Measured>& rows, const std::vector<RgbImage>& frames, size_t rounds) {
  std::vector<uint8_t> classes;
  RgbImage small;
  const auto times = time_in_rounds(rows.size(), rounds, [&](size_t i) {
    const Method& method = rows[i].method;
    AdaptiveModel& model = models.configure(method);
    segment(model, method, frames[0], small, classes);
    const auto t0 = Clock::now();
    for (const RgbImage& frame : frames) segment(model, method, frame, small, classes);
    return millis(Clock::now() - t0) / double(frames.size());
  });
  for (size_t i = 0; i < rows.size(); ++i) rows[i].round_ms = times[i];
  for (Measured& m : rows) {
    const auto network = std::find_if(rows.begin(), rows.end(), [&](const Measured& n) {
      return n.method.family == "network" && n.method.no_adaptor == m.method.no_adaptor;
    });
    m.time_fraction = paired_share(m.round_ms, network->round_ms);
  }
}

void write_plot(const std::string& dir, const std::vector<std::pair<std::string, std::vector<Measured>>>& per_level) {
  std::ofstream dat(dir + "/exits-plot.dat", std::ios::trunc);
  std::vector<std::string> series;
  // One line per level, family and adaptor use: a line joins the points of one method only.
  for (const auto& [level, rows] : per_level)
    for (const bool no_adaptor : {false, true})
      for (const std::string family : {"network", "flexdnn", "branchynet", "smaller"}) {
        const std::string name = level + ": " + family + (no_adaptor ? " (no adaptor)" : "");
        bool any = false;
        for (const Measured& m : rows)
          if (m.method.family == family && m.method.no_adaptor == no_adaptor) {
            if (!any) dat << "# " << name << "\n";
            any = true;
            dat << m.ms() << " " << m.confusion.miou() << "\n";
          }
        if (any) {
          dat << "\n\n";
          series.push_back(name);
        }
      }
  std::ofstream gp(dir + "/exits-plot.gp", std::ios::trunc);
  gp << "set terminal svg size 800,480 noenhanced font 'sans,11' background rgb 'white'\n"
     << "set output 'exits-plot.svg'\nset title 'mIoU against time per frame'\n"
     << "set xlabel 'time per frame (ms, median over rounds)'\nset ylabel 'mIoU (%)'\nset grid\n"
     << "set key outside right center\n"
     << "plot ";
  for (size_t i = 0; i < series.size(); ++i)
    gp << (i ? ", " : "") << "'exits-plot.dat' index " << i << " using 1:2 with linespoints lw 2 title '" << series[i]
       << "'";
  gp << "\n";
  gp.close();
  dat.close();  // gnuplot reads it next
  if (std::system(("cd '" + dir + "' && gnuplot exits-plot.gp 2>/dev/null").c_str()) != 0)
    std::cerr << "gearnn eval-exits: gnuplot failed or is missing; exits-plot.dat and .gp are written\n";
}

}  // namespace

int run_eval_exits(const std::vector<std::string>& argv) {
  const CommandSpec s = spec();
  const Args args(s, argv);
  if (args.help()) {
    std::cout << help_text(s);
    return 0;
  }
  const auto began = std::chrono::steady_clock::now();
  const std::string out = args.require("--output");
  const int threads = apply_threads(args);
  const std::string device = args.get("--device", "cpu");
  const auto bundle = Bundle::load(args.require("--bundle"), device, DescriptorCheck::current, Folding::inference);
  if (bundle->exits().empty()) throw Error(bundle->folder() + ": has no exits (make them with gearnn exits)");
  std::shared_ptr<const Bundle> branchy;
  if (args.has("--branchy")) {
    branchy = Bundle::load(args.get("--branchy"), device, DescriptorCheck::current, Folding::inference);
    if (branchy->exits().empty()) throw Error(branchy->folder() + ": has no exits");
  }
  constexpr double kMin = 1e-6, kMax = std::numeric_limits<double>::infinity();
  const std::vector<double> scales = parse_number_list("--scales", args.get("--scales", "0.95,1,1.02"), kMin, kMax);
  const std::vector<double> input_scales =
      parse_number_list("--input-scales", args.get("--input-scales", "0.5,0.625,0.75,0.875"), kMin, kMax);
  const int rounds = args.get_int("--time-rounds", 3);
  if (rounds < 1) throw UsageError("--time-rounds: " + std::to_string(rounds) + " is not a count of at least 1");
  const size_t time_rounds_option = size_t(rounds);
  const Dataset data = open_dataset(args, "--split", "val");
  std::vector<DistortionSetting> levels;
  if (args.has("--levels")) levels = level_spec_option(args, "--levels");

  std::vector<ClassMap> labels;
  for (size_t i = 0; i < data.size(); ++i) labels.push_back(data.load_label(i));
  std::vector<std::pair<std::string, std::vector<Measured>>> per_level;
  const size_t runs = std::max<size_t>(1, levels.size());
  for (size_t k = 0; k < runs; ++k) {
    std::vector<RgbImage> frames;
    size_t level = bundle->default_level();
    std::string level_name = "clean";
    if (!levels.empty()) {
      level_name = levels[k].text();
      const auto found = bundle->find_level(level_name);
      if (!found) throw Error(bundle->folder() + ": has no level '" + level_name + "'");
      level = *found;
      const LevelImages images(data, levels[k], args.get("--cache", ".gearnn-cache"), threads);
      for (size_t i = 0; i < data.size(); ++i) frames.push_back(images.image(i));
    } else {
      for (size_t i = 0; i < data.size(); ++i) frames.push_back(data.load_image(i));
    }
    std::vector<Measured> rows;
    AdaptiveModel model(bundle);
    std::optional<AdaptiveModel> branchy_model;
    if (branchy) branchy_model.emplace(branchy);
    Models models{model, branchy_model ? &*branchy_model : nullptr, level};
    auto add = [&](Method method) {
      rows.push_back(score(models, method, frames, labels));
      const Measured& m = rows.back();
      std::cerr << level_name << " " << method.setting << ": mIoU " << m.confusion.miou() << ", MACs " << m.macs << "\n";
    };
    for (const bool with_adaptor : {true, false}) {
      if (!with_adaptor && level == bundle->default_level()) continue;  // no adaptor to leave out
      const std::string suffix = with_adaptor ? "" : " (no adaptor)";
      add({"network", "network" + suffix, !with_adaptor});
      // The smaller network also at each FlexDNN point's mean MACs (they go
      // with the square of the input scale): like for like in compute.
      std::vector<double> smaller_scales = input_scales;
      for (double scale : scales) {
        std::ostringstream name;
        name << "x" << scale << suffix;
        add({"flexdnn", "flexdnn " + name.str(), !with_adaptor, false, scale});
        const double matched = std::round(1000 * std::sqrt(rows.back().macs)) / 1000;
        if (matched < 1 && std::none_of(smaller_scales.begin(), smaller_scales.end(),
                                        [&](double f) { return std::abs(f - matched) < 1e-3; }))
          smaller_scales.push_back(matched);
        if (branchy) add({"branchynet", "branchynet " + name.str(), !with_adaptor, true, scale});
      }
      std::sort(smaller_scales.begin(), smaller_scales.end());
      for (double f : smaller_scales) {
        std::ostringstream name;
        name << "smaller x" << f << suffix;
        add({"smaller", name.str(), !with_adaptor, false, 0, f});
      }
    }
    std::cerr << level_name << ": timing " << rows.size() << " methods, " << time_rounds_option << " rounds\n";
    time_rounds(models, rows, frames, time_rounds_option);
    for (const Measured& m : rows)
      std::cerr << level_name << " " << m.method.setting << ": " << m.ms() << " ms, " << 100 * m.time_fraction
                << "% of the network's time\n";
    per_level.emplace_back(level_name, std::move(rows));
  }

  ReportInfo info;
  info.title = args.get("--title", "Early exits on " + data.root() + " (" + data.split() + ")");
  for (const auto& c : bundle->manifest().classes) info.class_names.push_back(c.name);
  std::vector<ResultRow> rows;
  std::ostringstream md, csv;
  md << std::fixed << std::setprecision(2);
  csv << "level,method,miou,ms_per_frame,macs_fraction,exit_rates,time_fraction,ms_min,ms_max\n";
  md << "## Accuracy against compute\n\n| level | method | mIoU | ms per frame | time (% of the network row's) | "
        "MACs (% of the network's) | frames per exit |\n"
     << "|---|---|---:|---:|---:|---:|---|\n";
  for (const auto& [level, measured] : per_level) {
    info.level_order.push_back(level);
    for (const Measured& m : measured) {
      ResultRow row;
      row.method = m.method.setting;
      row.level = level;
      row.miou = m.confusion.miou();
      row.class_iou = m.confusion.per_class_iou();
      row.confusion = m.confusion.counts();
      rows.push_back(row);
      std::string rates, csv_rates;
      if (m.method.family == "flexdnn" || m.method.family == "branchynet")
        for (size_t e = 0; e < m.exit_rate.size(); ++e) {
          std::ostringstream r, c;
          r << std::fixed << std::setprecision(0) << m.exit_names[e] << " " << 100 * m.exit_rate[e] << "%";
          c << m.exit_names[e] << ":" << m.exit_rate[e];
          rates += (rates.empty() ? "" : ", ") + r.str();
          csv_rates += (csv_rates.empty() ? "" : ";") + c.str();
        }
      const auto [low, high] = std::minmax_element(m.round_ms.begin(), m.round_ms.end());
      md << "| " << level << " | " << m.method.setting << " | " << row.miou << " | " << m.ms() << " | "
         << 100 * m.time_fraction << " | " << 100 * m.macs << " | " << rates << " |\n";
      csv << level << "," << m.method.setting << "," << row.miou << "," << m.ms() << "," << m.macs << "," << csv_rates
          << "," << m.time_fraction << "," << *low << "," << *high << "\n";
    }
  }
  md << "\nFrames: " << data.size() << " of `" << data.root() << "` (" << data.split() << "), "
     << at::get_num_threads() << " threads, one frame at a time on the element's path. Exits of `"
     << bundle->folder() << "`:";
  for (const auto& e : bundle->exits())
    md << " " << e.spec.after << " (" << exit_head_text(e.spec) << ", threshold " << e.spec.threshold << ")";
  md << ". Times: the median over " << time_rounds_option
     << " rounds, each of which runs every method of a level over the frames in turn (exits.csv gives the fastest "
        "and slowest round); the time share is the median over rounds of the row's time over that of the "
        "network row with the same adaptor use in the same round. They come from one run on one machine: compare them within this table only.\n\nCommand: `"
     << command_line("gearnn eval-exits", argv) << "`, "
     << std::lround(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()) << " s.\n";
  info.notes_markdown = md.str();
  write_report(out, info, rows);
  std::ofstream(out + "/exits.md", std::ios::trunc) << "# " << info.title << "\n\n" << md.str();
  std::ofstream(out + "/exits.csv", std::ios::trunc) << csv.str();
  write_plot(out, per_level);
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace gearnn::cli
