#include "moelab/model/gates/topk_gate.hpp"

#include <algorithm>
#include <numeric>

#include "moelab/core/log_sum_exp.hpp"
#include "moelab/model/gates/detail/affine_logits.hpp"

namespace moelab {

void TopKIndices(const Eigen::Ref<const Vector>& scores, int K, std::vector<Index>* selected) {
  std::vector<Index>& order = *selected;
  order.resize(scores.size());
  std::iota(order.begin(), order.end(), Index{0});
  std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](Index a, Index b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  });
  order.resize(K);
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

}  // namespace moelab
