#include "eval/report.h"

#include "error.h"
#include "eval/plot.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace gearnn {
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The named entries that some row has, in their order, then the rows' others:
// a method named but never scored gets no row of dashes.
std::vector<std::string> ordered(const std::vector<std::string>& named, const std::vector<ResultRow>& rows,
                                 std::string ResultRow::*field) {
  std::vector<std::string> out;
  for (const auto& n : named)
    if (std::any_of(rows.begin(), rows.end(), [&](const ResultRow& r) { return r.*field == n; })) out.push_back(n);
  for (const auto& r : rows)
    if (std::find(out.begin(), out.end(), r.*field) == out.end()) out.push_back(r.*field);
  return out;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > (n < 0 ? 1 : 0); i -= 3) s.insert(size_t(i), ",");
  return s;
}

std::string mebibytes(int64_t bytes) { return fixed(double(bytes) / (1024.0 * 1024.0), 2) + " MiB"; }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

double mean_of_finite(const std::vector<double>& values) {
  double sum = 0;
  int n = 0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  return n ? sum / n : kNaN;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  if (!out || !(out << text) || !out.flush()) throw Error(path.string() + ": cannot write");
}

struct Table {
  std::vector<std::string> methods, levels;
  std::map<std::pair<std::string, std::string>, const ResultRow*> cells;

  const ResultRow* find(const std::string& method, const std::string& level) const {
    auto it = cells.find({method, level});
    return it == cells.end() ? nullptr : it->second;
  }
  double miou(const std::string& method, const std::string& level) const {
    const ResultRow* r = find(method, level);
    return r ? r->miou : kNaN;
  }
  std::vector<double> mious(const std::string& method) const {
    std::vector<double> out;
    for (const auto& l : levels) out.push_back(miou(method, l));
    return out;
  }
};

Table make_table(const ReportInfo& info, const std::vector<ResultRow>& rows, const fs::path& dir) {
  Table t;
  t.methods = ordered(info.method_order, rows, &ResultRow::method);
  t.levels = ordered(info.level_order, rows, &ResultRow::level);
  const size_t k = info.class_names.size();
  for (const auto& r : rows) {
    const std::string where = dir.string() + ": row " + r.method + "/" + r.level;
    if (!t.cells.emplace(std::make_pair(r.method, r.level), &r).second) throw Error(where + " appears twice");
    if (!r.class_iou.empty() && r.class_iou.size() != k)
      throw Error(where + " has " + std::to_string(r.class_iou.size()) + " class IoUs for " + std::to_string(k) + " classes");
    if (!r.confusion.empty() && r.confusion.size() != k * k)
      throw Error(where + " has a confusion matrix of " + std::to_string(r.confusion.size()) + " values, not " +
                  std::to_string(k) + "x" + std::to_string(k));
  }
  return t;
}

