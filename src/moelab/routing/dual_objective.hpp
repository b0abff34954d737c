// The Lagrangian dual of the balanced-assignment problem (docs/theory.md §7.2).
//
// For one batch of B tokens with scores s (B x E), K experts per token and
// perfect load L = K B / E, dualising the expert constraints with prices p
// gives
//   D(p) = sum_t topKsum(s_t - p) + L sum_j p_j ,
// convex and piecewise linear; its per-token maximiser is top-K routing of
// s - p (routers.hpp), and L - c(p) is a subgradient (c(p) the loads of that
// routing). Because E L = K B, D(p + a 1) = D(p): only centred prices are
// identifiable. The online loss of step t is f_t(p) = D_{batch t}(p).
//
// The expected per-step objective F(p) = E[f(p; batch)] is estimated from a
// sample S of N tokens by F_S(p) = (B / N) D_S(p) (exact when the stream
// draws from a finite pool equal to S; see regret.hpp).
#pragma once

#include "moelab/core/types.hpp"

namespace moelab {

// Sum of the K largest entries of v.
double TopKSum(const Eigen::Ref<const Vector>& v, int K);

// D(p) for the batch `scores`; throws std::invalid_argument on size mismatch
// or K outside [1, E].
double DualObjective(const Eigen::Ref<const Matrix>& scores, const Eigen::Ref<const Vector>& p,
                     int K);

// L - c(p): a subgradient of D at p (top-K routing of s - p, ties to the
// lower index).
Vector DualSubgradient(const Eigen::Ref<const Matrix>& scores, const Eigen::Ref<const Vector>& p,
                       int K);

// F_S(p) = (batch_size / N) D_S(p) for a sample S of N tokens.
double ExpectedDual(const Eigen::Ref<const Matrix>& sample_scores,
                    const Eigen::Ref<const Vector>& p, int K, Index batch_size);

// p - mean(p): the representative of p's class under p -> p + a 1.
Vector CentreBias(const Eigen::Ref<const Vector>& p);

}  // namespace moelab
