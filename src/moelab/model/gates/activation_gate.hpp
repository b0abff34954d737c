// Activation dense-to-sparse gate ([Temp], reading chosen for moelab):
//   g_i(x) = softmax_i( act(beta1_i' x) / tau + beta0_i ),
// act in {tanh, sigmoid, identity}. The paper's placement of beta0 and tau
// was not found; this reading keeps the bias outside the activation and the
// division (docs/theory.md §2.2.4). With act = identity the gate is a temperature
// gate with the bias outside the division, and inherits its scale symmetry.
#pragma once

#include "moelab/model/gates/gate.hpp"

namespace moelab {

class ActivationGate final : public Gate {
 public:
  Matrix SelectedLogits(const GateParams& params,
                        const Eigen::Ref<const Matrix>& X) const override;
  void AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                               const Matrix& logits, const Matrix& dlogits,
                               bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

// act(z) and act'(z) applied entry-wise.
Matrix ApplyActivation(Activation activation, const Matrix& z);
Matrix ActivationDerivative(Activation activation, const Matrix& z);

}  // namespace moelab
