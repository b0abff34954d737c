#include "moelab/estimators/em.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "moelab/core/check.hpp"
#include "moelab/estimators/detail/block_runner.hpp"
#include "moelab/estimators/detail/em_engine.hpp"
#include "moelab/estimators/detail/fit_input.hpp"
#include "moelab/estimators/variance_floor.hpp"

namespace moelab {

void EmOptions::Validate() const {
  constexpr const char* kFn = "EmOptions::Validate";
  if (max_iterations < 1) ThrowInvalid(kFn, "max_iterations must be >= 1");
  CheckNonNegative(kFn, "relative_tolerance", relative_tolerance);
  CheckNonNegative(kFn, "absolute_tolerance", absolute_tolerance);
  CheckNonNegative(kFn, "parameter_tolerance", parameter_tolerance);
  CheckVarianceFloor(kFn, variance_floor);
  CheckNonNegative(kFn, "min_expert_mass", min_expert_mass);
  if (!(min_expert_mass < 1.0)) ThrowInvalid(kFn, "min_expert_mass must be < 1");
  if (gate_max_iterations < 1) ThrowInvalid(kFn, "gate_max_iterations must be >= 1");
  CheckNonNegative(kFn, "gate_tolerance", gate_tolerance);
  if (gate_newton_steps < 0) ThrowInvalid(kFn, "gate_newton_steps must be >= 0");
  if (num_threads < 1) ThrowInvalid(kFn, "num_threads must be >= 1");
}

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// FitEm on the standardised problem (detail/fit_input.hpp).
FitResult FitEmStandardised(const Dataset& data, const MoeParams& init, const EmOptions& options) {
  constexpr const char* kFn = "FitEm";
  const auto start_time = Clock::now();
  const long long passes_before = detail::DataPassCount();
  options.Validate();
  detail::CheckFitInput(kFn, data, init);
  detail::CheckEnoughObservations(kFn, data.size(),
                                  NumFreeParameters(init, options.fit_temperature));

  FitResult result;
  result.estimator = "em";
  detail::EmEngine engine(data, NormaliseGauge(init), options);

  auto finish = [&](TerminationType termination, const std::string& message) {
    result.termination = termination;
    result.params = NormaliseGauge(engine.params());
    result.log_likelihood = std::isfinite(engine.log_likelihood())
                                ? engine.log_likelihood()
                                : -std::numeric_limits<double>::infinity();
    result.objective = -result.log_likelihood;
    result.evaluations = engine.evaluations();
    result.variance_floor_hits = CountVarianceFloorHits(result.params, options.variance_floor);
    result.empty_expert_events = engine.empty_expert_events();
    result.data_passes = detail::DataPassCount() - passes_before;
    std::ostringstream os;
    os << message;
    if (engine.variance_floor_hits() > 0) {
      // The experts left at the floor are added in the units of y when the
      // fit is mapped back (detail::StandardisedProblem::Restore).
      os << "; " << engine.variance_floor_hits() << " variance-floor clamps over the iterations";
    }
    if (result.empty_expert_events > 0) {
      os << "; " << result.empty_expert_events << " empty-expert events (previous parameters kept)";
    }
    if (engine.dropped_gate_steps() > 0) {
      os << "; " << engine.dropped_gate_steps()
         << " top-K gate steps dropped (every halving lowered the likelihood)";
    }
    if (result.likelihood_decreases > 0) {
      os << "; " << result.likelihood_decreases << " log-likelihood decreases";
    }
    result.message = os.str();
    result.seconds = Seconds(start_time);
    return result;
  };

  IterationSummary summary;
  summary.log_likelihood = engine.log_likelihood();
  summary.seconds = Seconds(start_time);
  if (options.record_history) result.history.push_back(summary);
  if (!engine.finite()) {
    return finish(TerminationType::kNumericalFailure,
                  "log-likelihood at the starting point is not finite");
  }

  for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
    const double previous = engine.log_likelihood();
    const detail::EmEngine::StepReport step = engine.Step();
    if (!step.finite) {
      std::ostringstream os;
      os << "non-finite log-likelihood at iteration " << iteration
         << "; returning the last finite iterate";
      return finish(TerminationType::kNumericalFailure, os.str());
    }
    result.iterations = iteration;
    const double change = std::abs(step.log_likelihood - previous);
    if (step.log_likelihood < previous - detail::LikelihoodRoundoff(previous)) {
      ++result.likelihood_decreases;
    }
    summary.iteration = iteration;
    summary.log_likelihood = step.log_likelihood;
    summary.relative_change = previous != 0.0 ? change / std::abs(previous) : change;
    summary.parameter_change = step.parameter_change;
    summary.seconds = Seconds(start_time);
    summary.selection_changed = step.selection_changes > 0;
    result.last_change = change;
    result.last_parameter_change = step.parameter_change;
    if (options.record_history) result.history.push_back(summary);
    if (options.callback && options.callback(summary) == CallbackReturn::kStop) {
      std::ostringstream os;
      os << "stopped by the iteration callback at iteration " << iteration;
      return finish(TerminationType::kUserStopped, os.str());
    }
    if (options.absolute_tolerance > 0.0 && change <= options.absolute_tolerance) {
      std::ostringstream os;
      os << "log-likelihood change " << change << " <= " << options.absolute_tolerance
         << " at iteration " << iteration;
      return finish(TerminationType::kConverged, os.str());
    }
    if (summary.relative_change <= options.relative_tolerance) {
      std::ostringstream os;
      os << "relative log-likelihood change " << summary.relative_change
         << " <= " << options.relative_tolerance << " at iteration " << iteration;
      return finish(TerminationType::kConverged, os.str());
    }
    if (options.parameter_tolerance > 0.0 &&
        step.parameter_change <= options.parameter_tolerance) {
      std::ostringstream os;
      os << "parameter change " << step.parameter_change
         << " <= " << options.parameter_tolerance << " at iteration " << iteration;
      return finish(TerminationType::kConverged, os.str());
    }
  }
  std::ostringstream os;
  os << "reached max_iterations = " << options.max_iterations << " (last relative change "
     << summary.relative_change << ")";
  return finish(TerminationType::kMaxIterations, os.str());
}

}  // namespace

FitResult FitEm(const Dataset& data, const MoeParams& init, const EmOptions& options) {
  return detail::FitInStandardisedUnits("FitEm", "em", data, init, options,
                                         detail::ObjectiveKind::kNegativeLogLikelihood, FitEmStandardised);
}

}  // namespace moelab
