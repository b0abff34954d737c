#include "moelab/rates/slope_fit.hpp"

#include <algorithm>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>
#include <limits>

#include "moelab/core/check.hpp"
#include "moelab/core/rng.hpp"

namespace moelab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Type-7 (linear interpolation) quantile of sorted values.
double SortedQuantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return kNaN;
  const double h = p * static_cast<double>(sorted.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double Mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// OLS of log(median) on log n over the points from `begin` whose median is
// positive; slope NaN with fewer than 2 such points.
LineFit MedianLine(const std::vector<double>& log_n, const std::vector<double>& medians,
                   std::size_t begin) {
  std::vector<double> x, y;
  for (std::size_t g = begin; g < medians.size(); ++g) {
    if (medians[g] > 0.0) {
      x.push_back(log_n[g]);
      y.push_back(std::log(medians[g]));
    }
  }
  if (x.size() < 2) {
    LineFit none;
    none.slope = none.intercept = none.std_error = kNaN;
    return none;
  }
  return FitLine(x, y);
}

}  // namespace

void SlopeFitOptions::Validate() const {
  if (trim_smallest < 0) ThrowInvalid("SlopeFitOptions::Validate", "trim_smallest must be >= 0");
  if (bootstrap_samples < 0)
    ThrowInvalid("SlopeFitOptions::Validate", "bootstrap_samples must be >= 0");
  if (!(confidence > 0.0 && confidence < 1.0))
    ThrowInvalid("SlopeFitOptions::Validate", "confidence must lie in (0, 1)");
}

LineFit FitLine(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2)
    ThrowInvalid("FitLine", "needs at least 2 points and equal sizes");
  const double mx = Mean(x), my = Mean(y);
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (!(sxx > 0.0)) ThrowInvalid("FitLine", "the x values must not all be equal");
  LineFit fit;
  fit.slope = sxy / sxx;
  fit.intercept = my - fit.slope * mx;
  double rss = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - fit.intercept - fit.slope * x[i];
    rss += r * r;
  }
  const std::size_t dof = x.size() - 2;
  fit.std_error = dof > 0 ? std::sqrt(rss / static_cast<double>(dof) / sxx) : 0.0;
  fit.r_squared = syy > 0.0 ? 1.0 - rss / syy : 1.0;
  return fit;
}

