#include "moelab/model/moe_params.hpp"

#include <stdexcept>

#include <algorithm>

#include "moelab/core/check.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

void MoeParams::Validate() const {
  gate.Validate();
  experts.Validate();
  CheckSize("MoeParams::Validate", "number of gate entries (k)", gate.num_experts(),
            experts.num_experts());
  CheckSize("MoeParams::Validate", "gate slope dimension (d)", gate.dim(), experts.dim());
}

bool MoeParams::IsValid() const {
  try {
    Validate();
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

MoeParams PermuteExperts(const MoeParams& params, const std::vector<Index>& perm) {
  const Index k = params.num_experts();
  std::vector<Index> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  bool is_permutation = static_cast<Index>(perm.size()) == k;
  for (Index j = 0; is_permutation && j < k; ++j) is_permutation = sorted[j] == j;
  if (!is_permutation) ThrowInvalid("PermuteExperts", "perm is not a permutation of 0..k-1");
  MoeParams out = params;
  for (Index j = 0; j < k; ++j) {
    const Index from = perm[j];
    out.gate.bias[j] = params.gate.bias[from];
    out.gate.slope.row(j) = params.gate.slope.row(from);
    out.experts.slope.row(j) = params.experts.slope.row(from);
    out.experts.intercept[j] = params.experts.intercept[from];
    out.experts.variance[j] = params.experts.variance[from];
  }
  return out;
}

bool HasSlopeTranslationSymmetry(const GateParams& gate) {
  return GateOf(gate).Gauge(gate) == GateGauge::kBiasAndSlope;
}

MoeParams NormaliseGauge(const MoeParams& params) {
  MoeParams out = params;
  const GateGauge gauge = GateOf(params.gate).Gauge(params.gate);
  if (gauge == GateGauge::kNone) return out;
  const Index last = params.num_experts() - 1;
  out.gate.bias.array() -= params.gate.bias[last];
  if (gauge == GateGauge::kBiasAndSlope) {
    out.gate.slope.rowwise() -= params.gate.slope.row(last);
  }
  return out;
}

}  // namespace moelab
