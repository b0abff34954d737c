// Parameters of a gating function.
//
// All gates share per-expert intercepts beta0 (length k) and slopes beta1
// (k x d, row i is beta1_i), plus the options a gate may read: a temperature
// tau, a number K of selected experts with its ranking rule, an activation.
// Which of them a gate reads, its formula, selection, symmetries and gauge
// are described by the gate itself (model/gates/gate.hpp; one class per gate
// in model/gates/, listed in the registry gate_registry.cpp, and the gate
// table of the README).
#pragma once

#include <string>

#include "moelab/core/types.hpp"
#include "moelab/model/gates/gate_kind.hpp"

namespace moelab {

enum class TopKRanking { kSlopeOnly, kFullLogit };
enum class Activation { kTanh, kSigmoid, kIdentity };

const char* ToString(TopKRanking ranking);
const char* ToString(Activation activation);
// Parse the names above; throw std::invalid_argument listing valid names.
TopKRanking ParseTopKRanking(const std::string& name);
Activation ParseActivation(const std::string& name);

struct GateParams {
  GateKind kind = GateKind::kSoftmax;
  Vector bias;    // beta0, length k
  Matrix slope;   // beta1, k x d
  double temperature = 1.0;  // tau > 0 (gates that read it)
  int top_k = 0;             // K, 1 <= K <= k (gates that require it; 0 = all
                             // experts where it is optional)
  TopKRanking ranking = TopKRanking::kSlopeOnly;
  Activation activation = Activation::kTanh;

  Index num_experts() const { return bias.size(); }
  Index dim() const { return slope.cols(); }
  // Whether the gate reads `temperature` (GateFields::temperature).
  bool uses_temperature() const;

  // Throws std::invalid_argument naming the field: non-finite entries,
  // tau <= 0, K outside [1, k] (or [0, k] where K is optional), mismatched
  // sizes.
  void Validate() const;
};

}  // namespace moelab
