#include "moelab/model/gate_params.hpp"

#include <sstream>
#include <stdexcept>

#include "moelab/core/check.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

const char* ToString(TopKRanking ranking) {
  return ranking == TopKRanking::kSlopeOnly ? "slope" : "logit";
}

const char* ToString(Activation activation) {
  switch (activation) {
    case Activation::kTanh: return "tanh";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kIdentity: return "identity";
  }
  return "unknown";
}

TopKRanking ParseTopKRanking(const std::string& name) {
  if (name == "slope") return TopKRanking::kSlopeOnly;
  if (name == "logit") return TopKRanking::kFullLogit;
  throw std::invalid_argument("unknown top-K ranking '" + name + "' (valid: slope, logit)");
}

Activation ParseActivation(const std::string& name) {
  for (Activation a : {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity}) {
    if (name == ToString(a)) return a;
  }
  throw std::invalid_argument("unknown activation '" + name +
                              "' (valid: tanh, sigmoid, identity)");
}

bool GateParams::uses_temperature() const { return GateFor(kind).fields().temperature; }

void GateParams::Validate() const {
  constexpr const char* kFn = "GateParams::Validate";
  const Index k = bias.size();
  if (k < 1) ThrowInvalid(kFn, "the gate has no experts (k = 0)");
  CheckSize(kFn, "gate.slope rows", slope.rows(), k);
  if (slope.cols() < 1) ThrowInvalid(kFn, "gate.slope has no columns (d = 0)");
  CheckAllFinite(kFn, "gate.bias", bias);
  CheckAllFinite(kFn, "gate.slope", slope);
  if (uses_temperature()) CheckPositive(kFn, "gate.temperature", temperature);
  const GateFields::TopK uses_k = GateFor(kind).fields().top_k;
  if (uses_k != GateFields::TopK::kUnused) {
    const int lowest = uses_k == GateFields::TopK::kRequired ? 1 : 0;
    if (top_k < lowest || top_k > k) {
      std::ostringstream os;
      os << "gate.top_k = " << top_k << " must lie in [" << lowest << ", k = " << k << "] for the "
         << ToString(kind) << " gate" << (lowest == 0 ? " (0 = every expert)" : "");
      ThrowInvalid(kFn, os.str());
    }
  }
}

}  // namespace moelab
