// Log-log slope of a loss against the sample size, with its uncertainty.
//
// Input: for each grid point n_g (g = 1..G) the replication values
// L_{g,1..R_g} of one metric. The published convention (docs/theory.md §5.2, the
// [Demyst] plotting script) averages over replications FIRST and then takes
// logs:
//
//   mean slope    OLS of log(mean_r L_{g,r}) on log n_g
//                 (log-intercept and slope, as in the legend "3.5n^{-0.63788}")
//   median slope  OLS of log(median_r L_{g,r}) on log n_g (robust to the few
//                 huge outliers that dominate over-fitted means, docs/theory.md §5.1)
//   std_error     the classical OLS standard error of the mean slope; it
//                 ignores that each log-mean is itself noisy, so it is only
//                 indicative
//   robust CI     the same bootstrap for the median slope (the headline slope
//                 of a study: a few diverged fits cannot drive it)
//   upper half    the median slope and its bootstrap CI on the upper half of
//                 the used grid (the last ceil(G/2) points; needs >= 2): the
//                 asymptotic-window check - beside the whole-grid slope it
//                 shows whether the rate has settled
//   CI            percentile bootstrap over replications: resample the R_g
//                 values WITHIN each n with replacement, recompute every mean
//                 and the OLS slope, B times; the CI is the (a/2, 1 - a/2)
//                 quantile pair of the B slopes. The grid is held fixed (it is
//                 a design, not a sample). The generator is seeded from
//                 `bootstrap_seed`, so the interval is reproducible.
//
// Trimming: `trim_smallest` = m drops the first m grid points (the smallest
// n), as the [Demyst] script does with its `n0` for over-fitted runs.
//
// Non-finite values (a failed cell) are dropped and counted. A grid point
// whose mean is not positive (log undefined) is dropped and counted. With
// fewer than 2 usable grid points the fit is not `ok` (message says why);
// nothing is thrown for data trouble, only for bad options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moelab {

struct SlopeFitOptions {
  int trim_smallest = 0;         // drop the first m grid points; >= 0
  int bootstrap_samples = 1000;  // B; 0 disables the interval (CI = NaN)
  double confidence = 0.95;      // coverage of the percentile interval, in (0, 1)
  std::uint64_t bootstrap_seed = 20240611;

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

// Replication values of one metric along the n-grid (sample_sizes[g] pairs
// with values[g]; the grid must be strictly increasing).
struct LossSeries {
  std::vector<double> sample_sizes;
  std::vector<std::vector<double>> values;
};

struct LineFit {
  double slope = 0.0;
  double intercept = 0.0;  // log scale
  double std_error = 0.0;  // of the slope (0 with 2 points)
  double r_squared = 0.0;
};

struct SlopeFit {
  bool ok = false;
  std::string message;      // why not ok, or notes (dropped points)
  int num_points = 0;       // grid points used (after trimming and dropping)
  int dropped_values = 0;   // non-finite replication values ignored
  int dropped_points = 0;   // grid points without a positive mean
  double n_min = 0.0, n_max = 0.0;
  LineFit mean;             // OLS of log(mean) on log n
  LineFit median;           // OLS of log(median) on log n
  double ci_lower = 0.0;    // percentile bootstrap CI of mean.slope (NaN when B = 0)
  double ci_upper = 0.0;
  double confidence = 0.0;
  double median_ci_lower = 0.0;  // percentile bootstrap CI of median.slope (NaN when B = 0)
  double median_ci_upper = 0.0;
  LineFit upper_median;          // median slope on the upper half of the used grid
                                 // (slope NaN with fewer than 2 points there)
  double upper_ci_lower = 0.0, upper_ci_upper = 0.0;  // its bootstrap CI
  double upper_n_min = 0.0;      // smallest n of the upper half
  // Per used grid point: n, mean, median, and the (a/2, 1-a/2) quantiles of
  // the bootstrap means (error bars for plots; NaN when B = 0).
  std::vector<double> used_n, used_mean, used_median, mean_lower, mean_upper;
};

// Ordinary least squares y = intercept + slope x. Requires >= 2 points with
// distinct x (throws std::invalid_argument otherwise).
LineFit FitLine(const std::vector<double>& x, const std::vector<double>& y);

// The fits above. Throws std::invalid_argument for bad options or a series
// whose sizes disagree or whose grid is not strictly increasing and positive.
SlopeFit FitLogLogSlope(const LossSeries& series, const SlopeFitOptions& options = {});

}  // namespace moelab
