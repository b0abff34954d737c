// The shape of a model to fit: gate family, number of experts and the gate's
// fixed options. Initialisers turn a shape into starting parameters.
#pragma once

#include "moelab/model/gate_params.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct ModelShape {
  GateKind gate = GateKind::kSoftmax;
  Index num_experts = 2;  // k
  Index dim = 1;          // d
  int top_k = 0;          // K-bar (top-K only)
  TopKRanking ranking = TopKRanking::kSlopeOnly;
  Activation activation = Activation::kTanh;
  double temperature = 1.0;  // starting (or fixed) tau

  // Throws std::invalid_argument naming the field (k < 1, d < 1, K outside
  // [1, k] for top-K, tau <= 0).
  void Validate() const;
};

// A gate of this shape with all-zero parameters.
GateParams ZeroGate(const ModelShape& shape);

// The shape of an existing parameter set.
ModelShape ShapeOf(const MoeParams& params);

}  // namespace moelab
