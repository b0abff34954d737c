#include "moelab/model/gates/detail/affine_logits.hpp"

namespace moelab::detail {

Matrix AffineScores(const GateParams& params, const Eigen::Ref<const Matrix>& X) {
  Matrix scores = X * params.slope.transpose();
  scores.rowwise() += params.bias.transpose();
  return scores;
}

void AccumulateAffineGradient(const Eigen::Ref<const Matrix>& X,
                              const Eigen::Ref<const Matrix>& dlogits, double scale,
                              Eigen::Ref<Vector> gradient) {
  const Index k = dlogits.cols(), d = X.cols();
  const Matrix slope_gradient = dlogits.transpose() * X;  // k x d
  const Vector bias_gradient = dlogits.colwise().sum().transpose();
  for (Index i = 0; i < k; ++i) {
    gradient[i * (d + 1)] += scale * bias_gradient[i];
    gradient.segment(i * (d + 1) + 1, d) += scale * slope_gradient.row(i).transpose();
  }
}

void AffineGate::ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                                    GateParams* params) const {
  // Exact: logits scale * beta' z equal the softmax logits for beta = w / scale.
  const double inverse = 1.0 / *AffineScale(*params);
  params->bias = inverse * bias;
  params->slope = inverse * slope;
}

void AffineGate::BlockLogits(const GateParams& params, const Eigen::Ref<const Matrix>& Xb, bool,
                             Eigen::Ref<Matrix> value, Eigen::Ref<Matrix>,
                             Eigen::Ref<Matrix> logits) const {
  value.noalias() = Xb * params.slope.transpose();
  value.rowwise() += params.bias.transpose();
  logits = *AffineScale(params) * value;
}

void AffineGate::AccumulateBlockGradient(const GateParams& params,
                                         const Eigen::Ref<const Matrix>& Xb,
                                         const Eigen::Ref<const Matrix>& value,
                                         const Eigen::Ref<const Matrix>&,
                                         const Eigen::Ref<const Matrix>& dlogits,
                                         bool with_temperature,
                                         Eigen::Ref<Vector> gradient) const {
  const double scale = *AffineScale(params);
  AccumulateAffineGradient(Xb, dlogits, scale, gradient);
  if (with_temperature && fields().temperature) {
    // Affine gates with a temperature have scale 1/tau: ds / dlog(tau) = -s.
    gradient[gradient.size() - 1] -= scale * (dlogits.array() * value.array()).sum();
  }
}

}  // namespace moelab::detail
