// Warnings about a fitted mixture of experts that a user needs before
// trusting its numbers. None of them changes the fit; they say what to
// distrust and why.
//
//   kNotConverged      the estimator stopped for another reason than its
//                      tolerance (iteration cap, stall, failure).
//   kQuasiSeparation   the gate between experts i and j switches so sharply
//                      that (almost) no data point lies in the transition: the
//                      data do not bound the gate slope, which an estimator
//                      can grow without limit while the likelihood barely
//                      moves (as in logistic regression under separation;
//                      Albert & Anderson 1984). Detected when the log-odds
//                      log g_i - log g_j swing by more than
//                      2 kTransitionLogOdds over the data while fewer than
//                      kMinTransitionPointsPerGateParameter (d + 1) = 2 (d + 1) points
//                      have |log g_i - log g_j| < kTransitionLogOdds (gate
//                      weights between 1 % and 99 % of the pair). The gate
//                      parameters of such a fit, and their standard errors,
//                      are not meaningful; EM still reports convergence
//                      because the likelihood has flattened.
//   kSpuriousComponent (k >= 2) an expert rests on fewer than
//                      kMinPointsPerExpertParameter (d + 2) = 2 (d + 2) effective points
//                      sum_n r_ni, or has a share below kSpuriousShare and a
//                      variance below kSpuriousVarianceRatio times the
//                      smallest variance of the other experts: the classic
//                      spurious maximiser (a few nearly collinear points with
//                      a tiny variance; McLachlan & Peel 2000 §3.10). Refit
//                      with FitOptions::min_prior (e.g. 0.05, flexmix's
//                      default) or fewer experts.
//   kVarianceFloor     an expert variance ended on the estimator's floor.
//   kEmptyExpert       an expert lost (almost) all responsibility during EM.
//   kLikelihoodDrop    the log-likelihood fell between iterations (top-K
//                      selection switches).
//   kMinPriorNotMet    every usable start had an expert share below
//                      FitOptions::min_prior; the best of them was kept.
#pragma once

#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/fit_result.hpp"

namespace moelab {

enum class FitWarningKind {
  kNotConverged,
  kQuasiSeparation,
  kSpuriousComponent,
  kVarianceFloor,
  kEmptyExpert,
  kLikelihoodDrop,
  kMinPriorNotMet,
};

// "not-converged", "quasi-separation", "spurious-component", "variance-floor",
// "empty-expert", "likelihood-drop", "min-prior-not-met".
const char* ToString(FitWarningKind kind);

struct FitWarning {
  FitWarningKind kind = FitWarningKind::kNotConverged;
  Index expert = -1;        // the expert concerned (0-based), -1 for the whole fit
  Index other_expert = -1;  // kQuasiSeparation: the other expert of the pair
  std::string message;      // one readable sentence with the numbers
};

// Gate weights between 1 % and 99 % of a pair: |log-odds| < log(99).
inline constexpr double kTransitionLogOdds = 4.59511985013459;  // log(99)
inline constexpr double kMinTransitionPointsPerGateParameter = 2.0;
inline constexpr double kMinPointsPerExpertParameter = 2.0;
inline constexpr double kSpuriousShare = 0.05;
inline constexpr double kSpuriousVarianceRatio = 0.01;

// The warnings above for `result` fitted to `data` (responsibilities are
// computed at result.params). Throws std::invalid_argument when data and
// parameters disagree.
std::vector<FitWarning> DiagnoseFit(const Dataset& data, const FitResult& result);

}  // namespace moelab
