// The gates moelab knows. The registry (gate_registry.cpp) maps each kind to
// its name and its Gate (gate.hpp); everything else asks the Gate, so adding a
// gate is a value here, an entry in the registry and its class in this folder.
#pragma once

#include <string>
#include <vector>

namespace moelab {

enum class GateKind { kSoftmax, kTopK, kTemperature, kActivation, kNormalisedSigmoid };

// Every registered kind, in registry order.
const std::vector<GateKind>& AllGateKinds();
// The registered name ("softmax", "topk", ...).
const char* ToString(GateKind kind);
// The registered names, comma-separated (for help texts and errors).
std::string GateKindNames();
// Parses a registered name; throws std::invalid_argument listing the valid names.
GateKind ParseGateKind(const std::string& name);

}  // namespace moelab
