// Which parameters are free once the gauge is fixed: the one owner of this
// count for every estimator (EM, MLE, least squares) and for the rate
// studies' sample-size checks.
//
// The gate density may be invariant under a common translation of the
// experts' gate parameters (the gate's Gauge(), gates/gate.hpp), so
// NormaliseGauge (model/moe_params.hpp) pins the reference (last) expert: its
// intercept beta0_k = 0 (GateGauge::kBias, kBiasAndSlope) and its slope
// beta1_k = 0 (kBiasAndSlope: every gate but a non-linear activation gate and
// gates without translation symmetry). The remaining entries of the packed
// gate (layout of gates/gate.hpp: per expert (beta0_i, beta1_i), then log tau
// when the temperature is fitted) are free:
//
//   bias and slope translation    (k - 1)(d + 1)
//   bias translation only         (k - 1) + k d
//   no translation symmetry       k (d + 1)
//   + 1 for log tau when fitted (gates that read a temperature),
//
// except with one expert, where a normalised gate is identically 1 and none
// of its entries is free (Gate::IdentifiedAtOneExpert). Every expert adds
// k (d + 2) (slope a_i, intercept b_i, variance nu_i). Without the gauge the
// likelihood's Hessian is singular along the translation and optimisers drift.
#pragma once

#include <vector>

#include "moelab/model/model_shape.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

// Indices into PackGate(gate, with_temperature) of the free entries, in
// increasing order (log tau last, when `with_temperature` and the gate has a
// temperature; ignored otherwise).
std::vector<Index> FreeGateEntries(const GateParams& gate, bool with_temperature = false);

// Free gate entries + k (d + 2) expert parameters.
Index NumFreeParameters(const GateParams& gate, bool fit_temperature);
Index NumFreeParameters(const MoeParams& params, bool fit_temperature);
Index NumFreeParameters(const ModelShape& shape, bool fit_temperature);

}  // namespace moelab