std::string csv(const ReportInfo& info, const Table& t) {
  std::ostringstream out;
  out << "method,level,miou,resident_params,resident_bytes";
  for (const auto& c : info.class_names) out << "," << csv_field("iou_" + c);
  out << "\n";
  for (const auto& m : t.methods)
    for (const auto& l : t.levels) {
      const ResultRow* r = t.find(m, l);
      if (!r) continue;
      out << csv_field(m) << "," << csv_field(l) << "," << fixed(r->miou, 4) << "," << r->resident_params << ","
          << r->resident_bytes;
      for (size_t c = 0; c < info.class_names.size(); ++c)
        out << "," << (r->class_iou.empty() ? "" : fixed(100.0 * r->class_iou[c], 4));
      out << "\n";
    }
  return out.str();
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string json(const ReportInfo& info, const Table& t) {
  const size_t k = info.class_names.size();
  nlohmann::json rows = nlohmann::json::array();
  nlohmann::json average = nlohmann::json::object();
  for (const auto& m : t.methods) {
    average[m] = number(mean_of_finite(t.mious(m)));
    for (const auto& l : t.levels) {
      const ResultRow* r = t.find(m, l);
      if (!r) continue;
      nlohmann::json row = {{"method", m},
                            {"level", l},
                            {"miou", number(r->miou)},
                            {"resident_params", r->resident_params},
                            {"resident_bytes", r->resident_bytes}};
      nlohmann::json iou = nlohmann::json::array();
      for (double v : r->class_iou) iou.push_back(number(v));
      row["class_iou"] = iou;
      nlohmann::json confusion = nlohmann::json::array();
      for (size_t i = 0; !r->confusion.empty() && i < k; ++i)
        confusion.push_back(std::vector<int64_t>(r->confusion.begin() + std::ptrdiff_t(i * k),
                                                 r->confusion.begin() + std::ptrdiff_t((i + 1) * k)));
      row["confusion"] = confusion;
      rows.push_back(row);
    }
  }
  const nlohmann::json j = {{"title", info.title},
                            {"units", {{"miou", "percent"}, {"class_iou", "fraction"}, {"confusion", "rows = label, columns = prediction"}}},
                            {"classes", info.class_names},
                            {"levels", t.levels},
                            {"methods", t.methods},
                            {"average_miou", average},
                            {"rows", rows}};
  return j.dump(2) + "\n";
}

std::string markdown(const ReportInfo& info, const Table& t) {
  std::ostringstream out;
  out << "# " << info.title << "\n\n## mIoU (%) per distortion level\n\n| method |";
  for (const auto& l : t.levels) out << " " << md_cell(l) << " |";
  out << " average | resident params | resident memory |\n|---|";
  for (size_t i = 0; i < t.levels.size() + 3; ++i) out << "---:|";
  out << "\n";
  bool partial = false;
  for (const auto& m : t.methods) {
    out << "| " << md_cell(m) << " |";
    int64_t params = 0, bytes = 0;
    int scored = 0;
    for (const auto& l : t.levels) {
      const ResultRow* r = t.find(m, l);
      out << " " << (r && std::isfinite(r->miou) ? fixed(r->miou, 2) : "-") << " |";
      if (r) {
        params = std::max(params, r->resident_params);
        bytes = std::max(bytes, r->resident_bytes);
        scored += std::isfinite(r->miou);
      }
    }
    const bool all = scored == int(t.levels.size());
    partial |= !all;
    out << " " << fixed(mean_of_finite(t.mious(m)), 2) << (all ? "" : "*") << " | " << with_commas(params) << " | "
        << mebibytes(bytes) << " |\n";
  }
  if (partial) out << "\n\\* averaged over the levels the method was scored on.\n";

  bool any_classes = false;
  for (const auto& [key, r] : t.cells) any_classes |= !r->class_iou.empty();
  if (any_classes && !info.class_names.empty()) {
    out << "\n## Per-class IoU (%), averaged over levels\n\n| method |";
    for (const auto& c : info.class_names) out << " " << md_cell(c) << " |";
    out << "\n|---|";
    for (size_t i = 0; i < info.class_names.size(); ++i) out << "---:|";
    out << "\n";
    for (const auto& m : t.methods) {
      out << "| " << md_cell(m) << " |";
      for (size_t c = 0; c < info.class_names.size(); ++c) {
        std::vector<double> values;
        for (const auto& l : t.levels)
          if (const ResultRow* r = t.find(m, l); r && !r->class_iou.empty()) values.push_back(100.0 * r->class_iou[c]);
        const std::string v = fixed(mean_of_finite(values), 1);
        out << " " << (v.empty() ? "-" : v) << " |";
      }
      out << "\n";
    }
  }
  out << "\n![mIoU against distortion level](plot.svg)\n";
  if (!info.notes_markdown.empty()) out << "\n" << info.notes_markdown << (info.notes_markdown.back() == '\n' ? "" : "\n");
  return out.str();
}

}  // namespace

void write_report(const std::string& dir, const ReportInfo& info, const std::vector<ResultRow>& rows) {
  const fs::path d(dir);
  std::error_code ec;
  fs::create_directories(d, ec);
  if (!fs::is_directory(d)) throw Error(dir + ": cannot create report folder" + (ec ? ": " + ec.message() : ""));
  if (rows.empty()) throw Error(dir + ": no results to report");
  const Table t = make_table(info, rows, d);

  write_text(d / "results.csv", csv(info, t));
  write_text(d / "results.json", json(info, t));
  write_text(d / "report.md", markdown(info, t));

  LinePlot plot;
  plot.title = info.title;
  plot.x_label = "distortion level";
  plot.y_label = "mIoU (%)";
  plot.categories = t.levels;
  for (const auto& m : t.methods) plot.series.push_back({m, t.mious(m)});
  draw_line_plot(dir, "plot", plot);
}

}  // namespace gearnn
