// What every estimator returns: the fit, why it stopped, and what happened on
// the way. Modelled on Ceres' Solver::Summary, returned by value.
//
// Every field means the same for EM, MLE (NLopt) and LSE (Ceres):
//   iterations   outer steps that produced a new iterate: EM iterations, NLopt
//                evaluations that improved the best point (one history entry
//                each), Ceres' successful steps;
//   evaluations  passes of the estimator's objective over the data: EM
//                E-steps (incl. the start's and the top-K backtracking ones;
//                not the gate M-step's inner passes), NLopt objective
//                evaluations, Ceres residual evaluations;
//   objective    the value the estimator minimises, lower is better: EM and
//                MLE the negative log-likelihood, LSE the residual sum of
//                squares;
//   variance_floor_hits  experts whose returned variance sits at the
//                estimator's variance floor (a repair the caller must see).
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "moelab/core/termination.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct FitResult {
  std::string estimator;          // "em", "mle-nlopt", "lse-ceres"
  MoeParams params;               // fitted parameters, gauge-normalised
  double log_likelihood = 0.0;    // observed log-likelihood of the data at params
  double objective = 0.0;         // minimised: EM/MLE -log-likelihood, LSE sum of squares
  int iterations = 0;             // outer steps that produced a new iterate
  int evaluations = 0;            // passes of the objective over the data
  TerminationType termination = TerminationType::kMaxIterations;
  std::string message;            // human-readable reason for stopping
  std::vector<IterationSummary> history;  // filled when the options ask for it

  // Repairs and anomalies, counted over all iterations (never silent):
  int variance_floor_hits = 0;    // experts whose returned variance is at the floor
  int empty_expert_events = 0;    // an expert had (almost) no responsibility mass
                                  // and kept its previous parameters
  int likelihood_decreases = 0;   // iterations whose log-likelihood fell by more
                                  // than round-off (top-K: at selection switches)
  int restarts = 1;               // starts tried (with restarts)
  int best_restart = 0;           // index of the start that was kept
  double seconds = 0.0;           // wall time of the whole fit
  // How the fit ended (EM and accelerated EM; NaN / 0 where the estimator
  // does not track them): |l_t - l_{t-1}| and the max-norm change of the
  // parameters at the last iteration, and the passes over the data made
  // (every E-step, variance pass, inner IRLS / L-BFGS gate evaluation,
  // accelerator map evaluation and polish evaluation).
  double last_change = std::numeric_limits<double>::quiet_NaN();
  double last_parameter_change = std::numeric_limits<double>::quiet_NaN();
  long long data_passes = 0;

  bool IsUsable() const { return moelab::IsUsable(termination); }
  // One line: estimator, termination, log-likelihood, iterations, time.
  std::string BriefReport() const;
  // Several lines: the brief report, the repairs and the fitted parameters.
  std::string FullReport() const;
};

// Experts of `params` whose variance is at `floor` (within 1e-9 relative: the
// MLE stores log variances, exp(log floor) rounds).
int CountVarianceFloorHits(const MoeParams& params, double floor);

}  // namespace moelab
