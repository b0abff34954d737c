#include "moelab/estimators/mle_nlopt.hpp"

#include <nlopt.hpp>

#include <algorithm>
#include <iterator>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "moelab/core/check.hpp"
#include "moelab/estimators/detail/fit_input.hpp"
#include "moelab/estimators/objective.hpp"
#include "moelab/estimators/variance_floor.hpp"
#include "moelab/model/gaussian_moe.hpp"

namespace moelab {
namespace {

// Local algorithms that accept bound constraints (the variance floor).
constexpr std::string_view kAlgorithms[] = {
    "LD_LBFGS",          "LD_MMA",           "LD_CCSAQ",
    "LD_SLSQP",          "LD_TNEWTON",       "LD_TNEWTON_PRECOND",
    "LD_TNEWTON_RESTART", "LD_TNEWTON_PRECOND_RESTART", "LD_VAR1",
    "LD_VAR2",           "LN_BOBYQA",        "LN_COBYLA",
    "LN_NELDERMEAD",     "LN_SBPLX",         "LN_NEWUOA_BOUND"};

bool IsAccepted(const std::string& name) {
  return std::find(std::begin(kAlgorithms), std::end(kAlgorithms), name) !=
         std::end(kAlgorithms);
}

// The state the NLopt objective callback shares with FitMleNlopt.
struct Tracker {
  const MoeObjective* objective = nullptr;
  const MleNloptOptions* options = nullptr;
  std::chrono::steady_clock::time_point start;
  int evaluations = 0;
  int improvements = 0;  // evaluations that improved the best point: the iterations
  double best_value = std::numeric_limits<double>::infinity();
  Vector best_x;
  bool non_finite = false;   // a trial point had a non-finite objective
  bool user_stopped = false;  // the callback returned kStop
  bool evaluation_cap = false;  // max_evaluations reached (enforced here: some
                                // NLopt algorithms check it only per iteration)
  std::vector<IterationSummary> history;
};

double NloptObjective(const std::vector<double>& x, std::vector<double>& grad, void* data) {
  Tracker& t = *static_cast<Tracker*>(data);
  // After a forced stop some algorithms still finish their current step;
  // those calls are neither counted nor evaluated.
  if (t.non_finite || t.user_stopped || t.evaluation_cap) return HUGE_VAL;
  if (t.evaluations >= t.options->max_evaluations) {
    t.evaluation_cap = true;
    throw nlopt::forced_stop();
  }
  ++t.evaluations;
  const Eigen::Map<const Vector> packed(x.data(), static_cast<Index>(x.size()));
  Vector gradient;
  const double value =
      t.objective->NegativeLogLikelihood(packed, grad.empty() ? nullptr : &gradient);
  if (!std::isfinite(value)) {
    // Stop rather than hand +inf to NLopt's line search; the best finite
    // iterate is kept (see the header).
    t.non_finite = true;
    throw nlopt::forced_stop();
  }
  if (!grad.empty()) Eigen::Map<Vector>(grad.data(), gradient.size()) = gradient;

  if (value < t.best_value) {
    IterationSummary summary;
    summary.iteration = ++t.improvements;
    summary.log_likelihood = -value;
    if (std::isfinite(t.best_value)) {
      summary.relative_change = std::abs(value - t.best_value) / std::abs(t.best_value);
      summary.parameter_change = (packed - t.best_x).lpNorm<Eigen::Infinity>();
    }
    summary.gradient_norm = grad.empty() ? 0.0 : gradient.norm();
    summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t.start).count();
    t.best_value = value;
    t.best_x = packed;
    if (t.options->record_history) t.history.push_back(summary);
    if (t.options->callback && t.options->callback(summary) == CallbackReturn::kStop) {
      t.user_stopped = true;
      throw nlopt::forced_stop();
    }
  }
  return value;
}

TerminationType FromResult(nlopt::result result) {
  switch (result) {
    case nlopt::SUCCESS:
    case nlopt::STOPVAL_REACHED:
    case nlopt::FTOL_REACHED:
    case nlopt::XTOL_REACHED: return TerminationType::kConverged;
    case nlopt::MAXEVAL_REACHED:
    case nlopt::MAXTIME_REACHED: return TerminationType::kMaxIterations;
    case nlopt::ROUNDOFF_LIMITED: return TerminationType::kStalled;
    case nlopt::FORCED_STOP: return TerminationType::kUserStopped;
    case nlopt::INVALID_ARGS: return TerminationType::kInvalidInput;
    default: return TerminationType::kNumericalFailure;
  }
}

}  // namespace

void MleNloptOptions::Validate() const {
  constexpr const char* kFn = "MleNloptOptions::Validate";
  if (!IsAccepted(algorithm)) {
    std::string valid;
    for (std::string_view name : kAlgorithms) {
      if (!valid.empty()) valid += ", ";
      valid += name;
    }
    ThrowInvalid(kFn, "algorithm '" + algorithm + "' is not a supported local NLopt "
                      "algorithm (valid: " + valid + ")");
  }
  if (max_evaluations < 1) {
    ThrowInvalid(kFn, "max_evaluations must be >= 1, got " + std::to_string(max_evaluations));
  }
  CheckNonNegative(kFn, "relative_tolerance", relative_tolerance);
  CheckNonNegative(kFn, "parameter_tolerance", parameter_tolerance);
  CheckVarianceFloor(kFn, variance_floor);
}

