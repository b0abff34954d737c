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
//                 trimmed,verdict  (%.6g numbers)
//   summary.txt   the readable version: per study its setting, status counts,
//                 mean iterations and seconds per n, then one line per column:
//                 measured slope [CI] vs theory -> verdict
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
  Verdict verdict = Verdict::kNoFit;
  int trimmed = 0;
};

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
