// Plots through gnuplot-iostream, saved so that they can be redrawn.
//
// WritePlot(spec, stem) writes three files:
//   <stem>.dat  the data, one gnuplot data block per series ("index i"),
//               columns x y [y_low y_high]; missing values as NaN;
//   <stem>.gp   a self-contained gnuplot script that reads <stem>.dat by its
//               base name and writes <stem>.png (run `gnuplot <stem>.gp` in
//               the folder to redraw, or edit it);
//   <stem>.png  drawn by piping the script to gnuplot through
//               gnuplot-iostream (pngcairo terminal, no enhanced text so that
//               names like loss_d1 print as written).
// Any module can use it (rate studies, load-balancing traces). Drawing is a
// side product: when gnuplot is missing or fails, the .dat and .gp files are
// still written and the result says why the PNG is absent; nothing throws
// except for an inconsistent spec (std::invalid_argument) or an unwritable
// folder (std::runtime_error).
#pragma once

#include <string>
#include <vector>

namespace moelab {

enum class PlotStyle {
  kPoints,       // x y
  kLines,        // x y, solid
  kDashedLines,  // x y, dashed (e.g. a theoretical rate)
  kLinesPoints,  // x y
  kYErrorBars,   // x y y_low y_high (points with vertical bars)
};

struct PlotSeries {
  std::string title;  // legend entry ("" = no entry)
  PlotStyle style = PlotStyle::kPoints;
  int color = 0;      // 1..8 picks a fixed palette colour; 0 = gnuplot's cycle
  std::vector<double> x, y;
  std::vector<double> y_low, y_high;  // kYErrorBars only (same length as y)
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  bool log_y = false;
  std::string key = "top right";  // gnuplot "set key" position words
  int width = 1100;               // pixels
  int height = 750;
  std::vector<PlotSeries> series;
  std::vector<std::string> notes;  // extra lines printed under the title
};

struct PlotOutput {
  bool drawn = false;   // the PNG exists
  std::string png, script, data;
  std::string message;  // why the PNG is missing
};

// Throws std::invalid_argument for a series whose vector lengths disagree or
// an empty stem.
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

}  // namespace moelab
