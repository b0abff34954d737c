#include "moelab/estimators/fit_moe.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "moelab/core/check.hpp"
#include "moelab/core/parallel_for.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/estimators/accelerated_em.hpp"
#include "moelab/estimators/free_parameters.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/prediction.hpp"
#include "moelab/model/gaussian_moe.hpp"

namespace moelab {

const char* ToString(FitEstimator estimator) {
  switch (estimator) {
    case FitEstimator::kEm: return "em";
    case FitEstimator::kMle: return "mle";
    case FitEstimator::kLse: return "lse";
  }
  return "?";
}

FitEstimator ParseFitEstimator(const std::string& name) {
  if (name == "em") return FitEstimator::kEm;
  if (name == "mle") return FitEstimator::kMle;
  if (name == "lse") return FitEstimator::kLse;
  ThrowInvalid("ParseFitEstimator", "unknown estimator '" + name + "' (valid: em, mle, lse)");
}

EmOptions FitOptions::DefaultEm() {
  EmOptions em;
  em.relative_tolerance = 1e-10;
  em.gate_newton_steps = 1;
  return em;
}

void FitOptions::Validate() const {
  constexpr const char* kFn = "FitOptions::Validate";
  if (num_starts < 0) ThrowInvalid(kFn, "num_starts must be >= 0");
  if (num_starts + initial_params.size() < 1) {
    ThrowInvalid(kFn, "num_starts + initial_params.size() must be >= 1");
  }
  if (num_threads < 1) ThrowInvalid(kFn, "num_threads must be >= 1");
  if (!(min_prior >= 0.0 && min_prior < 1.0)) ThrowInvalid(kFn, "min_prior must be in [0, 1)");
  em.Validate();
  mle.Validate();
  lse.Validate();
}

Index NumModelParameters(const ModelShape& shape, bool fit_temperature) {
  shape.Validate();
  if (shape.num_experts == 1) return shape.dim + 2;
  return NumFreeParameters(shape, fit_temperature);
}

Index NumModelParameters(const MoeParams& params, bool fit_temperature) {
  return NumModelParameters(ShapeOf(params), fit_temperature);
}

namespace {

// The starting parameters take the shape's fixed gate options (K, ranking,
// activation, tau) so that a user start cannot change the model fitted.
void CheckStartMatches(const MoeParams& start, const ModelShape& shape, std::size_t index) {
  const std::string what = "initial_params[" + std::to_string(index) + "]";
  start.Validate();
  const ModelShape s = ShapeOf(start);
  if (s.gate != shape.gate || s.num_experts != shape.num_experts || s.dim != shape.dim ||
      (shape.gate == GateKind::kTopK && (s.top_k != shape.top_k || s.ranking != shape.ranking)) ||
      (shape.gate == GateKind::kActivation && s.activation != shape.activation)) {
    ThrowInvalid("FitMoe", what + " does not have the shape being fitted (gate " +
                               ToString(shape.gate) + ", k = " +
                               std::to_string(shape.num_experts) + ", d = " +
                               std::to_string(shape.dim) + ")");
  }
}

// Expert shares pi_i = sum_n r_ni / n at params.
Vector ComponentSizes(const Dataset& data, const MoeParams& params) {
  return Posteriors(params, data.X, data.y).colwise().sum().transpose();
}

bool Higher(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a > b;
}

}  // namespace

FitResult FitFromStart(const Dataset& data, const MoeParams& start, const FitOptions& options,
                       int threads_per_fit) {
  switch (options.estimator) {
    case FitEstimator::kEm: {
      EmOptions em = options.em;
      em.num_threads = threads_per_fit;
      em.fit_temperature = options.fit_temperature;
      em.callback = nullptr;
      if (!options.squarem) return FitEm(data, start, em);
      AcceleratedEmOptions accelerated;
      accelerated.em = em;
      return FitAcceleratedEm(data, start, accelerated);
    }
    case FitEstimator::kMle: {
      MleNloptOptions mle = options.mle;
      mle.fit_temperature = options.fit_temperature;
      mle.callback = nullptr;
      return FitMleNlopt(data, start, mle);
    }
    case FitEstimator::kLse: {
      LseCeresOptions lse = options.lse;
      lse.callback = nullptr;
      return FitLseCeres(data, start, lse);
    }
  }
  ThrowInvalid("FitMoe", "unknown estimator");
}

MoeFit FitMoe(const Dataset& data, const ModelShape& shape, const FitOptions& options) {
  constexpr const char* kFn = "FitMoe";
  const auto start_time = std::chrono::steady_clock::now();
  options.Validate();
  data.Validate();
  shape.Validate();
  CheckSize(kFn, "shape.dim (the data have d columns of x)", shape.dim, data.dim());
  const Index p = NumModelParameters(shape, options.fit_temperature);
  if (data.size() < p) {
    ThrowInvalid(kFn, "n = " + std::to_string(data.size()) + " is smaller than the " +
                          std::to_string(p) + " free parameters of k = " +
                          std::to_string(shape.num_experts) + " experts");
  }
  for (std::size_t s = 0; s < options.initial_params.size(); ++s) {
    CheckStartMatches(options.initial_params[s], shape, s);
  }

  // Every start is drawn before any fit, in order, from one stream per k.
  std::vector<MoeParams> starts = options.initial_params;
  Rng rng(DeriveSeed(options.seed, static_cast<std::uint64_t>(shape.num_experts), 0));
  for (int s = 0; s < options.num_starts; ++s) {
    starts.push_back(s % 2 == 0 ? InitDataDriven(data, shape, rng) : InitRandom(data, shape, rng));
  }

  // Fits, in parallel over starts when asked; each fit is deterministic and
  // single-threaded then, so results do not depend on the thread count.
  // Bad input: the first start's reason is rethrown.
  const std::size_t num = starts.size();
  std::vector<FitResult> fits(num);
  const int threads = static_cast<int>(std::min<std::size_t>(options.num_threads, num));
  const int threads_per_fit = threads > 1 ? 1 : options.num_threads;
  ParallelFor(static_cast<int>(num), threads, [&](int s) {
    fits[s] = FitFromStart(data, starts[s], options, threads_per_fit);
  });

  MoeFit out;
  out.shape = shape;
  out.estimator = options.estimator;
  out.fit_temperature = options.fit_temperature && ZeroGate(shape).uses_temperature() &&
                        options.estimator != FitEstimator::kLse;
  const double n = static_cast<double>(data.size());
  int best_passing = -1, best_usable = -1, best_any = -1;
  std::vector<Vector> sizes(num);
  for (std::size_t s = 0; s < num; ++s) {
    const FitResult& fit = fits[s];
    const int si = static_cast<int>(s);
    if (best_any < 0 || Higher(fit.log_likelihood, fits[best_any].log_likelihood)) best_any = si;
    if (!fit.IsUsable()) {
      ++out.starts_failed;
      continue;
    }
    if (best_usable < 0 || Higher(fit.log_likelihood, fits[best_usable].log_likelihood)) {
      best_usable = si;
    }
    sizes[s] = ComponentSizes(data, fit.params);
    if (options.min_prior > 0.0 && sizes[s].minCoeff() < options.min_prior * n) {
      ++out.starts_below_min_prior;
      continue;
    }
    if (best_passing < 0 || Higher(fit.log_likelihood, fits[best_passing].log_likelihood)) {
      best_passing = si;
    }
  }
  const int kept = best_passing >= 0 ? best_passing : (best_usable >= 0 ? best_usable : best_any);
  out.result = std::move(fits[kept]);
  out.result.restarts = static_cast<int>(num);
  out.result.best_restart = kept;
  if (best_usable < 0) {
    std::ostringstream os;
    os << "no usable start among " << num << "; best unusable start #" << kept << ": "
       << out.result.message;
    out.result.message = os.str();
  }

  if (out.result.IsUsable()) {
    out.criteria = ComputeInformationCriteria(data, out.result.params, p, options.icl);
    const InformationCriteria other = ComputeInformationCriteria(
        data, out.result.params, p,
        options.icl == IclKind::kSoftEntropy ? IclKind::kHardClassification
                                             : IclKind::kSoftEntropy);
    out.icl_soft = options.icl == IclKind::kSoftEntropy ? out.criteria.icl : other.icl;
    out.icl_hard = options.icl == IclKind::kSoftEntropy ? other.icl : out.criteria.icl;
    out.component_size = sizes[kept];
    out.warnings = DiagnoseFit(data, out.result);
    if (options.min_prior > 0.0 && best_passing < 0) {
      std::ostringstream os;
      os << "every usable start (" << out.starts_below_min_prior
         << ") left an expert with a share below min_prior = " << options.min_prior
         << "; kept the best of them (smallest share "
         << out.component_size.minCoeff() / n << ")";
      out.warnings.push_back({FitWarningKind::kMinPriorNotMet, -1, -1, os.str()});
    }
  } else {
    out.criteria.log_likelihood = out.result.log_likelihood;
    out.criteria.num_parameters = p;
    const double nan = std::nan("");
    out.criteria.aic = out.criteria.bic = out.criteria.icl = nan;
    out.icl_soft = out.icl_hard = nan;
    out.warnings.push_back({FitWarningKind::kNotConverged, -1, -1,
                            std::string("no usable fit: ") + ToString(out.result.termination) +
                                " (" + out.result.message + ")"});
  }
  out.result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  return out;
}

}  // namespace moelab
