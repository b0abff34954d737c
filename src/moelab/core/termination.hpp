// Why an iterative method stopped, and what one iteration looked like.
// Modelled on Ceres' TerminationType / IterationSummary.
#pragma once

#include <functional>
#include <string>

namespace moelab {

enum class TerminationType {
  kConverged,         // Tolerance met; parameters are the final iterate.
  kMaxIterations,     // Iteration cap reached; parameters are the last iterate.
  kStalled,           // No further progress possible (e.g. round-off limited);
                      // parameters are the best iterate found.
  kNumericalFailure,  // Non-finite objective or singular system; parameters are
                      // the last finite iterate.
  kUserStopped,       // The iteration callback asked to stop.
  kInvalidInput,      // Rejected before any iteration (only in reports that do
                      // not throw, e.g. rate-study cells).
};

const char* ToString(TerminationType type);

// True when the parameters are a meaningful estimate (every type but a
// numerical failure or rejected input).
bool IsUsable(TerminationType type);

struct IterationSummary {
  int iteration = 0;
  double log_likelihood = 0.0;
  double relative_change = 0.0;   // |l_t - l_{t-1}| / |l_{t-1}|
  double parameter_change = 0.0;  // max-norm change of the packed parameters
  double gradient_norm = 0.0;     // where the method has one (MLE)
  double seconds = 0.0;           // elapsed since the fit started
  bool selection_changed = false; // top-K: a token changed its selected set
};

enum class CallbackReturn { kContinue, kStop };

using IterationCallback = std::function<CallbackReturn(const IterationSummary&)>;

}  // namespace moelab
