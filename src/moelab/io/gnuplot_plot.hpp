// Plots through gnuplot, saved so that they can be redrawn.
//
// WritePlot(spec, stem) writes
//   <stem>.dat  the data, one gnuplot data block per series ("index i"),
//               columns x y [y_low y_high]; missing values as NaN;
//   <stem>.gp   a self-contained gnuplot script that reads <stem>.dat by its
//               base name and writes <stem>.png (pngcairo), <stem>.pdf
//               (pdfcairo, vector, for papers) and <stem>.svg (run
//               `gnuplot <stem>.gp` in the folder to redraw, or edit it; no
//               enhanced text, so names like loss_d1 print as written);
//   <stem>.{png,pdf,svg}  drawn by running `gnuplot <stem>.gp` in the folder
//               as a child process.
// Any module can use it (rate studies, load-balancing traces). Drawing is a
// side product and never ends the process: gnuplot runs with its input from
// the script file (no pipe, so no SIGPIPE when gnuplot is missing or dies),
// and when it is missing or fails, the .dat and .gp files are still written
// and the result says why the pictures are absent (exit status and gnuplot's
// first error line). Nothing throws except for an inconsistent spec
// (std::invalid_argument) or an unwritable folder (std::runtime_error).
#pragma once

#include <string>
#include <vector>

namespace moelab {

enum class PlotStyle {
  kPoints,       // x y
  kLines,        // x y, solid
  kDashedLines,  // x y, dashed (e.g. a theoretical rate)
  kLinesPoints,  // x y
  kYErrorBars,   // x y y_low y_high (points with vertical error bars)
};

struct PlotSeries {
  std::string title;  // legend entry ("" = no entry)
  PlotStyle style = PlotStyle::kPoints;
  int color = 0;      // 1..8 picks a fixed palette colour; 0 = gnuplot's cycle
  std::vector<double> x, y;
  std::vector<double> y_low, y_high;  // kYErrorBars only (same length as y)
  // gnuplot point type (pt) for point styles; 0 = the style's default. Give
  // series of the same colour family different types so overlapping series
  // stay distinguishable (also in grey print).
  int point_type = 0;
  // gnuplot dash type (dt) for line styles; 0 = the style's default.
  int dash_type = 0;
  // Drawn at x * x_scale (the .dat keeps the true x): a small horizontal
  // dodge, e.g. 1.03 on a log axis, keeps error bars of series measured at
  // the same x from hiding each other.
  double x_scale = 1.0;
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  bool log_y = false;
  // gnuplot "set key" position words. The default puts the legend under the
  // plot, one entry per line, so it takes no width from the data; with a key
  // "below", the bottom margin grows by one line per legend entry.
  std::string key = "below center Left reverse";
  int width = 1100;  // PNG/SVG pixels; the PDF is width/160 x height/160 inches
  int height = 750;
  // Fraction of the data range (in log units on a log axis) added on each
  // side, so points at the ends of the grid do not sit on the frame.
  double range_padding = 0.05;
  std::vector<PlotSeries> series;
  std::vector<std::string> notes;  // extra lines printed under the title
};

struct PlotOutput {
  bool drawn = false;   // every picture (png, pdf, svg) exists and is non-empty
  std::string png, pdf, svg, script, data;
  std::string message;  // why a picture is missing
};

// Throws std::invalid_argument for a series whose vector lengths disagree, an
// empty stem or a non-positive x_scale.
PlotOutput WritePlot(const PlotSpec& spec, const std::string& stem);

// A value map over (x, row), e.g. expert load / L over steps: <stem>.dat
// holds "x row value" lines, drawn as an image with a blue-white-red palette
// on [cb_min, cb_max] (white at the middle). Same files and failure rules
// as WritePlot.
struct HeatMapSpec {
  std::string title, x_label, y_label, cb_label;
  std::vector<double> x;       // one column per x
  int rows = 0;                // values per column
  std::vector<double> values;  // x.size() * rows, column by column
  double cb_min = 0.0, cb_max = 2.0;
  int width = 1100;
  int height = 650;
};
PlotOutput WriteHeatMap(const HeatMapSpec& spec, const std::string& stem);
// The script WritePlot writes for `spec` (base = the stem's file name).
std::string PlotScript(const PlotSpec& spec, const std::string& base);

}  // namespace moelab
