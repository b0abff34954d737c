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

namespace {

// z -> act(z) in place; derivative act'(z) into `derivative` when asked.
void ApplyActivationInPlace(Activation activation, Eigen::Ref<Matrix> z,
                            Eigen::Ref<Matrix> derivative, bool with_derivative) {
  switch (activation) {
    case Activation::kTanh:
      z = z.array().tanh().matrix();
      if (with_derivative) derivative = (1.0 - z.array().square()).matrix();
      break;
    case Activation::kSigmoid:
      z = (1.0 / (1.0 + (-z.array()).exp())).matrix();
      if (with_derivative) derivative = (z.array() * (1.0 - z.array())).matrix();
      break;
    case Activation::kIdentity:
      if (with_derivative) derivative.setOnes();
      break;
  }
}

}  // namespace

GateFields ActivationGate::fields() const {
  GateFields f;
  f.temperature = true;
  f.activation = true;
  return f;
}

GateGauge ActivationGate::Gauge(const GateParams& params) const {
  return params.activation == Activation::kIdentity ? GateGauge::kBiasAndSlope
                                                    : GateGauge::kBias;
}

GateAtoms ActivationGate::MixingAtoms(const GateParams& params, bool scale_ratio) const {
  GateAtoms atoms{params.bias, params.slope, std::nullopt};
  if (params.activation == Activation::kIdentity && scale_ratio) {
    atoms.gate_slope /= params.temperature;  // logit beta1/tau x + beta0
  } else {
    atoms.temperature = params.temperature;
  }
  return atoms;
}

std::string ActivationGate::LossFamily(const GateParams& params) const {
  return std::string("activation/") + ToString(params.activation);
}

void ActivationGate::ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                                        GateParams* params) const {
  params->bias = bias;
  params->slope = params->temperature * slope;
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

void ActivationGate::BlockLogits(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                                 bool with_derivative, Eigen::Ref<Matrix> value,
                                 Eigen::Ref<Matrix> derivative, Eigen::Ref<Matrix> logits) const {
  const Matrix W = params.slope.transpose();
  value.noalias() = Xb.lazyProduct(W);
  ApplyActivationInPlace(params.activation, value, derivative, with_derivative);
  // The gradient path multiplies by 1/tau, the plain path divides: the two
  // round differently in the last bit, and this keeps EM's numbers as they
  // were before the gate interface (objective vs E-step).
  if (with_derivative) {
    logits = value * (1.0 / params.temperature);
  } else {
    logits = value / params.temperature;
  }
  logits.rowwise() += params.bias.transpose();
}

void ActivationGate::AccumulateBlockGradient(const GateParams& params,
                                             const Eigen::Ref<const Matrix>& Xb,
                                             const Eigen::Ref<const Matrix>& value,
                                             const Eigen::Ref<const Matrix>& derivative,
                                             const Eigen::Ref<const Matrix>& dlogits,
                                             bool with_temperature,
                                             Eigen::Ref<Vector> gradient) const {
  const Index k = dlogits.cols(), d = Xb.cols(), p = d + 1;
  const double inv_tau = 1.0 / params.temperature;
  for (Index i = 0; i < k; ++i) {
    gradient[i * p] += dlogits.col(i).sum();
    gradient.segment(i * p + 1, d).noalias() +=
        inv_tau * Xb.transpose() * (dlogits.col(i).array() * derivative.col(i).array()).matrix();
    if (with_temperature) gradient[k * p] -= inv_tau * dlogits.col(i).dot(value.col(i));
  }
}

}  // namespace moelab
