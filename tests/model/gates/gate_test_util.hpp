// Helpers shared by the gate tests (header only; not a test binary source).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "moelab/core/log_sum_exp.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gates/topk_gate.hpp"
#include "support/test_util.hpp"

namespace moelab::testing {

// Responsibility-like weights: U[0.05, 1] on every selected expert (finite
// log weight), 0 elsewhere, then each row rescaled to a total in [0.5, 2].
// Rows deliberately do NOT sum to one: EM's expected counts do, but the
// gradient formula dQ/ds = r - R_n g must hold for any weights.
inline Matrix RandomResponsibilities(const Matrix& log_weights, Rng& rng) {
  Matrix R = Matrix::Zero(log_weights.rows(), log_weights.cols());
  for (Index n = 0; n < R.rows(); ++n) {
    for (Index i = 0; i < R.cols(); ++i) {
      if (log_weights(n, i) != kNegInf) R(n, i) = UniformReal(rng, 0.05, 1.0);
    }
    R.row(n) *= UniformReal(rng, 0.5, 2.0) / R.row(n).sum();
  }
  return R;
}

// Compares GateObjectiveGradient with central differences of GateObjective
// over the packed vector. Tolerance: the difference quotient with h = 1e-5
// has truncation error ~ h^2 |Q'''| ~ 1e-10 and round-off ~ 1e-16 |Q| / h
// ~ 1e-11 |Q| (|Q| < 100 here), so 1e-6 * max(1, |g|) leaves a wide margin
// while any missing factor (tau, act', R_n) is off by O(1).
inline ::testing::AssertionResult GradientMatchesFiniteDifferences(
    const GateParams& params, const Matrix& X, const Matrix& R, bool with_temperature) {
  const Vector analytic = GateObjectiveGradient(params, X, R, with_temperature);
  const auto objective = [&](const Vector& theta) {
    GateParams probe = params;
    UnpackGate(theta, with_temperature, &probe);
    return GateObjective(probe, X, R);
  };
  const Vector numeric =
      CentralDifferenceGradient(objective, PackGate(params, with_temperature));
  if (analytic.size() != numeric.size()) {
    return ::testing::AssertionFailure() << "gradient has size " << analytic.size()
                                         << ", packed vector " << numeric.size();
  }
  for (Index j = 0; j < analytic.size(); ++j) {
    const double tolerance = 1e-6 * std::max(1.0, std::abs(numeric[j]));
    if (!(std::abs(analytic[j] - numeric[j]) <= tolerance)) {
      return ::testing::AssertionFailure()
             << "entry " << j << ": analytic " << analytic[j] << ", central difference "
             << numeric[j];
    }
  }
  return ::testing::AssertionSuccess();
}

// Rows of X whose K-th and (K+1)-th ranking scores differ by more than
// `margin`, so that a finite-difference step (|dtheta| <= 1e-5 max(1,|theta|))
// cannot change the top-K selection.
inline Matrix RowsAwayFromRankingTies(const GateParams& gate, const Matrix& X, double margin) {
  Matrix scores = X * gate.slope.transpose();
  if (gate.ranking == TopKRanking::kFullLogit) scores.rowwise() += gate.bias.transpose();
  std::vector<Index> keep;
  for (Index n = 0; n < X.rows(); ++n) {
    std::vector<double> s;
    for (Index i = 0; i < scores.cols(); ++i) s.push_back(scores(n, i));
    std::sort(s.begin(), s.end(), std::greater<double>());
    if (gate.top_k >= static_cast<int>(s.size()) || s[gate.top_k - 1] - s[gate.top_k] > margin) {
      keep.push_back(n);
    }
  }
  Matrix out(static_cast<Index>(keep.size()), X.cols());
  for (std::size_t j = 0; j < keep.size(); ++j) out.row(static_cast<Index>(j)) = X.row(keep[j]);
  return out;
}

}  // namespace moelab::testing
