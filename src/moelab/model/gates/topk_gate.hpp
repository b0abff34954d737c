// Top-K sparse softmax gate ([TopK]; docs/theory.md §2.2.2):
//   g_i(x) = softmax over S_K(x) of (beta1_i' x + beta0_i),  0 outside S_K(x),
// where S_K(x) holds the K experts with the largest ranking score:
//   TopKRanking::kSlopeOnly  r_i = beta1_i' x          (paper; default)
//   TopKRanking::kFullLogit  r_i = beta1_i' x + beta0_i (practice).
// Ties are broken deterministically: the lower expert index wins. (With
// kSlopeOnly every score ties at x = 0, so a grid containing 0 selects the
// experts 0..K-1 there.)
#pragma once

#include <vector>

#include "moelab/model/gates/gate.hpp"

namespace moelab {

class TopKGate final : public Gate {
 public:
  Matrix SelectedLogits(const GateParams& params,
                        const Eigen::Ref<const Matrix>& X) const override;
  void AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                               const Matrix& logits, const Matrix& dlogits,
                               bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

// Indices of the K largest entries of `scores` (ties: lower index first),
// written to `selected[0..K)` in decreasing score order.
void TopKIndices(const Eigen::Ref<const Vector>& scores, int K, std::vector<Index>* selected);

}  // namespace moelab
