#include "moelab/core/termination.hpp"

namespace moelab {

const char* ToString(TerminationType type) {
  switch (type) {
    case TerminationType::kConverged: return "converged";
    case TerminationType::kMaxIterations: return "max_iterations";
    case TerminationType::kStalled: return "stalled";
    case TerminationType::kNumericalFailure: return "numerical_failure";
    case TerminationType::kUserStopped: return "user_stopped";
    case TerminationType::kInvalidInput: return "invalid_input";
  }
  return "unknown";
}

bool IsUsable(TerminationType type) {
  return type != TerminationType::kNumericalFailure &&
         type != TerminationType::kInvalidInput;
}

}  // namespace moelab
