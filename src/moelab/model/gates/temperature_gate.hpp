// Dense-to-sparse temperature gate ([Temp]; docs/theory.md §2.2.3):
//   g_i(x) = softmax_i((beta1_i' x + beta0_i) / tau),  one shared tau > 0.
// The bias sits inside the division (not verified in the paper; moelab's
// choice, docs/theory.md §2.2.3).
// tau -> 0 tends to the hard argmax of the affine scores, tau -> inf to the
// uniform gate. Exact scale symmetry: (beta0, beta1, tau) -> c (beta0, beta1,
// tau) leaves g unchanged, so tau is not identifiable jointly with beta;
// estimators keep tau fixed unless told otherwise (see EmOptions).
#pragma once

#include "moelab/model/gates/gate.hpp"

namespace moelab {

class TemperatureGate final : public Gate {
 public:
  Matrix SelectedLogits(const GateParams& params,
                        const Eigen::Ref<const Matrix>& X) const override;
  void AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                               const Matrix& logits, const Matrix& dlogits,
                               bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

}  // namespace moelab
