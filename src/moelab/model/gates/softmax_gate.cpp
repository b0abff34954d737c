#include "moelab/model/gates/softmax_gate.hpp"

namespace moelab {

Matrix SoftmaxGate::SelectedLogits(const GateParams& params,
                                   const Eigen::Ref<const Matrix>& X) const {
  return detail::AffineScores(params, X);
}

void SoftmaxGate::AccumulateLogitGradient(const GateParams&, const Eigen::Ref<const Matrix>& X,
                                          const Matrix&, const Matrix& dlogits, bool,
                                          Eigen::Ref<Vector> gradient) const {
  // A softmax gate has no temperature; its packed log(tau) entry (if any)
  // keeps a zero gradient.
  detail::AccumulateAffineGradient(X, dlogits, 1.0, gradient);
}

}  // namespace moelab
