// Vectorised per-block kernels shared by the EM E-step and the gate M-steps
// (private). Blocks are column-major (rows = samples, columns = experts), so
// every loop runs down a column and Eigen vectorises it.
#pragma once

#include "moelab/core/types.hpp"

namespace moelab::detail {

// In place: logits -> log-softmax over each row (log g), probs = g, lse = the
// row's log-sum-exp. Entries equal to -inf (experts not selected) stay -inf and
// get probability exactly 0 (ExpArray of vector_math.hpp returns an exact 0
// for -inf, so `has_neg_inf` is no longer needed here). Rows are assumed
// to hold at least one finite entry; otherwise the row turns NaN and the caller's
// finiteness check reports it.
void LogSoftmaxRows(Eigen::Ref<Matrix> logits, Eigen::Ref<Matrix> probs, Eigen::Ref<Vector> lse,
                    bool has_neg_inf);

// out += Z' diag(w) Z  (p x p; symmetric, so each entry is one dot product),
// using `scratch` (at least Z.rows() x 1).
void AddWeightedGram(const Eigen::Ref<const Matrix>& Z, const Eigen::Ref<const Vector>& w,
                     Eigen::Ref<Matrix> scratch, Eigen::Ref<Matrix> out);

// sum_n sum_i r_ni log g_ni with 0 log 0 := 0 (-inf only if r_ni > 0 where g_ni = 0).
double WeightedLogSum(const Eigen::Ref<const Matrix>& R, const Eigen::Ref<const Matrix>& log_g,
                      bool has_neg_inf);

}  // namespace moelab::detail
