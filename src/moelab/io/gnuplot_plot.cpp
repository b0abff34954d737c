#include "moelab/io/gnuplot_plot.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gnuplot-iostream.h>
#include <sstream>
#include <stdexcept>

namespace moelab {
namespace {

namespace fs = std::filesystem;

// Colour-blind-friendly palette (Okabe & Ito 2008).
const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                "#E69F00", "#56B4E9", "#000000", "#F0E442"};

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Number(double v) {
  if (!std::isfinite(v)) return "NaN";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", v);
  return buffer;
}

// The folder of `stem` (created) and the three file names of a plot.
fs::path PlotFolder(const std::string& stem) {
  const fs::path stem_path(stem);
  const fs::path dir = stem_path.has_parent_path() ? stem_path.parent_path() : fs::path(".");
  fs::create_directories(dir);
  return dir;
}
PlotOutput PlotFiles(const std::string& stem) {
  PlotOutput out;
  out.data = stem + ".dat";
  out.script = stem + ".gp";
  out.png = stem + ".png";
  return out;
}

// Pipes `base`.gp to gnuplot in `dir`; fills out->drawn / message.
void Draw(const fs::path& dir, const std::string& base, PlotOutput* out) {
  std::error_code ec;
  fs::remove(out->png, ec);
  try {
    // Run gnuplot in the plot's folder so the script's relative names resolve.
    Gnuplot gnuplot("cd " + Quote(fs::absolute(dir).string()) + " && gnuplot 2>/dev/null");
    gnuplot << "load " << Quote(base + ".gp") << "\n";
  } catch (const std::exception& e) {
    out->message = std::string("gnuplot could not be started: ") + e.what();
    return;
  }
  out->drawn = fs::exists(out->png) && fs::file_size(out->png) > 0;
  if (!out->drawn && out->message.empty())
    out->message = "gnuplot did not produce " + out->png + " (is gnuplot with pngcairo installed?)";
}

}  // namespace

PlotOutput WritePlot(const PlotSpec& spec, const std::string& stem) {
  if (stem.empty()) throw std::invalid_argument("WritePlot: empty output stem");
  for (const auto& s : spec.series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument("WritePlot: series '" + s.title + "' has x and y of different lengths");
    if (s.style == PlotStyle::kYErrorBars &&
        (s.y_low.size() != s.y.size() || s.y_high.size() != s.y.size()))
      throw std::invalid_argument("WritePlot: series '" + s.title + "' needs y_low and y_high");
  }
  const fs::path dir = PlotFolder(stem);
  const std::string base = fs::path(stem).filename().string();
  PlotOutput out = PlotFiles(stem);

  {
    std::ofstream dat(out.data);
    if (!dat) throw std::runtime_error("WritePlot: cannot write '" + out.data + "'");
    for (std::size_t i = 0; i < spec.series.size(); ++i) {
      const auto& s = spec.series[i];
      dat << "# series " << i << ": " << s.title << "\n";
      for (std::size_t j = 0; j < s.x.size(); ++j) {
        dat << Number(s.x[j]) << " " << Number(s.y[j]);
        if (s.style == PlotStyle::kYErrorBars)
          dat << " " << Number(s.y_low[j]) << " " << Number(s.y_high[j]);
        dat << "\n";
      }
      if (s.x.empty()) dat << "NaN NaN" << (s.style == PlotStyle::kYErrorBars ? " NaN NaN" : "") << "\n";
      dat << "\n\n";
    }
  }

  std::ostringstream gp;
  gp << "# Redraw with: gnuplot " << base << ".gp  (in this folder)\n"
     << "set terminal pngcairo noenhanced size " << spec.width << "," << spec.height
     << " font \"Sans,11\"\n"
     << "set output " << Quote(base + ".png") << "\n";
  // Lines joined by gnuplot's "\n" escape inside one double-quoted string.
  std::string title = Quote(spec.title);
  for (const auto& note : spec.notes) title = title.substr(0, title.size() - 1) + "\\n" + Quote(note).substr(1);
  gp << "set title " << title << "\n"
     << "set xlabel " << Quote(spec.x_label) << "\n"
     << "set ylabel " << Quote(spec.y_label) << "\n"
     << "set key " << spec.key << " box opaque\n"
     << "set grid\n";
  if (spec.log_x) gp << "set logscale x\nset format x \"%.0e\"\n";
  if (spec.log_y) gp << "set logscale y\nset format y \"%.0e\"\n";
  gp << "datafile = " << Quote(base + ".dat") << "\n";
  if (spec.series.empty()) {
    gp << "set label 1 \"no data\" at graph 0.5, 0.5 center\nplot NaN notitle\n";
  } else {
    gp << "plot \\\n";
    for (std::size_t i = 0; i < spec.series.size(); ++i) {
      const auto& s = spec.series[i];
      gp << "  datafile index " << i;
      switch (s.style) {
        case PlotStyle::kPoints: gp << " using 1:2 with points pt 7 ps 1.0"; break;
        case PlotStyle::kLines: gp << " using 1:2 with lines lw 2"; break;
        case PlotStyle::kDashedLines: gp << " using 1:2 with lines lw 2 dt 2"; break;
        case PlotStyle::kLinesPoints: gp << " using 1:2 with linespoints lw 1.5 pt 7"; break;
        case PlotStyle::kYErrorBars: gp << " using 1:2:3:4 with yerrorbars pt 5 ps 0.8"; break;
      }
      if (s.color >= 1 && s.color <= 8) gp << " lc rgb \"" << kPalette[s.color - 1] << "\"";
      gp << (s.title.empty() ? " notitle" : " title " + Quote(s.title));
      gp << (i + 1 < spec.series.size() ? ", \\\n" : "\n");
    }
  }
  {
    std::ofstream script(out.script);
    if (!script) throw std::runtime_error("WritePlot: cannot write '" + out.script + "'");
    script << gp.str();
  }

  Draw(dir, base, &out);
  return out;
}

