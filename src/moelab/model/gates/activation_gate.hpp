// Activation dense-to-sparse gate ([Temp], reading chosen for moelab):
//   g_i(x) = softmax_i( act(beta1_i' x) / tau + beta0_i ),
// act in {tanh, sigmoid, identity}. The source does not fix where beta0 and tau
// sit; this reading keeps the bias outside the activation and the division
// (moelab's choice, docs/theory.md §2.2.4). With act = identity the gate is a temperature gate
// with the bias outside the division, and inherits its scale symmetry
// (beta1, tau) -> c (beta1, tau) and its slope translation. A non-linear act
// is invariant under bias translation only, and tau is an atom coordinate of
// its mixing measure. Logits are not affine: EM fits it by L-BFGS.
#pragma once

#include "moelab/model/gates/gate.hpp"

namespace moelab {

class ActivationGate final : public Gate {
 public:
  const char* name() const override { return "activation"; }
  GateFields fields() const override;
  GateGauge Gauge(const GateParams& params) const override;
  bool HasScaleSymmetry(const GateParams& params) const override {
    return params.activation == Activation::kIdentity;
  }
  GateAtoms MixingAtoms(const GateParams& params, bool scale_ratio) const override;
  std::string LossFamily(const GateParams& params) const override;
  std::string TheoryKey() const override { return "activation"; }
  // bias = w0, slope = tau w1: exact for identity, first order at 0 for tanh.
  void ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                          GateParams* params) const override;
  Matrix SelectedLogits(const GateParams& params,
                        const Eigen::Ref<const Matrix>& X) const override;
  void AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                               const Matrix& logits, const Matrix& dlogits,
                               bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
  // value = act(beta1' x), derivative = act'(beta1' x).
  void BlockLogits(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                   bool with_derivative, Eigen::Ref<Matrix> value,
                   Eigen::Ref<Matrix> derivative, Eigen::Ref<Matrix> logits) const override;
  void AccumulateBlockGradient(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                               const Eigen::Ref<const Matrix>& value,
                               const Eigen::Ref<const Matrix>& derivative,
                               const Eigen::Ref<const Matrix>& dlogits, bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

// act(z) and act'(z) applied entry-wise.
Matrix ApplyActivation(Activation activation, const Matrix& z);
Matrix ActivationDerivative(Activation activation, const Matrix& z);

}  // namespace moelab
