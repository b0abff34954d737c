// Distances between the conditional densities of two MoE models
// (docs/theory.md §3.6; the rates: §4.1):
//
//   Hellinger  h(x) = sqrt( 1/2 int (sqrt p(y|x) - sqrt q(y|x))^2 dy )
//   TV         V(x) = 1/2 int |p(y|x) - q(y|x)| dy
//
// and their expectations E_X h(X), E_X V(X) under the covariate design (the
// quantity of the density theorems: E h, not sqrt(E h^2)).
//
// y-integral. Adaptive Gauss-Kronrod (Boost.Math's 15-point rule, driven
// globally: the piece with the largest error estimate is bisected until the
// total error is below max(y_absolute_tolerance, y_relative_tolerance * value)
// or y_max_intervals pieces exist). The range is
// [min mean - R sd_max, max mean + R sd_max] with R = y_range_sds = 10
// (the mass outside is below 1e-23), pre-split at every component's mean and
// mean +- 3, 6, 10 sd for both models, so narrow, well-separated components
// and their tails are never stepped over by a wide piece (Gauss-Hermite would
// be, docs/theory.md §3.6). Densities are evaluated in log
// space (log-sum-exp over the selected components) and sqrt(p) =
// exp(log p / 2). Hellinger integrates (sqrt p - sqrt q)^2 directly rather
// than 1 - int sqrt(p q): near the truth h^2 ~ 1e-6 and 1 - BC would lose six
// digits to cancellation, whereas the direct integrand is non-negative and
// keeps its relative accuracy. Results are clamped to [0, 1] (quadrature
// round-off only).
//
// x-integral.
//   kMonteCarlo (default): batches of `batch_x` covariates drawn from the
//     design with the caller's Rng until the Monte Carlo standard error
//     sd(h(X_i)) / sqrt(m) is at most max(target_absolute_error,
//     target_relative_error * estimate), with min_x <= m <= max_x. The
//     stopping rule depends only on the draws, so a seed gives one answer.
//     A kGrid design is integrated as Uniform[lower, upper], the law its
//     points fill as n grows.
//   kMidpointGrid (d = 1 only): the midpoints of `grid_points`
//     equal-probability bins of the design (the quantile function for the
//     normal design). Deterministic; `standard_error` then holds the error
//     estimate |M_m - M_{m/3}| / 8 of the midpoint rule (whose error falls
//     by 9 when the bins shrink by 3; the coarse rule reuses every third
//     point), not a sampling error.
//
// Rate-study default. Over a study E_X h falls like n^-1/2 (about 3e-3 at
// n = 1e5 for the presets); a fixed number of x-points would have to be
// chosen for the smallest distance. A relative target does not: the default
// target_relative_error = 0.05 keeps the Monte Carlo error at or below 1/20 of
// the distance at every n, in particular below 1/10 of it at the largest n.
// Timings: metrics/README.md.
#pragma once

#include <string>

#include "moelab/core/rng.hpp"
#include "moelab/model/moe_params.hpp"
#include "moelab/simulation/design.hpp"

namespace moelab {

enum class DensityDistanceKind { kHellinger, kTotalVariation };
enum class XIntegration { kMonteCarlo, kMidpointGrid };

const char* ToString(DensityDistanceKind kind);
const char* ToString(XIntegration method);

struct DensityDistanceOptions {
  XIntegration x_integration = XIntegration::kMonteCarlo;
  // Monte Carlo stopping: SE <= max(target_absolute_error,
  // target_relative_error * estimate). Both 0: always use max_x points.
  double target_relative_error = 0.05;
  double target_absolute_error = 0.0;
  Index min_x = 256;     // first batch (>= 2)
  Index max_x = 65536;   // cap; the result says whether the target was met
  Index batch_x = 256;   // further draws per step (>= 1)
  // kMidpointGrid: number of points, a multiple of 3 (>= 3).
  Index grid_points = 999;
  // y quadrature.
  double y_relative_tolerance = 1e-8;
  double y_absolute_tolerance = 1e-14;
  double y_range_sds = 10.0;      // half-width beyond the extreme means, in sd_max
  Index y_max_intervals = 400;    // pieces per x before giving up (reported)

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

struct DensityDistance {
  double value = 0.0;           // estimate of E_X h (or E_X V)
  double standard_error = 0.0;  // Monte Carlo SE (grid: midpoint error estimate)
  Index num_x = 0;              // covariate points used
  bool deterministic = false;   // kMidpointGrid
  bool target_met = true;       // Monte Carlo target reached within max_x
  Index y_unconverged = 0;      // x-points whose y-integral hit y_max_intervals

  // "E_X h = 0.00312 +- 0.00011 (MC, 2048 x)"
  std::string BriefReport() const;
};

// h(x_n) or V(x_n) for every row of X. Throws std::invalid_argument for
// invalid parameters, mismatched dimensions or non-finite X.
Vector ConditionalDensityDistance(DensityDistanceKind kind, const MoeParams& p,
                                  const MoeParams& q, const Eigen::Ref<const Matrix>& X,
                                  const DensityDistanceOptions& options = {});

// E_X of the distance under `design` (see the header comment). `rng` is used
// only by kMonteCarlo.
DensityDistance ExpectedDensityDistance(DensityDistanceKind kind, const MoeParams& p,
                                        const MoeParams& q, const CovariateDesign& design,
                                        const DensityDistanceOptions& options, Rng& rng);

inline DensityDistance ExpectedHellinger(const MoeParams& p, const MoeParams& q,
                                         const CovariateDesign& design,
                                         const DensityDistanceOptions& options, Rng& rng) {
  return ExpectedDensityDistance(DensityDistanceKind::kHellinger, p, q, design, options, rng);
}

inline DensityDistance ExpectedTotalVariation(const MoeParams& p, const MoeParams& q,
                                              const CovariateDesign& design,
                                              const DensityDistanceOptions& options, Rng& rng) {
  return ExpectedDensityDistance(DensityDistanceKind::kTotalVariation, p, q, design, options,
                                 rng);
}

}  // namespace moelab
