#include "moelab/io/gnuplot_plot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

extern char** environ;

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

// Smallest and largest value of one axis over every series, in the axis'
// own units (log10 on a log axis, where non-positive values are skipped).
struct AxisRange {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double v, bool log) {
    if (!std::isfinite(v) || (log && v <= 0)) return;
    const double t = log ? std::log10(v) : v;
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  // "set xrange [a:b]" with `padding` of the span on each side; a single
  // value gets half a unit (a decade on a log axis) either side.
  std::string Command(const char* axis, bool log, double padding) const {
    if (!(lo <= hi)) return "";
    const double pad = hi > lo ? padding * (hi - lo) : 0.5;
    double a = lo - pad, b = hi + pad;
    if (log) {
      a = std::pow(10.0, a);
      b = std::pow(10.0, b);
    }
    std::ostringstream os;
    os << "set " << axis << "range [" << Number(a) << ":" << Number(b) << "]\n";
    return os.str();
  }
};

// Streams rather than "literal" + std::to_string: GCC 12 gives a false
// -Wrestrict on that pattern (GCC bug 105329).
std::string SeriesStyle(const PlotSeries& s) {
  std::ostringstream os;
  os << " using ";
  if (s.x_scale == 1.0) {
    os << "1";
  } else {
    os << "($1*" << Number(s.x_scale) << ")";
  }
  const int pt = s.point_type;
  const int dt = s.dash_type;
  switch (s.style) {
    case PlotStyle::kPoints: os << ":2 with points pt " << (pt > 0 ? pt : 7) << " ps 1.1"; break;
    case PlotStyle::kLines: os << ":2 with lines lw 2 dt " << (dt > 0 ? dt : 1); break;
    case PlotStyle::kDashedLines: os << ":2 with lines lw 2 dt " << (dt > 0 ? dt : 2); break;
    case PlotStyle::kLinesPoints:
      os << ":2 with linespoints lw 1.5 pt " << (pt > 0 ? pt : 7) << " dt " << (dt > 0 ? dt : 1);
      break;
    case PlotStyle::kYErrorBars: os << ":2:3:4 with yerrorbars lw 1.2 pt " << (pt > 0 ? pt : 5) << " ps 0.9"; break;
  }
  return os.str();
}

