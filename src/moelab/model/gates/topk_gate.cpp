#include "moelab/model/gates/topk_gate.hpp"

#include <vector>

#include "moelab/core/log_sum_exp.hpp"

namespace moelab {

GateFields TopKGate::fields() const {
  GateFields f;
  f.top_k = GateFields::TopK::kRequired;
  f.ranking = true;
  return f;
}

Matrix TopKGate::SelectedLogits(const GateParams& params,
                                const Eigen::Ref<const Matrix>& X) const {
  const Matrix logits = detail::AffineScores(params, X);
  const Matrix ranking_scores = params.ranking == TopKRanking::kSlopeOnly
                                    ? Matrix(X * params.slope.transpose())
                                    : logits;
  Matrix selected_logits = Matrix::Constant(logits.rows(), logits.cols(), kNegInf);
  std::vector<Index> selected;
  Vector row(logits.cols());
  for (Index n = 0; n < logits.rows(); ++n) {
    row = ranking_scores.row(n).transpose();
    TopKIndices(row, params.top_k, &selected);
    for (Index i : selected) selected_logits(n, i) = logits(n, i);
  }
  return selected_logits;
}

void TopKGate::AccumulateLogitGradient(const GateParams&, const Eigen::Ref<const Matrix>& X,
                                       const Matrix&, const Matrix& dlogits, bool,
                                       Eigen::Ref<Vector> gradient) const {
  // Selection frozen: dlogits is zero off the selected set, so the affine
  // contraction is the gradient of the restricted softmax.
  detail::AccumulateAffineGradient(X, dlogits, 1.0, gradient);
}

void TopKGate::BlockRanking(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                            const Eigen::Ref<const Matrix>& logits,
                            Eigen::Ref<Matrix> ranking) const {
  if (params.ranking == TopKRanking::kSlopeOnly) {
    ranking.noalias() = Xb.lazyProduct(params.slope.transpose());
  } else {
    ranking = logits;
  }
}

}  // namespace moelab
