// A full Gaussian MoE parameter set: gate + experts, with validation,
// relabelling and the gauge normalisation.
#pragma once

#include <vector>

#include "moelab/model/experts.hpp"
#include "moelab/model/gate_params.hpp"

namespace moelab {

struct MoeParams {
  GateParams gate;
  ExpertParams experts;

  Index num_experts() const { return experts.num_experts(); }
  Index dim() const { return experts.dim(); }

  // Validates gate and experts and their agreement on k and d.
  void Validate() const;
  // Validate() without the exception: for optimisers whose steps may leave
  // the model (an overflowing log tau or log nu).
  bool IsValid() const;
};

// Expert j of the result is expert perm[j] of `params` (gate and experts
// together). Throws unless perm is a permutation of 0..k-1.
MoeParams PermuteExperts(const MoeParams& params, const std::vector<Index>& perm);

// Gauge normalisation with the reference (last) expert, as the gate's
// Gauge() says (gates/gate.hpp): subtracts the last expert's gate intercept
// from every intercept (GateGauge::kBias, kBiasAndSlope) and its gate slope
// from every slope (kBiasAndSlope: softmax, top-K, temperature, identity
// activation). Afterwards beta0_k = 0 (and beta1_k = 0 where applicable); a
// gate without translation symmetry (kNone) is returned unchanged. The
// density is unchanged (the [Demyst] code's convention).
MoeParams NormaliseGauge(const MoeParams& params);

// True when the gate is invariant under a common translation of the slopes
// beta1 (GateGauge::kBiasAndSlope).
bool HasSlopeTranslationSymmetry(const GateParams& gate);

}  // namespace moelab
