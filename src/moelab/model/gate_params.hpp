// Parameters of a gating function.
//
// All gates share per-expert intercepts beta0 (length k) and slopes beta1
// (k x d, row i is beta1_i). With s_i(x) the gate's logit for expert i,
// the gate weights are g_i(x) = softmax over the selected experts of s(x):
//
//   kSoftmax      s_i = beta1_i' x + beta0_i                      all selected
//   kTopK         s_i = beta1_i' x + beta0_i, selected iff expert i is among
//                 the K largest ranking scores r_i, where r_i = beta1_i' x
//                 (TopKRanking::kSlopeOnly, the [TopK] paper's definition and
//                 the default) or r_i = s_i (kFullLogit, common in practice).
//                 Ties: the lower expert index wins.
//   kTemperature  s_i = (beta1_i' x + beta0_i) / tau  (bias inside the
//                 division; the paper leaves the placement open,
//                 docs/theory.md §2.2.3)
//   kActivation   s_i = act(beta1_i' x) / tau + beta0_i  with act = tanh,
//                 sigmoid or identity (identity reduces to a temperature gate
//                 with the bias outside the division).
//
// Gauge: a common translation (beta0_i + t0, beta1_i + t1) leaves softmax,
// top-K (either ranking) and temperature gates unchanged; the activation gate
// is invariant under beta0 translation only (act is non-linear), unless
// act = identity. NormaliseGauge (model/moe_params.hpp) fixes the gauge;
// docs/theory.md §2.3.
#pragma once

#include <string>

#include "moelab/core/types.hpp"

namespace moelab {

enum class GateKind { kSoftmax, kTopK, kTemperature, kActivation };
enum class TopKRanking { kSlopeOnly, kFullLogit };
enum class Activation { kTanh, kSigmoid, kIdentity };

const char* ToString(GateKind kind);
const char* ToString(TopKRanking ranking);
const char* ToString(Activation activation);
// Parse the names above; throw std::invalid_argument listing valid names.
GateKind ParseGateKind(const std::string& name);
TopKRanking ParseTopKRanking(const std::string& name);
Activation ParseActivation(const std::string& name);

struct GateParams {
  GateKind kind = GateKind::kSoftmax;
  Vector bias;    // beta0, length k
  Matrix slope;   // beta1, k x d
  double temperature = 1.0;  // tau > 0 (kTemperature, kActivation)
  int top_k = 0;             // K, 1 <= K <= k (kTopK only)
  TopKRanking ranking = TopKRanking::kSlopeOnly;
  Activation activation = Activation::kTanh;

  Index num_experts() const { return bias.size(); }
  Index dim() const { return slope.cols(); }
  bool uses_temperature() const {
    return kind == GateKind::kTemperature || kind == GateKind::kActivation;
  }

  // Throws std::invalid_argument naming the field: non-finite entries,
  // tau <= 0, K outside [1, k], mismatched sizes.
  void Validate() const;
};

}  // namespace moelab
