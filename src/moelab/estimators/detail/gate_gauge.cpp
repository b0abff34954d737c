#include "moelab/estimators/detail/gate_gauge.hpp"

#include "moelab/model/gates/gate.hpp"

namespace moelab::detail {

std::vector<Index> FreeGateIndices(const GateParams& gate, bool with_temperature) {
  const Index k = gate.num_experts(), p = gate.dim() + 1;
  const bool fit_tau = with_temperature && gate.uses_temperature();
  const Index reference = (k - 1) * p;
  const bool slopes_pinned = HasSlopeTranslationSymmetry(gate);
  std::vector<Index> free;
  for (Index j = 0; j < PackedGateSize(k, gate.dim(), fit_tau); ++j) {
    if (j == reference) continue;
    if (slopes_pinned && j > reference && j < reference + p) continue;
    free.push_back(j);
  }
  return free;
}

Index NumFreeParameters(const MoeParams& params, bool with_temperature) {
  const Index k = params.num_experts(), d = params.dim();
  return static_cast<Index>(FreeGateIndices(params.gate, with_temperature).size()) +
         k * (d + 2);
}

}  // namespace moelab::detail
