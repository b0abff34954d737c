// Exact expected dual objective for the Gumbel-perturbed pool stream
// (G2 of docs/theory.md §7.5): K = 1, logit scores, a pool of M covariate types drawn
// uniformly, and scores s_tj = mu_mj + tau G_tj with G i.i.d. Gumbel(0, 1).
// Since argmax_j (mu_j + tau G_j - p_j) is a draw from softmax((mu - p)/tau)
// and E max_j (mu_j + tau G_j - p_j) = tau (logsumexp((mu - p)/tau) + gamma),
//
//   F(p)    = B (1/M) sum_m tau [logsumexp((mu_m - p)/tau) + gamma] + L sum_j p_j,  L = B/E
//   dF/dp   = L 1 - B (1/M) sum_m q_m,        q_m = softmax((mu_m - p)/tau)
//   d2F/dp2 = (B / tau) (1/M) sum_m (diag(q_m) - q_m q_m')
//
// F is smooth and convex, flat along 1, and restricted-strongly convex on
// 1-perp with modulus mu_sc = lambda_2(Hessian at p*) (docs/theory.md §7.5). p* is
// found by Newton's method on 1-perp (Hessian + 11'/E, centred after each
// step) to a gradient norm below 1e-10 B: exact to round-off, so the
// regret computed against it has no comparator bias.
#pragma once

#include "moelab/core/types.hpp"

namespace moelab {

class GumbelPoolObjective {
 public:
  // pool_logits: M x E logits mu; tau > 0; batch_size B >= 1. Throws
  // std::invalid_argument on bad sizes or values.
  GumbelPoolObjective(const Eigen::Ref<const Matrix>& pool_logits, double tau, Index batch_size);

  double Value(const Eigen::Ref<const Vector>& p) const;
  Vector Gradient(const Eigen::Ref<const Vector>& p) const;
  Matrix Hessian(const Eigen::Ref<const Vector>& p) const;

  // Newton on 1-perp from p = 0. Returns the centred minimiser.
  Vector Minimise(int max_iterations = 100) const;
  // lambda_2 of the Hessian (smallest eigenvalue on 1-perp) at p.
  double RestrictedStrongConvexity(const Eigen::Ref<const Vector>& p) const;

  Index num_experts() const { return mu_.cols(); }

 private:
  Matrix mu_;
  double tau_;
  Index batch_size_;
};

}  // namespace moelab
