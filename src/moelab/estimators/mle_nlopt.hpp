// Direct maximum likelihood through NLopt.
//
// Minimises the negative observed log-likelihood -l(theta) of MoeObjective
// (packed, gauge-fixed parameters, log variances, analytic gradient) with a
// local NLopt algorithm, L-BFGS by default. The variance floor is a lower
// bound log(nu_i) >= log(variance_floor), which every NLopt local algorithm
// we accept handles natively.
//
// What an "iteration" is: NLopt exposes only objective evaluations, so
// `evaluations` counts them (max_evaluations caps them) and `iterations` the
// evaluations that improved the best point (fit_result.hpp). The history and
// the callback see every evaluation that improves on the best value so far
// (the accepted iterates, monotone in log-likelihood); `parameter_change` is
// the max-norm change of the packed vector since the previous improvement.
//
// Termination (NLopt result or exception -> TerminationType):
//   SUCCESS, STOPVAL/FTOL/XTOL_REACHED            -> kConverged
//   MAXEVAL_REACHED, MAXTIME_REACHED              -> kMaxIterations
//   nlopt::roundoff_limited                       -> kStalled
//   std::runtime_error (NLOPT_FAILURE)            -> kStalled: Luksan's L-BFGS
//       reports a line search that finds no decrease near the optimum as a
//       generic failure (stevengj/nlopt#115), i.e. round-off limited
//   nlopt::forced_stop after the callback's kStop -> kUserStopped
//   a non-finite objective at a trial point       -> kNumericalFailure
//   std::invalid_argument from NLopt              -> kInvalidInput
// In every case the parameters are the best finite iterate evaluated (the
// start, if nothing better was seen), gauge-normalised; the NLopt message
// and the gradient max-norm at the returned point go to FitResult.message, so
// a stall far from a stationary point is visible. A non-finite log-likelihood at the start is
// reported as kNumericalFailure without calling NLopt.
//
// Non-finite trial points: L-BFGS line searches can overshoot into regions
// where logits or residuals overflow. Rather than feed +inf into NLopt's
// interpolation (which may produce NaN steps), the objective forces a stop and
// the fit returns the last finite best iterate with kNumericalFailure.
#pragma once

#include <string>

#include "moelab/core/dataset.hpp"
#include "moelab/core/termination.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/estimators/variance_floor.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct MleNloptOptions {
  // NLopt algorithm name without the "NLOPT_" prefix. Local algorithms only
  // ("LD_..." gradient-based, "LN_..." derivative-free) that accept bound
  // constraints: LD_LBFGS, LD_MMA, LD_CCSAQ, LD_SLSQP, LD_TNEWTON(_PRECOND)
  // (_RESTART), LD_VAR1, LD_VAR2, LN_BOBYQA, LN_COBYLA, LN_NELDERMEAD,
  // LN_SBPLX, LN_NEWUOA_BOUND. L-BFGS is the default: the objective is
  // smooth (except top-K selection switches) with a cheap exact gradient.
  std::string algorithm = "LD_LBFGS";
  int max_evaluations = 10000;         // >= 1; cap on objective evaluations
  double relative_tolerance = 1e-12;   // NLopt ftol_rel on -l (>= 0; 0 = off)
  double parameter_tolerance = 1e-10;  // NLopt xtol_rel on the packed vector (>= 0; 0 = off)
  double variance_floor = kDefaultVarianceFloor;  // in (0, 1); every expert variance
                                       // >= variance_floor * Var(y) (variance_floor.hpp)
  bool fit_temperature = false;        // temperature/activation gates: also fit log tau
  bool record_history = false;         // keep an IterationSummary per improvement
  IterationCallback callback;          // sees each improvement; kStop ends the fit

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

// Fits by direct MLE from `init`, on standardised data like FitEm (scale-
// equivariant; detail/fit_input.hpp). Throws std::invalid_argument for bad
// data (NaN/Inf, mismatched sizes, constant y), an invalid `init`, d mismatch, fewer
// observations than free parameters, or bad options. Numerical trouble is
// reported in the result (see the table above), never thrown.
// FitResult: estimator "mle-nlopt"; params gauge-normalised; log_likelihood
// the observed log-likelihood at params; objective = -log_likelihood;
// variance_floor_hits = number of experts whose variance ends on the floor
// (starting variances below it are raised to it and count only if they stay).
FitResult FitMleNlopt(const Dataset& data, const MoeParams& init,
                      const MleNloptOptions& options);

}  // namespace moelab
