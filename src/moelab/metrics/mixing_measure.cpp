#include "moelab/metrics/mixing_measure.hpp"

#include "moelab/core/check.hpp"

namespace moelab {

const char* ToString(TemperatureHandling handling) {
  return handling == TemperatureHandling::kRatio ? "ratio" : "raw";
}

Matrix MixingMeasure::AtomCoordinates() const {
  const Index k = num_atoms();
  const Index d = dim();
  Matrix atoms(k, atom_size());
  atoms.leftCols(d) = gate_slope;
  atoms.middleCols(d, d) = expert_slope;
  atoms.col(2 * d) = intercept;
  atoms.col(2 * d + 1) = variance;
  if (temperature) atoms.col(2 * d + 2).setConstant(*temperature);
  return atoms;
}

MixingMeasure ToMixingMeasure(const MoeParams& params, TemperatureHandling handling) {
  params.Validate();
  const GateParams& gate = params.gate;
  MixingMeasure m;
  m.log_weight = gate.bias;
  m.gate_slope = gate.slope;
  m.expert_slope = params.experts.slope;
  m.intercept = params.experts.intercept;
  m.variance = params.experts.variance;
  m.slope_translation = HasSlopeTranslationSymmetry(gate);
  const bool ratio = handling == TemperatureHandling::kRatio;
  switch (gate.kind) {
    case GateKind::kSoftmax:
    case GateKind::kTopK:
      break;
    case GateKind::kTemperature:
      // Logit (beta1 x + beta0) / tau: the weight is exp(beta0 / tau) either way.
      m.log_weight /= gate.temperature;
      if (ratio) {
        m.gate_slope /= gate.temperature;
      } else {
        m.temperature = gate.temperature;
      }
      break;
    case GateKind::kActivation:
      if (gate.activation == Activation::kIdentity && ratio) {
        m.gate_slope /= gate.temperature;  // logit beta1/tau x + beta0
      } else {
        m.temperature = gate.temperature;
      }
      break;
  }
  return m;
}

MixingMeasure NormaliseToReference(const MixingMeasure& measure, Index reference) {
  if (reference < 0 || reference >= measure.num_atoms()) {
    ThrowInvalid("NormaliseToReference",
                 "reference atom " + std::to_string(reference) + " outside [0, " +
                     std::to_string(measure.num_atoms()) + ")");
  }
  MixingMeasure out = measure;
  out.log_weight.array() -= measure.log_weight[reference];
  if (measure.slope_translation) out.gate_slope.rowwise() -= measure.gate_slope.row(reference);
  return out;
}

}  // namespace moelab
