#include "moelab/model/gates/detail/affine_logits.hpp"

namespace moelab::detail {

Matrix AffineScores(const GateParams& params, const Eigen::Ref<const Matrix>& X) {
  Matrix scores = X * params.slope.transpose();
  scores.rowwise() += params.bias.transpose();
  return scores;
}

void AccumulateAffineGradient(const Eigen::Ref<const Matrix>& X, const Matrix& dlogits,
                              double scale, Eigen::Ref<Vector> gradient) {
  const Index k = dlogits.cols(), d = X.cols();
  const Matrix slope_gradient = dlogits.transpose() * X;  // k x d
  const Vector bias_gradient = dlogits.colwise().sum().transpose();
  for (Index i = 0; i < k; ++i) {
    gradient[i * (d + 1)] += scale * bias_gradient[i];
    gradient.segment(i * (d + 1) + 1, d) += scale * slope_gradient.row(i).transpose();
  }
}

}  // namespace moelab::detail