// Runs `gnuplot <script>` in `dir` as a child process (stdin /dev/null,
// stdout discarded, stderr captured). Returns "" on exit status 0, otherwise
// what went wrong. No pipe is written to, so a missing or crashing gnuplot
// cannot raise SIGPIPE in this process.
std::string RunGnuplot(const std::string& dir, const std::string& script) {
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return std::string("pipe failed: ") + std::strerror(errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  // The folder and script go in as positional parameters: no quoting issues.
  const char* argv[] = {"sh", "-c", "cd \"$1\" && exec gnuplot \"$2\"", "sh", dir.c_str(), script.c_str(), nullptr};
  pid_t pid = -1;
  const int spawn_error = posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(err_pipe[1]);
  if (spawn_error != 0) {
    ::close(err_pipe[0]);
    return std::string("could not start /bin/sh to run gnuplot: ") + std::strerror(spawn_error);
  }
  std::string errors;
  char buffer[512];
  for (;;) {
    const ssize_t got = ::read(err_pipe[0], buffer, sizeof buffer);
    if (got > 0) {
      if (errors.size() < 4096) errors.append(buffer, static_cast<std::size_t>(got));
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "";  // e.g. SIGCHLD ignored by the application: judge by the files
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  // gnuplot's first non-empty stderr line says what failed.
  std::string first;
  std::istringstream lines(errors);
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(" \t^") != std::string::npos) {
      first = line;
      break;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return "gnuplot not found on PATH (install gnuplot-nox)";
  std::ostringstream what;
  if (WIFEXITED(status)) {
    what << "gnuplot exited with status " << WEXITSTATUS(status);
  } else {
    what << "gnuplot was killed by signal " << WTERMSIG(status);
  }
  if (!first.empty()) what << ": " << first;
  return what.str();
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
  out.pdf = stem + ".pdf";
  out.svg = stem + ".svg";
  return out;
}


// Runs gnuplot on `base`.gp in `dir` and checks that every picture the
// script promises (the non-empty names among png, pdf, svg) was written;
// fills out->drawn / message.
void Draw(const fs::path& dir, const std::string& base, PlotOutput* out) {
  std::error_code ec;
  const std::string* pictures[] = {&out->png, &out->pdf, &out->svg};
  for (const auto* picture : pictures)
    if (!picture->empty()) fs::remove(*picture, ec);
  out->message = RunGnuplot(fs::absolute(dir).string(), base + ".gp");
  std::string missing;
  for (const auto* picture : pictures) {
    if (picture->empty() || (fs::exists(*picture, ec) && fs::file_size(*picture, ec) > 0)) continue;
    if (!missing.empty()) missing += ", ";
    missing += *picture;
  }
  out->drawn = missing.empty();
  if (!out->drawn && out->message.empty()) out->message = "gnuplot did not produce " + missing;
  if (!out->drawn) out->message += "; the .dat and .gp are written (gnuplot on the .gp draws them)";
}

}  // namespace

std::string PlotScript(const PlotSpec& spec, const std::string& base) {
  std::ostringstream gp;
  gp << "# Redraw with: gnuplot " << base << ".gp  (in this folder); writes " << base << ".png, "
     << base << ".pdf and " << base << ".svg\n";
  // Enhanced text for the axes' tick labels; every string from the spec is
  // printed as written (noenhanced), so names like loss_d1 keep their "_".
  std::string title = Quote(spec.title);
  for (const auto& note : spec.notes) title = title.substr(0, title.size() - 1) + "\\n" + Quote(note).substr(1);
  gp << "set title " << title << " noenhanced\n"
     << "set xlabel " << Quote(spec.x_label) << " noenhanced\n"
     << "set ylabel " << Quote(spec.y_label) << " noenhanced\n"
     << "set key " << spec.key << " box opaque spacing 1.1 samplen 3 width 1\n"
     << "set grid\n"
     << "set bars small\n";
  if (spec.key.find("below") != std::string::npos) {
    // gnuplot 5.4 does not reserve room for a key below the x label, so the
    // two overlap; reserve tick labels + label (4 lines) + one per entry.
    int entries = 0;
    for (const auto& s : spec.series) entries += s.title.empty() ? 0 : 1;
    gp << "set bmargin " << 4 + static_cast<int>(std::ceil(1.15 * entries)) << "\n";
  }
  AxisRange xr, yr;
  for (const auto& s : spec.series) {
    for (double x : s.x) xr.Add(x * s.x_scale, spec.log_x);
    for (const auto* v : {&s.y, &s.y_low, &s.y_high})
      for (double y : *v) yr.Add(y, spec.log_y);
  }
  if (spec.series.empty()) {
    gp << "set xrange [0:1]\nset yrange [0:1]\n";
  } else {
    if (spec.log_x) gp << "set logscale x\nset format x \"%g\"\n";
    if (spec.log_y) gp << "set logscale y\nset format y \"%g\"\n";
    gp << xr.Command("x", spec.log_x, spec.range_padding) << yr.Command("y", spec.log_y, spec.range_padding);
  }
  gp << "datafile = " << Quote(base + ".dat") << "\n"
     << "set terminal pngcairo enhanced size " << spec.width << "," << spec.height << " font \"Sans,11\"\n"
     << "set output " << Quote(base + ".png") << "\n";
  if (spec.series.empty()) {
    gp << "set label 1 \"no data\" at graph 0.5, 0.5 center\nplot NaN notitle\n";
  } else {
    gp << "plot \\\n";
    for (std::size_t i = 0; i < spec.series.size(); ++i) {
      const auto& s = spec.series[i];
      gp << "  datafile index " << i << SeriesStyle(s);
      if (s.color >= 1 && s.color <= 8) gp << " lc rgb \"" << kPalette[s.color - 1] << "\"";
      if (s.title.empty()) {
        gp << " notitle";
      } else {
        gp << " title " << Quote(s.title) << " noenhanced";
      }
      gp << (i + 1 < spec.series.size() ? ", \\\n" : "\n");
    }
  }
  char inches[64];
  std::snprintf(inches, sizeof inches, "%.2fin,%.2fin", spec.width / 160.0, spec.height / 160.0);
  gp << "set terminal pdfcairo enhanced size " << inches << " font \"Sans,9\"\n"
     << "set output " << Quote(base + ".pdf") << "\n"
     << "replot\n"
     << "set terminal svg enhanced size " << spec.width << "," << spec.height
     << " font \"Sans,11\" background \"white\"\n"
     << "set output " << Quote(base + ".svg") << "\n"
     << "replot\n"
     << "unset output\n";
  return gp.str();
}

PlotOutput WritePlot(const PlotSpec& spec, const std::string& stem) {
  if (stem.empty()) throw std::invalid_argument("WritePlot: empty output stem");
  for (const auto& s : spec.series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument("WritePlot: series '" + s.title + "' has x and y of different lengths");
    if (s.style == PlotStyle::kYErrorBars &&
        (s.y_low.size() != s.y.size() || s.y_high.size() != s.y.size()))
      throw std::invalid_argument("WritePlot: series '" + s.title + "' needs y_low and y_high");
    if (!(s.x_scale > 0) || !std::isfinite(s.x_scale))
      throw std::invalid_argument("WritePlot: series '" + s.title + "' needs a positive finite x_scale");
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
  {
    std::ofstream script(out.script);
    if (!script) throw std::runtime_error("WritePlot: cannot write '" + out.script + "'");
    script << PlotScript(spec, base);
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
  out.pdf.clear();  // the heat-map script draws a PNG only
  out.svg.clear();
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
