// Shared helpers of the gates whose logit is affine in (beta0, beta1):
// s_i = (beta1_i' x + beta0_i) * scale. Not part of the public API.
#pragma once

#include "moelab/core/types.hpp"
#include "moelab/model/gate_params.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab::detail {

// X * beta1' + 1 beta0'   (n x k)
Matrix AffineScores(const GateParams& params, const Eigen::Ref<const Matrix>& X);

// Adds scale * sum_n dlogits(n,i) * (1, x_n) to expert i's packed block.
void AccumulateAffineGradient(const Eigen::Ref<const Matrix>& X,
                              const Eigen::Ref<const Matrix>& dlogits, double scale,
                              Eigen::Ref<Vector> gradient);

// An affine gate's whole description but the logits' scale and selection.
class AffineGate : public Gate {
 public:
  GateGauge Gauge(const GateParams&) const override { return GateGauge::kBiasAndSlope; }
  std::string LossFamily(const GateParams&) const override { return "softmax"; }
  void ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                          GateParams* params) const override;
  // logits = scale * (Xb beta1' + beta0); `value` keeps the unscaled scores.
  void BlockLogits(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                   bool with_derivative, Eigen::Ref<Matrix> value,
                   Eigen::Ref<Matrix> derivative, Eigen::Ref<Matrix> logits) const override;
  void AccumulateBlockGradient(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                               const Eigen::Ref<const Matrix>& value,
                               const Eigen::Ref<const Matrix>& derivative,
                               const Eigen::Ref<const Matrix>& dlogits, bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

}  // namespace moelab::detail
