// Top-K sparse softmax gate ([TopK]; docs/theory.md §2.2.2):
//   g_i(x) = softmax over S_K(x) of (beta1_i' x + beta0_i),  0 outside S_K(x),
// where S_K(x) holds the K experts with the largest ranking score:
//   TopKRanking::kSlopeOnly  r_i = beta1_i' x          (paper; default)
//   TopKRanking::kFullLogit  r_i = beta1_i' x + beta0_i (practice).
// Ties are broken deterministically: the lower expert index wins. (With
// kSlopeOnly every score ties at x = 0, so a grid containing 0 selects the
// experts 0..K-1 there.) Affine logits (scale 1); its measures compare with
// the softmax gate's.
#pragma once

#include "moelab/model/gates/detail/affine_logits.hpp"

namespace moelab {

class TopKGate final : public detail::AffineGate {
 public:
  const char* name() const override { return "topk"; }
  GateFields fields() const override;
  int SparseK(const GateParams& params) const override { return params.top_k; }
  std::optional<double> AffineScale(const GateParams&) const override { return 1.0; }
  std::string TheoryKey() const override { return "topk"; }
  Matrix SelectedLogits(const GateParams& params,
                        const Eigen::Ref<const Matrix>& X) const override;
  void AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                               const Matrix& logits, const Matrix& dlogits,
                               bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
  void BlockRanking(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                    const Eigen::Ref<const Matrix>& logits,
                    Eigen::Ref<Matrix> ranking) const override;
};

}  // namespace moelab
