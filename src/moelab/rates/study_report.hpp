// From a finished study's cells to its slopes table, readable summary and
// plots.
//
// For every loss-like column of the study (losses, weight term, per-parameter
// errors, density distances, excess log-likelihood; not counters such as
// iterations) FitStudySlopes fits the slopes of slope_fit.hpp and puts the
// theoretical rate of theory.hpp and the verdict next to them.
//
// Files (WriteStudyReport, in the given folder):
//   slopes.csv    study,column,theory,theory_slope,slope,intercept,std_error,
//                 ci_lower,ci_upper,median_slope,num_points,n_min,n_max,
//                 trimmed,verdict,median_ci_lower,median_ci_upper,upper_slope,
//                 upper_ci_lower,upper_ci_upper,upper_n_min,mean_verdict,
//                 min_certified_fraction,inconclusive  (%.6g numbers).
//                 `slope` is the mean-based OLS slope (kept as a column);
//                 the headline is the median slope with its bootstrap CI,
//                 and `verdict` judges it; upper_* is the asymptotic window
//                 (upper half of the grid).
//   summary.txt   the readable version: per study its setting, status counts,
//                 mean iterations and seconds per n, per n the fraction of
//                 certified fits and of fits whose gate diverged, then one line
//                 per column: headline slope [CI], upper-half slope, mean slope
//                 vs theory -> verdict (qualified: certified or not,
//                 inconclusive when certified fractions are below 90 %)
//   plots/<study>_<family>.{png,pdf,svg,gp,dat}: one log-log plot per metric
//                 family (loss: loss_d1/loss_d2, weight_err, loss_ratio;
//                 density: hellinger, tv; parameters: single_* and multi_*;
//                 loglik: loglik_excess): per column the mean with its 95 %
//                 bootstrap confidence interval as error bars (filled marker),
//                 the median (open marker of the same shape), the fitted line
//                 and the theory line through the fitted line's centre; each
//                 column has its own marker shape and a small horizontal dodge
//                 so overlapping columns (Hellinger and TV) stay visible; the
//                 legend (slopes, CI, theory, verdict) sits under the plot.
// Callers write slopes.csv and summary.txt before PlotStudy: drawing comes
// last so that a plotting problem never costs the tables.
#pragma once

#include <string>
#include <vector>

#include "moelab/io/gnuplot_plot.hpp"
#include "moelab/rates/cell_runner.hpp"
#include "moelab/rates/slope_fit.hpp"
#include "moelab/rates/theory.hpp"

namespace moelab {

struct SlopeRow {
  std::string study;
  std::string column;
  SlopeFit fit;
  TheoryRate theory;
  Verdict verdict = Verdict::kNoFit;       // of the headline (median) slope and its CI
  Verdict mean_verdict = Verdict::kNoFit;  // of the mean-based OLS slope and its CI
  int trimmed = 0;
  // Smallest fraction of certified fits over the grid (NaN when the cells
  // carry no certificate) and whether the slopes are therefore inconclusive
  // (below kMinCertifiedFraction at some n).
  double min_certified_fraction = 0.0;
  bool inconclusive = false;
};

// A study whose certified fraction is below this at some n has inconclusive
// slopes: uncertified fits describe where the optimiser stopped.
inline constexpr double kMinCertifiedFraction = 0.9;

// The columns whose slopes are meaningful (losses and errors).
bool IsSlopeColumn(const std::string& column);

// Slope rows of one study. `value_columns` are the cells' value columns.
std::vector<SlopeRow> FitStudySlopes(const std::string& study, const TheorySetting& setting,
                                     const std::vector<std::string>& value_columns,
                                     const std::vector<CellRecord>& records,
                                     const SlopeFitOptions& options);

// One study's facts for the summary: status counts, mean iterations, mean
// seconds per n (from timings), free text lines (setting, warnings).
struct StudyFacts {
  std::string study;
  std::vector<std::string> lines;
};
StudyFacts DescribeCells(const std::string& study, const std::vector<std::string>& value_columns,
                         const std::vector<CellRecord>& records,
                         const std::vector<CellRecord>& timings);

// "loss_d1   -0.612 [-0.70, -0.53]  median -0.60  theory n^-1/2  -> consistent up to log factors"
std::string FormatSlopeRow(const SlopeRow& row);

void WriteSlopesCsv(const std::vector<SlopeRow>& rows, const std::string& path);
std::string SlopesText(const std::vector<StudyFacts>& facts, const std::vector<SlopeRow>& rows);

// Plot families of one study's rows (see above) into `dir`/<study>_<family>.
std::vector<PlotOutput> PlotStudy(const std::string& study, const std::vector<SlopeRow>& rows,
                                  const std::string& dir);

// Reads timings.csv (n,replication,seconds) of a study folder; empty when absent.
std::vector<CellRecord> ReadTimings(const std::string& path);

}  // namespace moelab