namespace {

// FitMleNlopt on the standardised problem (detail/fit_input.hpp).
FitResult FitMleStandardised(const Dataset& data, const MoeParams& init,
                             const MleNloptOptions& options) {
  constexpr const char* kFn = "FitMleNlopt";
  const auto start = std::chrono::steady_clock::now();
  options.Validate();
  detail::CheckFitInput(kFn, data, init);
  const MoeObjective objective(data, init, options.fit_temperature);
  const Index num_parameters = objective.num_parameters();
  detail::CheckEnoughObservations(kFn, data.size(), num_parameters);

  FitResult result;
  result.estimator = "mle-nlopt";

  // Starting point; variances below the floor are raised to it (counted).
  Vector x0 = objective.Pack(init);
  const double log_floor = std::log(options.variance_floor);
  // Upper bound only keeps exp(log nu) finite; it is never active in practice.
  const double log_ceiling = std::log(std::numeric_limits<double>::max()) - 1.0;
  std::vector<double> lower(num_parameters, -HUGE_VAL), upper(num_parameters, HUGE_VAL);
  for (Index i = 0; i < init.num_experts(); ++i) {
    const Index j = objective.log_variance_index(i);
    lower[j] = log_floor;
    upper[j] = log_ceiling;
    if (x0[j] < log_floor) x0[j] = log_floor;  // counted below if it stays there
  }

  Tracker tracker;
  tracker.objective = &objective;
  tracker.options = &options;
  tracker.start = start;
  tracker.best_x = x0;
  const double initial_value = objective.NegativeLogLikelihood(x0, nullptr);

  if (!std::isfinite(initial_value)) {
    result.termination = TerminationType::kNumericalFailure;
    result.message = "the log-likelihood at the starting point is not finite";
  } else {
    nlopt::opt opt(options.algorithm.c_str(), static_cast<unsigned>(num_parameters));
    opt.set_min_objective(NloptObjective, &tracker);
    opt.set_lower_bounds(lower);
    opt.set_upper_bounds(upper);
    opt.set_maxeval(options.max_evaluations);
    opt.set_ftol_rel(options.relative_tolerance);
    opt.set_xtol_rel(options.parameter_tolerance);
    std::vector<double> x(x0.data(), x0.data() + x0.size());
    double value = 0.0;
    std::string what;
    try {
      const nlopt::result code = opt.optimize(x, value);
      result.termination = FromResult(code);
      what = nlopt_result_to_string(static_cast<nlopt_result>(code));
    } catch (const nlopt::roundoff_limited& e) {
      result.termination = TerminationType::kStalled;
      what = std::string("ROUNDOFF_LIMITED (") + e.what() + ")";
    } catch (const nlopt::forced_stop& e) {
      result.termination = TerminationType::kUserStopped;
      what = std::string("FORCED_STOP (") + e.what() + ")";
    } catch (const std::invalid_argument& e) {
      result.termination = TerminationType::kInvalidInput;
      what = std::string("NLopt rejected the problem: ") + e.what();
    } catch (const std::runtime_error& e) {
      // NLOPT_FAILURE. Luksan's L-BFGS returns it when its line search finds
      // no decrease near an optimum, i.e. when round-off limits progress
      // (stevengj/nlopt#115); the best iterate is kept, so this is a stall.
      result.termination = TerminationType::kStalled;
      what = std::string("generic NLopt failure (") + e.what() +
             "), treated as round-off limited";
    }
    // Our own stops come first: after a forced stop an algorithm may still
    // report something else (Luksan's line search fails on the HUGE_VAL it
    // is handed and returns NLOPT_FAILURE).
    if (tracker.non_finite) {
      result.termination = TerminationType::kNumericalFailure;
      what = "stopped at a trial point with a non-finite log-likelihood";
    } else if (tracker.user_stopped) {
      result.termination = TerminationType::kUserStopped;
      what = "the iteration callback asked to stop";
    } else if (tracker.evaluation_cap) {
      result.termination = TerminationType::kMaxIterations;
      what = "MAXEVAL_REACHED";
    }
    std::ostringstream os;
    os << "NLopt " << options.algorithm << ": " << what << " after " << tracker.evaluations
       << " evaluations";
    Vector gradient;
    if (std::isfinite(objective.NegativeLogLikelihood(tracker.best_x, &gradient))) {
      os << "; gradient max-norm at the best iterate " << gradient.lpNorm<Eigen::Infinity>();
    }
    result.message = os.str();
  }

  result.params = objective.Unpack(tracker.best_x);
  result.iterations = tracker.improvements;
  result.evaluations = tracker.evaluations;
  result.history = std::move(tracker.history);
  result.variance_floor_hits = CountVarianceFloorHits(result.params, options.variance_floor);
  const double best_value =
      std::isfinite(tracker.best_value) ? tracker.best_value : initial_value;
  result.objective = best_value;
  result.log_likelihood = -best_value;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

FitResult FitMleNlopt(const Dataset& data, const MoeParams& init,
                      const MleNloptOptions& options) {
  return detail::FitInStandardisedUnits("FitMleNlopt", "mle-nlopt", data, init, options,
                                         detail::ObjectiveKind::kNegativeLogLikelihood, FitMleStandardised);
}

}  // namespace moelab
