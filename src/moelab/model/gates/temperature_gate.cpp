#include "moelab/model/gates/temperature_gate.hpp"

namespace moelab {

GateFields TemperatureGate::fields() const {
  GateFields f;
  f.temperature = true;
  return f;
}

GateAtoms TemperatureGate::MixingAtoms(const GateParams& params, bool scale_ratio) const {
  GateAtoms atoms{params.bias / params.temperature, params.slope, std::nullopt};
  if (scale_ratio) {
    atoms.gate_slope /= params.temperature;
  } else {
    atoms.temperature = params.temperature;
  }
  return atoms;
}

void TemperatureGate::ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                                         GateParams* params) const {
  params->bias = params->temperature * bias;
  params->slope = params->temperature * slope;
}

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
