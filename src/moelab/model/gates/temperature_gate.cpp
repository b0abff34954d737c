#include "moelab/model/gates/temperature_gate.hpp"

#include "moelab/model/gates/detail/affine_logits.hpp"

namespace moelab {

Matrix TemperatureGate::SelectedLogits(const GateParams& params,
                                       const Eigen::Ref<const Matrix>& X) const {
  return detail::AffineScores(params, X) / params.temperature;
}

void TemperatureGate::AccumulateLogitGradient(const GateParams& params,
                                              const Eigen::Ref<const Matrix>& X,
                                              const Matrix& logits, const Matrix& dlogits,
                                              bool with_temperature,
                                              Eigen::Ref<Vector> gradient) const {
  detail::AccumulateAffineGradient(X, dlogits, 1.0 / params.temperature, gradient);
  if (with_temperature) {
    // s = a / tau  =>  ds / dlog(tau) = -s.
    gradient[gradient.size() - 1] -= (dlogits.array() * logits.array()).sum();
  }
}

}  // namespace moelab
