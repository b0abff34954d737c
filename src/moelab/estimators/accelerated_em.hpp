// EM accelerated by SQUAREM (Varadhan and Roland 2008, Scand. J. Statist.
// 35:335-353, scheme S3 with the step-length control of their SQUAREM
// package), with a monotonicity safeguard.
//
// The EM iteration is used as a map F on the packed, gauge-fixed parameter
// vector theta of MoeObjective (gate free entries, [log tau], per expert
// (b, a, log nu)). One cycle from theta0:
//
//   theta1 = F(theta0), theta2 = F(theta1),  r = theta1 - theta0,
//   v = theta2 - 2 theta1 + theta0,          alpha = -|r| / |v| clamped to
//   [-step_max, -1],
//   theta' = theta0 - 2 alpha r + alpha^2 v  (alpha = -1 gives theta2),
//   log nu_i in theta' raised to log(variance_floor) (projection),
//   candidate = F(theta')                    (the stabilising EM step).
//
// Safeguard: the candidate is accepted only when its log-likelihood is at
// least that of theta2 (up to round-off), so every cycle does at least as
// well as two plain EM steps and the sequence of log-likelihoods is monotone;
// otherwise the cycle ends at theta2 and step_max shrinks by 4 (an accepted
// step at alpha = -step_max grows it by 4, as in the SQUAREM package).
// A non-finite or invalid extrapolation counts as a rejection.
//
// Costs: a cycle makes 3 EM-map evaluations (2 when there is nothing to
// extrapolate) plus one E-step at theta'. FitResult::iterations counts EM-map
// evaluations, so it compares directly with FitEm's iterations; data_passes
// counts every pass over the data (E-steps, variance passes, inner IRLS and
// L-BFGS gate evaluations).
//
// A cycle with a single map evaluation left in the budget is one plain EM
// step, and one with two left skips its extrapolation, so iterations never
// exceed em.max_iterations (max_iterations = 1 is one EM step).
//
// Stopping is judged on the change over one cycle (at least as large as the
// change of one EM step): options.em's absolute_tolerance, relative_tolerance
// and parameter_tolerance, its max_iterations as the cap on EM-map
// evaluations, and max_seconds as a time budget (both budgets end the fit
// with kMaxIterations and say which one in the message).
#pragma once

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct AcceleratedEmOptions {
  EmOptions em;              // the EM map and the stopping rules (see above);
                             // its history/callback see one entry per cycle
  double max_seconds = 0.0;  // time budget; 0 = none; >= 0
  double step_max_growth = 4.0;  // step_max multiplier after an accepted maximal
                                 // step (and divisor after a rejection); > 1

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

// Fits by SQUAREM-accelerated EM from `init`. Throws std::invalid_argument
// for bad options or input exactly as FitEm does. FitResult: estimator
// "em-squarem", gauge-normalised params, the observed log-likelihood at them,
// last_change / last_parameter_change over the last cycle, data_passes.
FitResult FitAcceleratedEm(const Dataset& data, const MoeParams& init,
                           const AcceleratedEmOptions& options);

}  // namespace moelab