PlotOutput WriteHeatMap(const HeatMapSpec& spec, const std::string& stem) {
  if (stem.empty()) throw std::invalid_argument("WriteHeatMap: empty output stem");
  if (spec.rows < 0 || spec.values.size() != spec.x.size() * static_cast<std::size_t>(spec.rows))
    throw std::invalid_argument("WriteHeatMap: values must hold x.size() * rows entries");
  if (!(spec.cb_min < spec.cb_max)) throw std::invalid_argument("WriteHeatMap: cb_min must be < cb_max");
  const fs::path dir = PlotFolder(stem);
  const std::string base = fs::path(stem).filename().string();
  PlotOutput out = PlotFiles(stem);
  {
    std::ofstream dat(out.data);
    if (!dat) throw std::runtime_error("WriteHeatMap: cannot write '" + out.data + "'");
    dat << "# x row value\n";
    for (std::size_t i = 0; i < spec.x.size(); ++i) {
      for (int r = 0; r < spec.rows; ++r)
        dat << Number(spec.x[i]) << " " << r << " " << Number(spec.values[i * spec.rows + r]) << "\n";
      dat << "\n";
    }
  }
  {
    std::ofstream gp(out.script);
    if (!gp) throw std::runtime_error("WriteHeatMap: cannot write '" + out.script + "'");
    gp << "# Redraw with: gnuplot " << base << ".gp  (in this folder)\n"
       << "set terminal pngcairo noenhanced size " << spec.width << "," << spec.height
       << " font \"Sans,11\"\n"
       << "set output " << Quote(base + ".png") << "\n"
       << "set title " << Quote(spec.title) << "\n"
       << "set xlabel " << Quote(spec.x_label) << "\n"
       << "set ylabel " << Quote(spec.y_label) << "\n"
       << "set cblabel " << Quote(spec.cb_label) << "\n"
       << "set view map\nset cbrange [" << Number(spec.cb_min) << ":" << Number(spec.cb_max) << "]\n"
       << "set palette defined (0 'blue', 1 'white', 2 'red')\n"
       << "plot " << Quote(base + ".dat") << " using 1:2:3 with image notitle\n";
  }
  Draw(dir, base, &out);
  return out;
}

}  // namespace moelab
