// Softmax gate ([Demyst] eq. 1): g_i(x) = softmax_i(beta1_i' x + beta0_i).
// Affine logits (scale 1), every expert selected, gauge: a common
// translation of (beta0, beta1).
#pragma once

#include "moelab/model/gates/detail/affine_logits.hpp"

namespace moelab {

class SoftmaxGate final : public detail::AffineGate {
 public:
  const char* name() const override { return "softmax"; }
  std::optional<double> AffineScale(const GateParams&) const override { return 1.0; }
  std::string TheoryKey() const override { return "softmax"; }
  Matrix SelectedLogits(const GateParams& params,
                        const Eigen::Ref<const Matrix>& X) const override;
  void AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                               const Matrix& logits, const Matrix& dlogits,
                               bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

}  // namespace moelab
