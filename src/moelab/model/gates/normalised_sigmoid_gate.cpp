#include "moelab/model/gates/normalised_sigmoid_gate.hpp"

#include <cmath>

#include "moelab/model/gates/detail/affine_logits.hpp"

namespace moelab {
namespace {

// log sigmoid(z) = -log(1 + e^{-z}), without overflow for either sign.
double LogSigmoid(double z) { return z >= 0.0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z)); }

// sigmoid(-z) = 1 / (1 + e^z): 0 for z -> inf, 1 for z -> -inf, never NaN.
double SigmoidOfMinus(double z) { return 1.0 / (1.0 + std::exp(z)); }

}  // namespace

GateFields NormalisedSigmoidGate::fields() const {
  GateFields f;
  f.top_k = GateFields::TopK::kOptional;
  return f;
}

GateAtoms NormalisedSigmoidGate::MixingAtoms(const GateParams& params, bool) const {
  GateAtoms atoms{params.bias.unaryExpr([](double b) { return LogSigmoid(b); }), params.slope,
                  std::nullopt};
  return atoms;
}

void NormalisedSigmoidGate::ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                                               GateParams* params) const {
  params->bias = bias;
  params->slope = slope;
}

void NormalisedSigmoidGate::BlockLogits(const GateParams& params,
                                        const Eigen::Ref<const Matrix>& Xb, bool with_derivative,
                                        Eigen::Ref<Matrix> value, Eigen::Ref<Matrix> derivative,
                                        Eigen::Ref<Matrix> logits) const {
  value.noalias() = Xb * params.slope.transpose();
  value.rowwise() += params.bias.transpose();
  logits = value.unaryExpr([](double z) { return LogSigmoid(z); });
  if (with_derivative) derivative = value.unaryExpr([](double z) { return SigmoidOfMinus(z); });
}

void NormalisedSigmoidGate::BlockRanking(const GateParams& params,
                                         const Eigen::Ref<const Matrix>& Xb,
                                         const Eigen::Ref<const Matrix>&,
                                         Eigen::Ref<Matrix> ranking) const {
  ranking.noalias() = Xb * params.slope.transpose();
  ranking.rowwise() += params.bias.transpose();
}

void NormalisedSigmoidGate::AccumulateBlockGradient(const GateParams&,
                                                    const Eigen::Ref<const Matrix>& Xb,
                                                    const Eigen::Ref<const Matrix>&,
                                                    const Eigen::Ref<const Matrix>& derivative,
                                                    const Eigen::Ref<const Matrix>& dlogits, bool,
                                                    Eigen::Ref<Vector> gradient) const {
  // ds/dbeta = sigmoid(-z) (1, x); no temperature.
  const Matrix dz = (dlogits.array() * derivative.array()).matrix();
  detail::AccumulateAffineGradient(Xb, dz, 1.0, gradient);
}

}  // namespace moelab
