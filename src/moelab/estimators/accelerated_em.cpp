#include "moelab/estimators/accelerated_em.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>

#include "moelab/core/check.hpp"
#include "moelab/estimators/detail/block_runner.hpp"
#include "moelab/estimators/detail/em_engine.hpp"
#include "moelab/estimators/detail/fit_input.hpp"
#include "moelab/estimators/objective.hpp"

namespace moelab {

void AcceleratedEmOptions::Validate() const {
  constexpr const char* kFn = "AcceleratedEmOptions::Validate";
  em.Validate();
  CheckNonNegative(kFn, "max_seconds", max_seconds);
  if (!(step_max_growth > 1.0) || !std::isfinite(step_max_growth))
    ThrowInvalid(kFn, "step_max_growth must be finite and > 1");
}

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// The engine at an extrapolated point, or null when the point is not a valid
// model (non-finite entries, overflowing variances) or its likelihood is not
// finite.
std::unique_ptr<detail::EmEngine> EngineAt(const Dataset& data, const MoeObjective& packer,
                                           const Vector& theta, const EmOptions& options) {
  if (!theta.allFinite()) return nullptr;
  const MoeParams params = packer.Unpack(theta);
  if (!params.IsValid()) return nullptr;
  auto engine = std::make_unique<detail::EmEngine>(data, params, options);
  if (!engine->finite()) return nullptr;
  return engine;
}


// FitAcceleratedEm on the standardised problem (detail/fit_input.hpp).
FitResult FitAcceleratedEmStandardised(const Dataset& data, const MoeParams& init,
                                       const AcceleratedEmOptions& options) {
  constexpr const char* kFn = "FitAcceleratedEm";
  const auto start_time = Clock::now();
  const long long passes_before = detail::DataPassCount();
  options.Validate();
  detail::CheckFitInput(kFn, data, init);
  detail::CheckEnoughObservations(kFn, data.size(),
                                  NumFreeParameters(init, options.em.fit_temperature));

  const MoeParams start = NormaliseGauge(init);
  const MoeObjective packer(data, start, options.em.fit_temperature);
  EmOptions map_options = options.em;  // the engine never sees the driver's hooks
  map_options.callback = nullptr;
  map_options.record_history = false;
  const double log_floor = std::log(options.em.variance_floor);

  FitResult result;
  result.estimator = "em-squarem";
  auto engine = std::make_unique<detail::EmEngine>(data, start, map_options);
  int evaluations = 0, cycles = 0, accepted = 0, rejected = 0;
  double step_max = 1.0;
  int floor_hits = 0, empty_events = 0;  // of the engines already replaced

  auto finish = [&](TerminationType termination, const std::string& message) {
    result.termination = termination;
    result.params = NormaliseGauge(engine->params());
    result.log_likelihood = std::isfinite(engine->log_likelihood())
                                ? engine->log_likelihood()
                                : -std::numeric_limits<double>::infinity();
    result.objective = -result.log_likelihood;  // what EM minimises (fit_result.hpp)
    result.iterations = evaluations;
    result.data_passes = detail::DataPassCount() - passes_before;
    result.variance_floor_hits = floor_hits + engine->variance_floor_hits();
    result.empty_expert_events = empty_events + engine->empty_expert_events();
    std::ostringstream os;
    os << message << "; " << cycles << " SQUAREM cycles, " << accepted
       << " extrapolations accepted, " << rejected << " rejected by the monotonicity safeguard";
    if (result.likelihood_decreases > 0)
      os << "; " << result.likelihood_decreases << " log-likelihood decreases";
    result.message = os.str();
    result.seconds = Seconds(start_time);
    return result;
  };

  IterationSummary summary;
  summary.log_likelihood = engine->log_likelihood();
  if (options.em.record_history) result.history.push_back(summary);
  if (!engine->finite())
    return finish(TerminationType::kNumericalFailure,
                  "log-likelihood at the starting point is not finite");

  Vector theta0 = packer.Pack(engine->params());
  double l0 = engine->log_likelihood();
  while (true) {
    if (evaluations >= options.em.max_iterations) {
      std::ostringstream os;
      os << "iteration budget: " << evaluations << " EM-map evaluations of max_iterations = "
         << options.em.max_iterations << " (last change " << result.last_change << ")";
      return finish(TerminationType::kMaxIterations, os.str());
    }
    if (options.max_seconds > 0.0 && Seconds(start_time) > options.max_seconds) {
      std::ostringstream os;
      os << "time budget: " << options.max_seconds << " s reached after " << evaluations
         << " EM-map evaluations (last change " << result.last_change << ")";
      return finish(TerminationType::kMaxIterations, os.str());
    }
    ++cycles;
    // Two plain EM steps (one when only one is left in the budget); the
    // engine then sits at theta2 (the fallback).
    const int plain_steps = std::min(2, options.em.max_iterations - evaluations);
    Vector theta[2];
    double l2 = l0;
    for (int s = 0; s < plain_steps; ++s) {
      const detail::EmEngine::StepReport step = engine->Step();
      ++evaluations;
      if (!step.finite)
        return finish(TerminationType::kNumericalFailure,
                      "non-finite log-likelihood in an EM step; returning the last finite iterate");
      theta[s] = packer.Pack(engine->params());
      l2 = step.log_likelihood;
    }
    double l_new = l2;
    const Vector r = theta[0] - theta0;
    const Vector v = plain_steps == 2 ? Vector(theta[1] - theta[0] - r) : Vector();
    const double r_norm = r.norm(), v_norm = v.norm();
    if (plain_steps == 2 && v_norm > 0.0 && r_norm > 0.0) {
      const double raw_alpha = -r_norm / v_norm;
      const double alpha = std::clamp(raw_alpha, -step_max, -1.0);
      // At step_max = 1 the step is plain EM's theta2; the ceiling still
      // grows when it binds, as in the SQUAREM package (step.max0 = 1).
      if (alpha == -1.0 && raw_alpha < -1.0) step_max *= options.step_max_growth;
      // The extrapolation's stabilising step needs a third map evaluation.
      if (alpha < -1.0 && evaluations + 1 <= options.em.max_iterations) {
        Vector trial = theta0 - 2.0 * alpha * r + alpha * alpha * v;
        for (Index i = 0; i < start.num_experts(); ++i) {
          double& log_nu = trial[packer.log_variance_index(i)];
          log_nu = std::max(log_nu, log_floor);
        }
        bool ok = false;
        std::unique_ptr<detail::EmEngine> candidate = EngineAt(data, packer, trial, map_options);
        if (candidate) {
          const detail::EmEngine::StepReport step = candidate->Step();
          ++evaluations;
          ok = step.finite && step.log_likelihood >= l2 - detail::LikelihoodRoundoff(l2);
          if (ok) {
            floor_hits += engine->variance_floor_hits();
            empty_events += engine->empty_expert_events();
            engine = std::move(candidate);
            l_new = step.log_likelihood;
          }
        }
        if (ok) {
          ++accepted;
          if (alpha == -step_max) step_max *= options.step_max_growth;
        } else {
          ++rejected;
          step_max = std::max(1.0, step_max / options.step_max_growth);
        }
      }
    }
    const Vector theta_new = packer.Pack(engine->params());
    const double change = std::abs(l_new - l0);
    if (l_new < l0 - detail::LikelihoodRoundoff(l0)) ++result.likelihood_decreases;
    result.last_change = change;
    result.last_parameter_change = (theta_new - theta0).lpNorm<Eigen::Infinity>();
    summary.iteration = evaluations;
    summary.log_likelihood = l_new;
    summary.relative_change = l0 != 0.0 ? change / std::abs(l0) : change;
    summary.parameter_change = result.last_parameter_change;
    summary.seconds = Seconds(start_time);
    if (options.em.record_history) result.history.push_back(summary);
    if (options.em.callback && options.em.callback(summary) == CallbackReturn::kStop) {
      std::ostringstream os;
      os << "stopped by the iteration callback after " << evaluations << " EM-map evaluations";
      return finish(TerminationType::kUserStopped, os.str());
    }
    std::ostringstream reason;
    if (options.em.absolute_tolerance > 0.0 && change <= options.em.absolute_tolerance)
      reason << "log-likelihood change over a cycle " << change << " <= "
             << options.em.absolute_tolerance;
    else if (summary.relative_change <= options.em.relative_tolerance)
      reason << "relative log-likelihood change over a cycle " << summary.relative_change
             << " <= " << options.em.relative_tolerance;
    else if (options.em.parameter_tolerance > 0.0 &&
             result.last_parameter_change <= options.em.parameter_tolerance)
      reason << "parameter change over a cycle " << result.last_parameter_change << " <= "
             << options.em.parameter_tolerance;
    if (!reason.str().empty()) {
      reason << " after " << evaluations << " EM-map evaluations";
      return finish(TerminationType::kConverged, reason.str());
    }
    theta0 = theta_new;
    l0 = l_new;
  }
}

}  // namespace

// Like FitEm, SQUAREM runs on standardised data, so the variance floor (a
// fraction of Var(y)), the stopping rules and the iterates do not depend on
// the units of x and y.
FitResult FitAcceleratedEm(const Dataset& data, const MoeParams& init,
                           const AcceleratedEmOptions& options) {
  constexpr const char* kFn = "FitAcceleratedEm";
  options.Validate();
  detail::CheckFitInput(kFn, data, init);
  const detail::StandardisedProblem problem(kFn, data, init);
  if (!problem.start_usable())
    return problem.StartFailure("em-squarem", init, std::numeric_limits<double>::infinity());
  AcceleratedEmOptions standardised = options;
  standardised.em.callback = problem.WrapCallback(options.em.callback);
  FitResult result = FitAcceleratedEmStandardised(problem.data(), problem.init(), standardised);
  problem.Restore(&result, options.em.variance_floor);
  result.objective = -result.log_likelihood;
  return result;
}

}  // namespace moelab
