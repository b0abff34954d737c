// The gate registry: one line per gate. GateFor, ToString(GateKind),
// ParseGateKind and AllGateKinds all read this table.
#include <stdexcept>

#include "moelab/core/check.hpp"
#include "moelab/model/gates/activation_gate.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gates/normalised_sigmoid_gate.hpp"
#include "moelab/model/gates/softmax_gate.hpp"
#include "moelab/model/gates/temperature_gate.hpp"
#include "moelab/model/gates/topk_gate.hpp"

namespace moelab {
namespace {

struct Entry {
  GateKind kind;
  const Gate* gate;
};

const std::vector<Entry>& Registry() {
  static const SoftmaxGate softmax;
  static const TopKGate topk;
  static const TemperatureGate temperature;
  static const ActivationGate activation;
  static const NormalisedSigmoidGate normalised_sigmoid;
  static const std::vector<Entry> entries = {
      {GateKind::kSoftmax, &softmax},
      {GateKind::kTopK, &topk},
      {GateKind::kTemperature, &temperature},
      {GateKind::kActivation, &activation},
      {GateKind::kNormalisedSigmoid, &normalised_sigmoid},
  };
  return entries;
}

}  // namespace

const Gate& GateFor(GateKind kind) {
  for (const Entry& e : Registry()) {
    if (e.kind == kind) return *e.gate;
  }
  ThrowInvalid("GateFor", "gate kind " + std::to_string(static_cast<int>(kind)) +
                              " is not registered");
}

const std::vector<GateKind>& AllGateKinds() {
  static const std::vector<GateKind> kinds = [] {
    std::vector<GateKind> out;
    for (const Entry& e : Registry()) out.push_back(e.kind);
    return out;
  }();
  return kinds;
}

const char* ToString(GateKind kind) {
  for (const Entry& e : Registry()) {
    if (e.kind == kind) return e.gate->name();
  }
  return "unknown";
}

std::string GateKindNames() {
  std::string names;
  for (const Entry& e : Registry()) names += (names.empty() ? "" : ", ") + std::string(e.gate->name());
  return names;
}

GateKind ParseGateKind(const std::string& name) {
  for (const Entry& e : Registry()) {
    if (name == e.gate->name()) return e.kind;
  }
  throw std::invalid_argument("unknown gate '" + name + "' (valid: " + GateKindNames() + ")");
}

}  // namespace moelab