SlopeFit FitLogLogSlope(const LossSeries& series, const SlopeFitOptions& options) {
  options.Validate();
  if (series.sample_sizes.size() != series.values.size())
    ThrowInvalid("FitLogLogSlope", "sample_sizes and values differ in length");
  for (std::size_t g = 0; g < series.sample_sizes.size(); ++g) {
    if (!(series.sample_sizes[g] > 0.0) ||
        (g > 0 && !(series.sample_sizes[g] > series.sample_sizes[g - 1])))
      ThrowInvalid("FitLogLogSlope", "the n-grid must be positive and strictly increasing");
  }
  SlopeFit fit;
  fit.confidence = options.confidence;
  fit.ci_lower = fit.ci_upper = kNaN;
  fit.median_ci_lower = fit.median_ci_upper = fit.upper_ci_lower = fit.upper_ci_upper = kNaN;
  fit.upper_median.slope = fit.upper_median.intercept = fit.upper_median.std_error = kNaN;
  fit.upper_n_min = kNaN;

  // Usable values per grid point, after trimming.
  std::vector<std::vector<double>> kept;
  for (std::size_t g = static_cast<std::size_t>(options.trim_smallest);
       g < series.sample_sizes.size(); ++g) {
    std::vector<double> finite;
    for (double v : series.values[g]) {
      if (std::isfinite(v)) finite.push_back(v);
      else ++fit.dropped_values;
    }
    if (finite.empty() || !(Mean(finite) > 0.0)) {
      ++fit.dropped_points;
      continue;
    }
    fit.used_n.push_back(series.sample_sizes[g]);
    fit.used_mean.push_back(Mean(finite));
    fit.used_median.push_back(Median(finite));
    kept.push_back(std::move(finite));
  }
  fit.num_points = static_cast<int>(kept.size());
  if (fit.num_points < 2) {
    fit.message = "fewer than 2 usable grid points (" + std::to_string(fit.dropped_points) +
                  " without a positive mean, " + std::to_string(options.trim_smallest) +
                  " trimmed)";
    return fit;
  }
  fit.n_min = fit.used_n.front();
  fit.n_max = fit.used_n.back();
  std::vector<double> log_n, log_mean, log_median_x, log_median;
  for (int g = 0; g < fit.num_points; ++g) {
    log_n.push_back(std::log(fit.used_n[g]));
    log_mean.push_back(std::log(fit.used_mean[g]));
    // A zero median (e.g. exact zeros) has no logarithm; leave that point out
    // of the median line only.
    if (fit.used_median[g] > 0.0) {
      log_median_x.push_back(log_n.back());
      log_median.push_back(std::log(fit.used_median[g]));
    }
  }
  fit.mean = FitLine(log_n, log_mean);
  if (log_median.size() >= 2) {
    fit.median = FitLine(log_median_x, log_median);
  } else {
    fit.median.slope = fit.median.intercept = fit.median.std_error = kNaN;
  }
  const std::size_t upper_begin = kept.size() / 2;  // the last ceil(G/2) points
  fit.upper_n_min = fit.used_n[upper_begin];
  fit.upper_median = MedianLine(log_n, fit.used_median, upper_begin);
  fit.median_ci_lower = fit.median_ci_upper = fit.upper_ci_lower = fit.upper_ci_upper = kNaN;
  fit.ok = true;
  if (fit.dropped_points > 0 || fit.dropped_values > 0) {
    fit.message = std::to_string(fit.dropped_values) + " non-finite values and " +
                  std::to_string(fit.dropped_points) + " grid points without a positive mean dropped";
  }

  const std::size_t G = kept.size();
  fit.mean_lower.assign(G, kNaN);
  fit.mean_upper.assign(G, kNaN);
  if (options.bootstrap_samples == 0) return fit;

  Rng rng(options.bootstrap_seed);
  std::vector<double> slopes, median_slopes, upper_slopes;
  std::vector<std::vector<double>> point_means(G);
  std::vector<double> boot_log_mean(G), boot_median(G), resample;
  slopes.reserve(options.bootstrap_samples);
  for (int b = 0; b < options.bootstrap_samples; ++b) {
    bool valid = true;
    for (std::size_t g = 0; g < G; ++g) {
      const auto& v = kept[g];
      boost::random::uniform_int_distribution<std::size_t> pick(0, v.size() - 1);
      double sum = 0.0;
      resample.clear();
      for (std::size_t r = 0; r < v.size(); ++r) {
        resample.push_back(v[pick(rng)]);
        sum += resample.back();
      }
      const double m = sum / static_cast<double>(v.size());
      point_means[g].push_back(m);
      boot_median[g] = Median(resample);
      if (m > 0.0) boot_log_mean[g] = std::log(m);
      else valid = false;
    }
    if (valid) slopes.push_back(FitLine(log_n, boot_log_mean).slope);
    // The same resamples give the robust slopes' intervals.
    const double median_slope = MedianLine(log_n, boot_median, 0).slope;
    if (std::isfinite(median_slope)) median_slopes.push_back(median_slope);
    const double upper_slope = MedianLine(log_n, boot_median, G / 2).slope;
    if (std::isfinite(upper_slope)) upper_slopes.push_back(upper_slope);
  }
  const double alpha = 1.0 - options.confidence;
  std::sort(slopes.begin(), slopes.end());
  fit.ci_lower = SortedQuantile(slopes, alpha / 2.0);
  fit.ci_upper = SortedQuantile(slopes, 1.0 - alpha / 2.0);
  std::sort(median_slopes.begin(), median_slopes.end());
  std::sort(upper_slopes.begin(), upper_slopes.end());
  if (std::isfinite(fit.median.slope)) {
    fit.median_ci_lower = SortedQuantile(median_slopes, alpha / 2.0);
    fit.median_ci_upper = SortedQuantile(median_slopes, 1.0 - alpha / 2.0);
  }
  if (std::isfinite(fit.upper_median.slope)) {
    fit.upper_ci_lower = SortedQuantile(upper_slopes, alpha / 2.0);
    fit.upper_ci_upper = SortedQuantile(upper_slopes, 1.0 - alpha / 2.0);
  }
  for (std::size_t g = 0; g < G; ++g) {
    std::sort(point_means[g].begin(), point_means[g].end());
    fit.mean_lower[g] = SortedQuantile(point_means[g], alpha / 2.0);
    fit.mean_upper[g] = SortedQuantile(point_means[g], 1.0 - alpha / 2.0);
  }
  const int invalid = options.bootstrap_samples - static_cast<int>(slopes.size());
  if (invalid > 0) {
    fit.message += (fit.message.empty() ? "" : "; ") + std::to_string(invalid) +
                   " bootstrap resamples had a zero mean and were skipped";
  }
  return fit;
}

}  // namespace moelab
