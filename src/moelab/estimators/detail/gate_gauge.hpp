// Which packed gate entries are free once the gauge is fixed (private).
//
// NormaliseGauge (model/moe_params.hpp) pins the reference (last) expert's
// intercept beta0_k at 0 and, for gates invariant under a common slope
// translation, its slope beta1_k at 0. The remaining packed entries (layout of
// gates/gate.hpp, plus log tau when fitted) are the gate's free parameters.
#pragma once

#include <vector>

#include "moelab/model/moe_params.hpp"

namespace moelab::detail {

std::vector<Index> FreeGateIndices(const GateParams& gate, bool with_temperature);

// Free gate entries + k (d + 2) expert parameters (slope, intercept, variance).
Index NumFreeParameters(const MoeParams& params, bool with_temperature);

}  // namespace moelab::detail
