#pragma once
// The accuracy report of an evaluation run: CSV, JSON, Markdown and a plot.
#include <cstdint>
#include <string>
#include <vector>

namespace gearnn {

struct ResultRow {
  std::string method;
  std::string level;
  double miou;                     // percent, as ConfusionMatrix::miou()
  std::vector<double> class_iou;   // fractions, as ConfusionMatrix::per_class_iou() (NaN: class absent); may be empty
  int64_t resident_params = 0;     // values the method keeps resident to serve every level
  int64_t resident_bytes = 0;
  std::vector<int64_t> confusion;  // ConfusionMatrix::counts() (classes x classes, row = label); may be empty
};

struct ReportInfo {
  std::string title;
  std::vector<std::string> class_names;
  // Order of the x axis and table columns, and of the table rows and plot lines: a name no row has is
  // left out; the rows' names not given here follow in row order.
  std::vector<std::string> level_order;
  std::vector<std::string> method_order;
  std::string notes_markdown;             // appended to report.md as it is
};

// Creates `dir` and writes:
//   results.csv   method,level,miou,resident_params,resident_bytes,iou_<class>... (IoU in percent, empty for NaN)
//   results.json  everything, confusion matrices included (NaN as null)
//   report.md     mIoU with one row per method and one column per level, the
//                 average over levels, resident parameters and bytes; per-class
//                 IoU averaged over levels; then the notes
//   plot.png, plot.svg  mIoU against level, one line per method, drawn by
//                 gnuplot from plot.gp and plot.dat (kept next to them)
// Throws gearnn::Error naming the file; when gnuplot is missing the error says
// so, after the other files have been written.
void write_report(const std::string& dir, const ReportInfo& info, const std::vector<ResultRow>& rows);

}  // namespace gearnn
