#include "moelab/metrics/mixing_measure.hpp"

#include "moelab/core/check.hpp"
#include "moelab/model/gates/gate.hpp"

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
  const Gate& g = GateOf(gate);
  GateAtoms atoms = g.MixingAtoms(gate, handling == TemperatureHandling::kRatio);
  MixingMeasure m;
  m.log_weight = std::move(atoms.log_weight);
  m.gate_slope = std::move(atoms.gate_slope);
  m.temperature = atoms.temperature;
  m.expert_slope = params.experts.slope;
  m.intercept = params.experts.intercept;
  m.variance = params.experts.variance;
  const GateGauge gauge = g.Gauge(gate);
  m.weight_translation = gauge != GateGauge::kNone;
  m.slope_translation = gauge == GateGauge::kBiasAndSlope;
  return m;
}

MixingMeasure NormaliseToReference(const MixingMeasure& measure, Index reference) {
  if (reference < 0 || reference >= measure.num_atoms()) {
    ThrowInvalid("NormaliseToReference",
                 "reference atom " + std::to_string(reference) + " outside [0, " +
                     std::to_string(measure.num_atoms()) + ")");
  }
  MixingMeasure out = measure;
  if (measure.weight_translation) out.log_weight.array() -= measure.log_weight[reference];
  if (measure.slope_translation) out.gate_slope.rowwise() -= measure.gate_slope.row(reference);
  return out;
}

}  // namespace moelab
