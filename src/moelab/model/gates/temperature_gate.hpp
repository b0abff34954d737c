// Dense-to-sparse temperature gate ([Temp]; docs/theory.md §2.2.3):
//   g_i(x) = softmax_i((beta1_i' x + beta0_i) / tau),  one shared tau > 0.
// The bias sits inside the division (not verified in the paper; moelab's
// choice, docs/theory.md §2.2.3).
// tau -> 0 tends to the hard argmax of the affine scores, tau -> inf to the
// uniform gate. Exact scale symmetry: (beta0, beta1, tau) -> c (beta0, beta1,
// tau) leaves g unchanged, so tau is not identifiable jointly with beta;
// estimators keep tau fixed unless told otherwise (see EmOptions). Affine
// logits with scale 1/tau.
#pragma once

#include "moelab/model/gates/detail/affine_logits.hpp"

namespace moelab {

class TemperatureGate final : public detail::AffineGate {
 public:
  const char* name() const override { return "temperature"; }
  GateFields fields() const override;
  bool HasScaleSymmetry(const GateParams&) const override { return true; }
  std::optional<double> AffineScale(const GateParams& params) const override {
    return 1.0 / params.temperature;
  }
  // Weight exp(beta0/tau) either way; the gate coordinate beta1/tau (ratio)
  // or beta1 with tau as a coordinate (raw).
  GateAtoms MixingAtoms(const GateParams& params, bool scale_ratio) const override;
  std::string LossFamily(const GateParams&) const override { return "temperature"; }
  std::string TheoryKey() const override { return "temperature"; }
  // beta = tau w (exact).
  void ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                          GateParams* params) const override;
  Matrix SelectedLogits(const GateParams& params,
                        const Eigen::Ref<const Matrix>& X) const override;
  void AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                               const Matrix& logits, const Matrix& dlogits,
                               bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

}  // namespace moelab
