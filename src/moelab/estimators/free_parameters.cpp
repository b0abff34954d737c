#include "moelab/estimators/free_parameters.hpp"

#include "moelab/model/gates/gate.hpp"

namespace moelab {

std::vector<Index> FreeGateEntries(const GateParams& gate, bool with_temperature) {
  const Index k = gate.num_experts(), p = gate.dim() + 1;
  const bool fit_tau = with_temperature && gate.uses_temperature();
  const Index reference = (k - 1) * p;
  const Gate& g = GateOf(gate);
  std::vector<Index> free;
  if (k == 1 && !g.IdentifiedAtOneExpert()) return free;  // g = 1: nothing to fit
  const GateGauge gauge = g.Gauge(gate);
  const bool bias_pinned = gauge != GateGauge::kNone;
  const bool slope_pinned = gauge == GateGauge::kBiasAndSlope;
  for (Index j = 0; j < PackedGateSize(k, gate.dim(), fit_tau); ++j) {
    if (bias_pinned && j == reference) continue;                     // beta0_k
    if (slope_pinned && j > reference && j < reference + p) continue;  // beta1_k
    free.push_back(j);
  }
  return free;
}

Index NumFreeParameters(const GateParams& gate, bool fit_temperature) {
  const Index k = gate.num_experts(), d = gate.dim();
  return static_cast<Index>(FreeGateEntries(gate, fit_temperature).size()) + k * (d + 2);
}

Index NumFreeParameters(const MoeParams& params, bool fit_temperature) {
  return NumFreeParameters(params.gate, fit_temperature);
}

Index NumFreeParameters(const ModelShape& shape, bool fit_temperature) {
  return NumFreeParameters(ZeroGate(shape), fit_temperature);
}

}  // namespace moelab
