// Softmax gate ([Demyst] eq. 1): g_i(x) = softmax_i(beta1_i' x + beta0_i).
#pragma once

#include "moelab/model/gates/gate.hpp"

namespace moelab {

class SoftmaxGate final : public Gate {
 public:
  Matrix SelectedLogits(const GateParams& params,
                        const Eigen::Ref<const Matrix>& X) const override;
  void AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                               const Matrix& logits, const Matrix& dlogits,
                               bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

}  // namespace moelab
