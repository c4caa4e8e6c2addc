#pragma once
// Line plots drawn by gnuplot (run as a program; set GEARNN_GNUPLOT to use
// another binary than the `gnuplot` on PATH, or to "none" to write the data
// and the script only, for a machine without gnuplot: `gnuplot NAME.gp` draws
// them later).
#include <string>
#include <vector>

namespace gearnn {

struct PlotSeries {
  std::string name;
  std::vector<double> values;  // one per category; NaN leaves the point out
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<std::string> categories;  // the x axis, in order
  std::vector<PlotSeries> series;
};

// Writes <dir>/<name>.dat and <name>.gp, runs gnuplot on them, and leaves
// <name>.png and <name>.svg. Throws gearnn::Error naming the file, or saying
// that gnuplot is not installed.
void draw_line_plot(const std::string& dir, const std::string& name, const LinePlot& plot);

}  // namespace gearnn
