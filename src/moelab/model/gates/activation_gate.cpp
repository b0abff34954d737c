#include "moelab/model/gates/activation_gate.hpp"

namespace moelab {

Matrix ApplyActivation(Activation activation, const Matrix& z) {
  switch (activation) {
    case Activation::kTanh: return z.array().tanh().matrix();
    case Activation::kSigmoid: return (1.0 / (1.0 + (-z.array()).exp())).matrix();
    case Activation::kIdentity: return z;
  }
  return z;
}

Matrix ActivationDerivative(Activation activation, const Matrix& z) {
  switch (activation) {
    case Activation::kTanh: return (1.0 - z.array().tanh().square()).matrix();
    case Activation::kSigmoid: {
      const Eigen::ArrayXXd s = 1.0 / (1.0 + (-z.array()).exp());
      return (s * (1.0 - s)).matrix();
    }
    case Activation::kIdentity: return Matrix::Ones(z.rows(), z.cols());
  }
  return Matrix::Ones(z.rows(), z.cols());
}

Matrix ActivationGate::SelectedLogits(const GateParams& params,
                                      const Eigen::Ref<const Matrix>& X) const {
  Matrix logits = ApplyActivation(params.activation, X * params.slope.transpose()) /
                  params.temperature;
  logits.rowwise() += params.bias.transpose();
  return logits;
}

void ActivationGate::AccumulateLogitGradient(const GateParams& params,
                                             const Eigen::Ref<const Matrix>& X,
                                             const Matrix&, const Matrix& dlogits,
                                             bool with_temperature,
                                             Eigen::Ref<Vector> gradient) const {
  const Index k = dlogits.cols(), d = X.cols();
  const Matrix z = X * params.slope.transpose();
  const Matrix weighted =
      (dlogits.array() * ActivationDerivative(params.activation, z).array()).matrix() /
      params.temperature;
  const Matrix slope_gradient = weighted.transpose() * X;  // k x d
  const Vector bias_gradient = dlogits.colwise().sum().transpose();
  for (Index i = 0; i < k; ++i) {
    gradient[i * (d + 1)] += bias_gradient[i];
    gradient.segment(i * (d + 1) + 1, d) += slope_gradient.row(i).transpose();
  }
  if (with_temperature) {
    // s = act(z)/tau + beta0  =>  ds / dlog(tau) = -act(z)/tau.
    gradient[gradient.size() - 1] -=
        (dlogits.array() * ApplyActivation(params.activation, z).array()).sum() /
        params.temperature;
  }
}

}  // namespace moelab
