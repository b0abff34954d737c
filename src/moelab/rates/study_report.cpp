#include "moelab/rates/study_report.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "moelab/io/csv.hpp"

namespace moelab {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string Num(double v, const char* format = "%.6g") {
  if (std::isnan(v)) return "nan";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

// Position of `column` in value_columns; value_columns.size() when absent.
std::size_t ColumnIndex(const std::vector<std::string>& value_columns, const std::string& column) {
  for (std::size_t c = 0; c < value_columns.size(); ++c)
    if (value_columns[c] == column) return c;
  return value_columns.size();
}

// Per n: the mean of `column` over the cells (a NaN counts as 0 in the sum and
// as a cell in the count); empty when the study has no such column.
std::map<Index, std::pair<double, int>> MeanByN(const std::vector<std::string>& value_columns,
                                                const std::vector<CellRecord>& records,
                                                const std::string& column) {
  std::map<Index, std::pair<double, int>> out;
  const std::size_t col = ColumnIndex(value_columns, column);
  if (col == value_columns.size()) return out;
  for (const auto& r : records) {
    auto& slot = out[r.key.n];
    if (col < r.values.size() && !std::isnan(r.values[col])) slot.first += r.values[col];
    ++slot.second;  // a NaN (failed fit) counts as not certified / not diverged
  }
  return out;
}

// The smallest certified fraction over n; NaN when no certificate was recorded.
double MinCertifiedFraction(const std::vector<std::string>& value_columns,
                            const std::vector<CellRecord>& records) {
  double min_certified = NAN;
  for (const auto& [n, v] : MeanByN(value_columns, records, "certified")) {
    const double fraction = v.first / v.second;
    if (std::isnan(min_certified) || fraction < min_certified) min_certified = fraction;
  }
  return min_certified;
}

// "fewer than 90 %" / "< 0.90": kMinCertifiedFraction in words.
std::string CertifiedThresholdText(bool percent) {
  return percent ? Num(100.0 * kMinCertifiedFraction, "%.0f") + " %"
                 : Num(kMinCertifiedFraction, "%.2f");
}

std::string Family(const std::string& column) {
  if (column == "hellinger" || column == "tv") return "density";
  if (StartsWith(column, "single_") || StartsWith(column, "multi_")) return "parameters";
  if (column == "loglik_excess") return "loglik";
  return "loss";
}

}  // namespace

bool IsSlopeColumn(const std::string& column) {
  return column == "loss_d1" || column == "loss_d2" || column == "weight_err" ||
         column == "loss_ratio" || column == "hellinger" || column == "tv" ||
         column == "loglik_excess" || StartsWith(column, "single_") || StartsWith(column, "multi_");
}

std::vector<SlopeRow> FitStudySlopes(const std::string& study, const TheorySetting& setting,
                                     const std::vector<std::string>& value_columns,
                                     const std::vector<CellRecord>& records,
                                     const SlopeFitOptions& options) {
  std::map<Index, std::vector<const CellRecord*>> by_n;
  for (const auto& r : records) by_n[r.key.n].push_back(&r);
  const double min_certified = MinCertifiedFraction(value_columns, records);
  std::vector<SlopeRow> rows;
  for (std::size_t c = 0; c < value_columns.size(); ++c) {
    if (!IsSlopeColumn(value_columns[c])) continue;
    LossSeries series;
    for (const auto& [n, cells] : by_n) {
      series.sample_sizes.push_back(static_cast<double>(n));
      std::vector<double> v;
      for (const CellRecord* r : cells) v.push_back(r->values[c]);
      series.values.push_back(std::move(v));
    }
    SlopeRow row;
    row.study = study;
    row.column = value_columns[c];
    row.trimmed = options.trim_smallest;
    row.fit = FitLogLogSlope(series, options);
    row.theory = TheoryFor(row.column, setting);
    row.verdict = Judge(row.theory, row.fit.ok, row.fit.median.slope, row.fit.median_ci_lower,
                        row.fit.median_ci_upper);
    row.mean_verdict =
        Judge(row.theory, row.fit.ok, row.fit.mean.slope, row.fit.ci_lower, row.fit.ci_upper);
    row.min_certified_fraction = min_certified;
    row.inconclusive = !std::isnan(min_certified) && min_certified < kMinCertifiedFraction;
    rows.push_back(std::move(row));
  }
  return rows;
}

StudyFacts DescribeCells(const std::string& study, const std::vector<std::string>& value_columns,
                         const std::vector<CellRecord>& records,
                         const std::vector<CellRecord>& timings) {
  StudyFacts facts;
  facts.study = study;
  std::map<std::string, int> statuses;
  for (const auto& r : records) ++statuses[r.status];
  std::string line = "cells: " + std::to_string(records.size()) + "; termination:";
  for (const auto& [status, count] : statuses) line += " " + status + " x" + std::to_string(count);
  facts.lines.push_back(line);
  const std::size_t iter_col = ColumnIndex(value_columns, "iterations");
  std::map<Index, std::pair<double, int>> iterations, seconds;
  for (const auto& r : records) {
    if (iter_col < r.values.size()) {
      iterations[r.key.n].first += r.values[iter_col];
      ++iterations[r.key.n].second;
    }
  }
  for (const auto& t : timings) {
    seconds[t.key.n].first += t.seconds;
    ++seconds[t.key.n].second;
  }
  std::string it = "mean iterations by n:", sec = "mean seconds per fit by n:";
  for (const auto& [n, v] : iterations) it += " " + std::to_string(n) + ":" + Num(v.first / v.second, "%.0f");
  for (const auto& [n, v] : seconds) sec += " " + std::to_string(n) + ":" + Num(v.first / v.second, "%.3g");
  facts.lines.push_back(it);
  if (!seconds.empty()) facts.lines.push_back(sec);
  // Floor hits (variance_floor.hpp): a fit held up by the floor is reported,
  // never silent.
  if (const std::size_t c = ColumnIndex(value_columns, "variance_floor_hits");
      c < value_columns.size()) {
    int cells = 0;
    double hits = 0.0;
    for (const auto& r : records)
      if (c < r.values.size() && r.values[c] > 0) ++cells, hits += r.values[c];
    facts.lines.push_back("variance-floor hits (floor relative to Var(y)): " + std::to_string(cells) +
                          " of " + std::to_string(records.size()) + " cells" +
                          (cells > 0 ? " (" + Num(hits, "%.0f") + " hits)" : ""));
  }
  const auto certified = MeanByN(value_columns, records, "certified");
  if (!certified.empty()) {
    // "<label> n1:f1 n2:f2 ..." for a 0/1 column.
    const auto fractions = [](std::string line, const std::map<Index, std::pair<double, int>>& by_n) {
      for (const auto& [n, v] : by_n) line += " " + std::to_string(n) + ":" + Num(v.first / v.second, "%.2f");
      return line;
    };
    const bool low = MinCertifiedFraction(value_columns, records) < kMinCertifiedFraction;
    facts.lines.push_back(fractions("certified fraction by n:", certified));
    facts.lines.push_back(
        fractions("gate-diverged fraction by n:", MeanByN(value_columns, records, "gate_diverged")));
    const auto saturated = MeanByN(value_columns, records, "loss_saturated");
    bool any_saturated = false;
    for (const auto& [n, v] : saturated) any_saturated = any_saturated || v.first > 0;
    if (any_saturated)
      facts.lines.push_back(fractions(
          "loss-saturated fraction by n (infimum gauge at its u -> 0 limit):", saturated));
    if (low)
      facts.lines.push_back(
          "INCONCLUSIVE: fewer than " + CertifiedThresholdText(true) +
          " of the fits are certified at some n, so the slopes "
          "describe where the optimiser stopped as much as the estimator (uncertified fits are "
          "kept in every slope, not dropped)");
  }
  return facts;
}

std::string FormatSlopeRow(const SlopeRow& row) {
  char buffer[1024];
  if (!row.fit.ok) {
    std::snprintf(buffer, sizeof buffer, "  %-14s no fit (%s); theory %s", row.column.c_str(),
                  row.fit.message.c_str(), row.theory.text.empty() ? "none" : row.theory.text.c_str());
    return buffer;
  }
  std::string verdict = ToString(row.verdict);
  if (row.inconclusive) {
    verdict += " (INCONCLUSIVE: certified fraction " + Num(row.min_certified_fraction, "%.2f") +
               " < " + CertifiedThresholdText(false) + " at some n)";
  } else if (row.verdict == Verdict::kFasterThanTheory ||
             row.verdict == Verdict::kSlowerThanTheory) {
    verdict += std::isnan(row.min_certified_fraction)
                   ? " (fits not certified: no certificate recorded)"
                   : " (fits certified: >= " + Num(row.min_certified_fraction, "%.2f") + " per n)";
  }
  std::snprintf(buffer, sizeof buffer,
                "  %-14s median %7.3f [%6.3f, %6.3f]  upper half %7.3f [%6.3f, %6.3f]  mean %7.3f "
                "[%6.3f, %6.3f]  n %g..%g (%d pts)  theory %-27s -> %s",
                row.column.c_str(), row.fit.median.slope, row.fit.median_ci_lower,
                row.fit.median_ci_upper, row.fit.upper_median.slope, row.fit.upper_ci_lower,
                row.fit.upper_ci_upper, row.fit.mean.slope, row.fit.ci_lower, row.fit.ci_upper,
                row.fit.n_min, row.fit.n_max, row.fit.num_points,
                row.theory.text.empty() ? "none" : row.theory.text.c_str(), verdict.c_str());
  return buffer;
}

void WriteSlopesCsv(const std::vector<SlopeRow>& rows, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write '" + path + "'");
  out << "study,column,theory,theory_slope,slope,intercept,std_error,ci_lower,ci_upper,"
         "median_slope,num_points,n_min,n_max,trimmed,verdict,median_ci_lower,median_ci_upper,"
         "upper_slope,upper_ci_lower,upper_ci_upper,upper_n_min,mean_verdict,"
         "min_certified_fraction,inconclusive\n";
  for (const auto& r : rows) {
    std::string theory = r.theory.text.empty() ? "none" : r.theory.text;
    for (char& ch : theory) if (ch == ',') ch = ';';
    out << r.study << "," << r.column << "," << theory << ","
        << (r.theory.kind == TheoryRate::Kind::kPolynomial ? Num(r.theory.slope) : "nan") << ","
        << Num(r.fit.ok ? r.fit.mean.slope : NAN) << "," << Num(r.fit.ok ? r.fit.mean.intercept : NAN)
        << "," << Num(r.fit.ok ? r.fit.mean.std_error : NAN) << "," << Num(r.fit.ci_lower) << ","
        << Num(r.fit.ci_upper) << "," << Num(r.fit.ok ? r.fit.median.slope : NAN) << ","
        << r.fit.num_points << "," << Num(r.fit.n_min) << "," << Num(r.fit.n_max) << ","
        << r.trimmed << "," << ToString(r.verdict) << "," << Num(r.fit.median_ci_lower) << ","
        << Num(r.fit.median_ci_upper) << "," << Num(r.fit.ok ? r.fit.upper_median.slope : NAN)
        << "," << Num(r.fit.upper_ci_lower) << "," << Num(r.fit.upper_ci_upper) << ","
        << Num(r.fit.upper_n_min) << "," << ToString(r.mean_verdict) << ","
        << Num(r.min_certified_fraction) << "," << (r.inconclusive ? 1 : 0) << "\n";
  }
}

std::string SlopesText(const std::vector<StudyFacts>& facts, const std::vector<SlopeRow>& rows) {
  std::ostringstream os;
  for (const auto& f : facts) {
    os << "== " << f.study << "\n";
    for (const auto& line : f.lines) os << "  " << line << "\n";
    os << "  slopes: headline = OLS of log(median over replications) on log n with its 95%\n"
          "  percentile bootstrap CI over replications; upper half = the same on the upper half\n"
          "  of the grid (has the rate settled?); mean = OLS of log(mean) with its CI; the\n"
          "  verdict judges the headline against theory (log factors allowed: band [1.3 s, 0.85 s],\n  docs/theory.md §5.3)\n";
    for (const auto& r : rows)
      if (r.study == f.study) os << FormatSlopeRow(r) << "\n";
    os << "\n";
  }
  return os.str();
}

std::vector<PlotOutput> PlotStudy(const std::string& study, const std::vector<SlopeRow>& rows,
                                  const std::string& dir) {
  // Rows per family, in the study's column order.
  std::map<std::string, std::vector<const SlopeRow*>> families;
  for (const auto& r : rows)
    if (r.study == study && r.fit.ok) families[Family(r.column)].push_back(&r);
  // Filled markers for the means, the open version of the same shape for the
  // medians, a different shape per column: series that overlap stay visible.
  constexpr int kFilled[] = {5, 7, 9, 11, 13, 15};
  constexpr int kOpen[] = {4, 6, 8, 10, 12, 14};
  std::vector<PlotOutput> outputs;
  for (const auto& [family, members] : families) {
    PlotSpec spec;
    const std::string what = family == "density"      ? "density distances"
                             : family == "loglik"     ? "excess log-likelihood"
                             : family == "parameters" ? "parameter errors"
                                                      : "Voronoi loss";
    spec.title = study + ": " + what + " against sample size (log-log)";
    const double level = members.front()->fit.confidence > 0 ? 100 * members.front()->fit.confidence : 95;
    char note[300];
    std::snprintf(note, sizeof note,
                  "filled: mean over replications with %.0f%% bootstrap CI (error bars); open: median; "
                  "solid: OLS fit of log mean; dashed: theory rate",
                  level);
    spec.notes.push_back(note);
    spec.x_label = "sample size n";
    if (family == "density") {
      spec.y_label = "E_X distance to the true conditional density (Hellinger, total variation)";
    } else if (family == "loglik") {
      spec.y_label = "excess log-likelihood per sample, (l_fit - l_true) / n";
    } else if (family == "parameters") {
      spec.y_label = "largest error over atoms (per cell type)";
    } else {
      spec.y_label = "Voronoi loss (D1 or D2) and its weight term";
    }
    spec.log_x = spec.log_y = true;
    const int m = static_cast<int>(members.size());
    for (int c = 0; c < m; ++c) {
      const SlopeRow& r = *members[c];
      const auto& f = r.fit;
      const int colour = c % 8 + 1;
      // Columns measured at the same n are drawn 3 % apart on the log axis
      // (centred on the true n) so their error bars do not cover each other.
      const double dodge = std::pow(1.03, c - 0.5 * (m - 1));
      char label[240];
      std::snprintf(label, sizeof label, "%s: fit n^%.3f [%.3f, %.3f], median slope %.3f", r.column.c_str(),
                    f.mean.slope, f.ci_lower, f.ci_upper, f.median.slope);
      PlotSeries mean{label, PlotStyle::kYErrorBars, colour, f.used_n, f.used_mean, f.mean_lower, f.mean_upper};
      mean.point_type = kFilled[c % 6];
      mean.x_scale = dodge;
      PlotSeries median{"", PlotStyle::kPoints, colour, f.used_n, f.used_median, {}, {}};
      median.point_type = kOpen[c % 6];
      median.x_scale = dodge;
      std::vector<double> line_x = {f.n_min, f.n_max}, fit_y, theory_y;
      for (double n : line_x) fit_y.push_back(std::exp(f.mean.intercept + f.mean.slope * std::log(n)));
      spec.series.push_back(std::move(mean));
      spec.series.push_back(std::move(median));
      spec.series.push_back({"", PlotStyle::kLines, colour, line_x, fit_y, {}, {}});
      if (r.theory.kind == TheoryRate::Kind::kPolynomial) {
        const double centre = 0.5 * (std::log(f.n_min) + std::log(f.n_max));
        const double y_centre = f.mean.intercept + f.mean.slope * centre;
        for (double n : line_x) theory_y.push_back(std::exp(y_centre + r.theory.slope * (std::log(n) - centre)));
        std::snprintf(label, sizeof label, "%s: theory %s (%s)", r.column.c_str(), r.theory.text.c_str(),
                      ToString(r.verdict));
        spec.series.push_back({label, PlotStyle::kDashedLines, colour, line_x, theory_y, {}, {}});
      } else {
        std::snprintf(label, sizeof label, "%s: no theory (%s)", r.column.c_str(), ToString(r.verdict));
        spec.series.push_back({label, PlotStyle::kDashedLines, colour, {}, {}, {}, {}});
      }
    }
    // The legend sits under the plot, two lines per column: grow the picture
    // by those lines instead of narrowing the data.
    spec.height = 560 + 2 * 22 * m;
    outputs.push_back(WritePlot(spec, (std::filesystem::path(dir) / (study + "_" + family)).string()));
  }
  return outputs;
}

std::vector<CellRecord> ReadTimings(const std::string& path) {
  std::vector<CellRecord> out;
  if (!std::filesystem::exists(path)) return out;
  const CsvTable table = ReadCsv(path);
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    CellRecord r;
    const std::string where = path + ":" + std::to_string(table.line_numbers[i]);
    r.key.n = static_cast<Index>(ParseFiniteCell(table.rows[i], 0, table.header, where));
    r.key.replication = static_cast<int>(ParseFiniteCell(table.rows[i], 1, table.header, where));
    r.seconds = ParseFiniteCell(table.rows[i], 2, table.header, where);
    out.push_back(r);
  }
  return out;
}

}  // namespace moelab
