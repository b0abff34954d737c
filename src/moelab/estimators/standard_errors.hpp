// Standard errors and confidence intervals of a fitted mixture of experts
// (what flexmix's refit() gives): from the observed information at the MLE
// (Wald), or from a parametric bootstrap.
//
// Parametrisation. The free parameters are those of MoeObjective
// (estimators/objective.hpp) in the reference-expert gauge: every expert's
// gate intercept and slopes relative to the last expert (whose gate entries
// are 0 and not estimated), log tau when the temperature is fitted, and per
// expert the intercept b_i, slopes a_i and the variance nu_i. Reported
// values are on the natural scale (variance, tau), with standard errors by
// the delta method (se(nu) = nu se(log nu)). Names: "gate[i].beta0",
// "gate[i].beta1[j]", "gate.tau", "expert[i].intercept", "expert[i].slope[j]",
// "expert[i].variance" (0-based i, j).
//
// Observed information I = -d^2 l / d theta^2 at the estimate, by central
// differences of the analytic score of MoeObjective (step
// relative_step * max(1, |theta_j|) per coordinate, then symmetrised): the
// score is exact, so the error is O(h^2) of its third derivatives. The
// covariance is I^{-1} (on the packed scale, then mapped by the Jacobian of
// the log transforms); Wald interval: estimate -/+ z_{(1+level)/2} se;
// z = estimate / se.
//
// When there is no standard error the report says why instead of printing
// a number (ParameterInference::reason, StandardErrorReport::reason):
//   - top-K gate: the likelihood is not differentiable in the gate
//     parameters where the selection switches (and is flat between
//     switches in what the selection alone decides); gate entries get no
//     standard error, the experts' are conditional on the fitted gate;
//   - temperature gate with fitted tau: (beta, tau) -> c (beta, tau) leaves
//     the density unchanged, so the information is exactly singular along
//     it; gate entries and tau get none, the experts' are conditional;
//   - one expert: the gate is identically 1 and has no parameters;
//   - quasi-separated gate (fit_diagnostics.hpp): the data do not bound the
//     gate slope; gate entries get none, the experts' are conditional;
//   - the information is not positive definite or numerically singular
//     (smallest / largest eigenvalue of the correlation-scaled information
//     below singular_tolerance): an over-fitted k (two experts with equal
//     parameters, an expert without data), or the estimate is not a local
//     maximum (fit not converged); no standard errors at all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/fit_moe.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct StandardErrorOptions {
  double level = 0.95;                // confidence level of the intervals; in (0, 1)
  double relative_step = 1e-5;        // central-difference step of the score; in (0, 0.1]
  double singular_tolerance = 1e-10;  // eigenvalue ratio below which I is singular; in [0, 1)
  bool fit_temperature = false;       // the estimate fitted tau (temperature/activation gates)

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

struct ParameterInference {
  std::string name;             // see the header comment
  double estimate = 0.0;        // natural scale (variance, tau)
  bool available = false;       // a standard error exists
  double standard_error = 0.0;  // NaN when not available
  double lower = 0.0;           // interval at `level` (NaN when not available)
  double upper = 0.0;
  double z = 0.0;               // estimate / standard_error (NaN when not available)
  std::string reason;           // why there is none, or a caveat ("conditional on the gate")
};

struct StandardErrorReport {
  std::string method;   // "observed-information" or "parametric-bootstrap"
  double level = 0.95;
  bool available = false;  // at least one parameter has a standard error
  std::string reason;      // why some or all standard errors are missing ("" if none)
  std::vector<ParameterInference> parameters;  // every free parameter, packed order
  Matrix covariance;  // natural scale, over all parameters (NaN rows/columns where
                      // unavailable); empty when nothing is available
};

// Names of the free parameters in MoeObjective's packed order.
std::vector<std::string> FreeParameterNames(const MoeParams& params, bool fit_temperature);

// Free parameters on the natural scale (variance, tau), gauge-normalised, in
// the order of FreeParameterNames.
Vector FreeParameterValues(const MoeParams& params, bool fit_temperature);

// -d^2 l / d theta^2 on MoeObjective's packed scale (log variances, log tau),
// by central differences of the analytic score (see the header comment).
// Throws std::invalid_argument on invalid data or parameters.
Matrix ObservedInformation(const Dataset& data, const MoeParams& params, bool fit_temperature,
                           double relative_step = 1e-5);

// Wald standard errors and intervals at `params` (meant to be a maximum
// likelihood estimate). Never throws for a singular or undefined
// information (the report says why); throws std::invalid_argument for
// invalid options, data or parameters.
StandardErrorReport ComputeStandardErrors(const Dataset& data, const MoeParams& params,
                                          const StandardErrorOptions& options);

struct BootstrapOptions {
  int replicates = 200;    // >= 2
  double level = 0.95;     // percentile intervals; in (0, 1)
  std::uint64_t seed = 1;  // replicate b draws from DeriveSeed(seed, b, 0)
  int num_threads = 1;     // replicates in parallel; results do not depend on it; >= 1

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

// Parametric bootstrap: draws y* from the fitted model at the observed x
// (SimulateAt), refits each replicate with FitMoe started at the estimate
// (options.initial_params = {fit.params()}, no drawn starts, so labels
// stay with their expert and no relabelling is needed), and reports the
// standard deviation of each free parameter over the usable refits as its
// standard error and the percentile interval at `level`. Unusable refits are
// left out and counted in `reason`. Throws std::invalid_argument for invalid
// options or an unusable fit.
StandardErrorReport BootstrapStandardErrors(const Dataset& data, const MoeFit& fit,
                                            const FitOptions& fit_options,
                                            const BootstrapOptions& options);

}  // namespace moelab
