// The input checks every Fit* entry point (EM, NLopt MLE, Ceres LSE) makes
// after validating its own options (private). One place, so that the
// estimators refuse the same inputs with the same words: bad data or a bad
// start throw at the API boundary (Dataset/MoeParams::Validate name the row
// and column), and a sample smaller than the number of parameters being
// fitted throws rather than handing the optimiser an under-determined problem.
#pragma once

#include <limits>
#include <string>
#include <string_view>

#include "moelab/core/dataset.hpp"
#include "moelab/core/termination.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab::detail {

// Validates `data` and `init` and checks that init's dimension d equals the
// number of X columns.
void CheckFitInput(std::string_view function, const Dataset& data, const MoeParams& init);

// Throws unless n >= num_parameters. `parameter_kind` names what is counted
// in the message ("free parameters", "free mean parameters"). Separate from
// CheckFitInput because the count is known only once init is valid.
void CheckEnoughObservations(std::string_view function, Index n, Index num_parameters,
                             std::string_view parameter_kind = "free parameters");

// Scale equivariance. Every estimator fits the standardised problem
//
//   y' = (y - m) / s,   x'_j = x_j / t_j,
//
// m = mean y, s = sqrt(Var y), t_j = sqrt(mean x_j^2) (1 for an all-zero
// column), and maps the fit back exactly: a_j = a'_j s / t_j, b = s b' + m,
// nu = s^2 nu', beta1_j = beta1'_j / t_j (beta0 and tau unchanged), and
// l = l' - n log s. x is only scaled, not centred: the activation gate
// act(beta1' x) cannot absorb a shift of x. So the variance floor
// (variance_floor.hpp), the stopping rules on the log-likelihood and every
// optimiser tolerance act on the same problem whatever the units of x and y,
// and fitting c y (c x) gives the correspondingly scaled parameters.
// The scales are the exact moments, not powers of two: then the standardised
// data of c y are those of y up to one rounding for every c, and so is the
// whole optimisation path (a power of two would leave a factor in
// [1/sqrt 2, sqrt 2] that the relative stopping rule would see).
//
// Constant y (Var y = 0) is refused: the likelihood is unbounded (one expert
// on the constant with variance -> 0), so no fit would mean anything.
class StandardisedProblem {
 public:
  // `data` and `init` must already pass CheckFitInput. Throws
  // std::invalid_argument naming `function` for constant y.
  StandardisedProblem(std::string_view function, const Dataset& data, const MoeParams& init);

  // False when the start is not a valid model in the standardised units (a
  // variance that underflows next to a huge y spread): numerical trouble,
  // which the estimators report through StartFailure() rather than throw.
  bool start_usable() const { return start_problem_.empty(); }
  // kNumericalFailure with the (gauge-normalised) original start,
  // log-likelihood -inf, objective `objective`, and the reason.
  FitResult StartFailure(const std::string& estimator, const MoeParams& init, double objective) const;

  const Dataset& data() const { return data_; }
  const MoeParams& init() const { return init_; }
  double y_shift() const { return y_shift_; }
  double y_scale() const { return y_scale_; }

  MoeParams ToStandardised(const MoeParams& params) const;
  MoeParams ToOriginal(const MoeParams& params) const;
  // l = l' - n log s (-inf stays -inf).
  double LogLikelihoodToOriginal(double log_likelihood) const;
  // The caller's callback, seeing log-likelihoods in the data's units.
  IterationCallback WrapCallback(const IterationCallback& callback) const;
  // Maps params, log_likelihood and the history's log-likelihoods back and
  // appends the floor hits to the message ("N variance-floor hits (floor F
  // in the units of y)") unless it already reports them. The caller maps
  // `objective`, whose meaning is the estimator's.
  void Restore(FitResult* result, double variance_floor) const;

 private:
  Dataset data_;
  MoeParams init_;
  double y_shift_ = 0.0, y_scale_ = 1.0;
  Vector x_scale_;
  std::string start_problem_;
};

// What FitResult::objective means for an estimator: how it maps back.
enum class ObjectiveKind { kLogLikelihood, kNegativeLogLikelihood, kSumOfSquares };

// The public entry point of every estimator: checks the input, fits the
// standardised problem with `fit_standardised` (options' callback wrapped to
// see the data's units) and maps the result back. `Options` has
// `variance_floor` and `callback`.
template <typename Options, typename Fit>
FitResult FitInStandardisedUnits(std::string_view function, const std::string& estimator,
                                 const Dataset& data, const MoeParams& init, const Options& options,
                                 ObjectiveKind objective, Fit fit_standardised) {
  options.Validate();
  CheckFitInput(function, data, init);
  const StandardisedProblem problem(function, data, init);
  if (!problem.start_usable()) {
    const double inf = std::numeric_limits<double>::infinity();
    return problem.StartFailure(estimator, init, objective == ObjectiveKind::kLogLikelihood ? -inf : inf);
  }
  Options standardised = options;
  standardised.callback = problem.WrapCallback(options.callback);
  FitResult result = fit_standardised(problem.data(), problem.init(), standardised);
  problem.Restore(&result, options.variance_floor);
  switch (objective) {
    case ObjectiveKind::kLogLikelihood: result.objective = result.log_likelihood; break;
    case ObjectiveKind::kNegativeLogLikelihood: result.objective = -result.log_likelihood; break;
    case ObjectiveKind::kSumOfSquares: result.objective *= problem.y_scale() * problem.y_scale(); break;
  }
  return result;
}

}  // namespace moelab::detail
