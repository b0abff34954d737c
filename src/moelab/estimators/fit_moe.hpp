// One call to fit a Gaussian mixture of experts to data: the best of several
// starts by EM, direct MLE or least squares, with the information criteria,
// component sizes and the warnings a user needs (in the spirit of R's
// flexmix() and scikit-learn's GaussianMixture.fit).
//
//   FitOptions options;               // 10 starts, seed 1, EM
//   ModelShape shape;                 // softmax gate, k = 2, d = 1
//   shape.dim = data.dim();
//   MoeFit fit = FitMoe(data, shape, options);
//   fit.params(), fit.criteria.bic, fit.warnings ...
//
// Starts: options.initial_params first (in order), then options.num_starts
// drawn starts alternating data-driven (k-means, even indices) and random
// (odd indices) initialisation (estimators/initialization.hpp). All drawn
// starts come, in order, from one generator seeded with
// DeriveSeed(options.seed, k, 0): a fit with k experts gets the same starts
// whatever the gate, whatever else is fitted around it (SelectNumExperts
// rows equal single FitMoe calls) and whatever the thread count.
//
// The kept start is the usable fit (IsUsable) with the highest
// log-likelihood (ties: the earliest) among those that pass the minimum
// prior guard (below); if no start passes, the best usable start is kept
// and a kMinPriorNotMet warning says so.
//
// Minimum prior (flexmix's `minprior`, default 0.05 there, 0 = off here):
// the prior of expert i is its share of the data, pi_i = sum_n r_ni / n (r
// the posterior probabilities). A start whose fit has some pi_i < min_prior
// is not kept. This guards against spurious near-degenerate solutions (a few
// points on one expert with a tiny variance, which raise the likelihood
// without describing the data; Hathaway 1985, McLachlan & Peel 2000 §3.10).
// flexmix removes such a component and continues with k - 1; moelab keeps k
// fixed and chooses among starts instead, so the fitted shape is the one
// asked for. The guard therefore only helps when some start avoids the small
// expert: when every start ends with one (e.g. a tight group of outliers
// that every start isolates), the best is kept with a kMinPriorNotMet
// warning, and fewer experts are the remedy. The EM variance floor (EmOptions::variance_floor) is a separate
// safeguard owned by the estimator.
//
// Parameter count: NumModelParameters (free parameters once the gauge is
// fixed, estimators/free_parameters.hpp; with k = 1 the gate is identically 1
// and contributes none). The caller never passes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/fit_diagnostics.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/estimators/lse_ceres.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/estimators/model_selection.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

enum class FitEstimator {
  kEm,   // "em": expectation-maximisation (estimators/em.hpp)
  kMle,  // "mle": direct maximum likelihood through NLopt (estimators/mle_nlopt.hpp)
  kLse,  // "lse": least squares of the mean function through Ceres
         // (estimators/lse_ceres.hpp; variances are RSS / n, not fitted)
};

const char* ToString(FitEstimator estimator);
// "em", "mle", "lse"; throws std::invalid_argument listing the valid names.
FitEstimator ParseFitEstimator(const std::string& name);

struct FitOptions {
  FitEstimator estimator = FitEstimator::kEm;
  int num_starts = 10;         // drawn starts (data-driven / random alternating); >= 0,
                               // and num_starts + initial_params.size() >= 1
  std::uint64_t seed = 1;      // seeds every drawn start (see the header comment)
  int num_threads = 1;         // starts run in parallel on this many threads (each fit
                               // single-threaded); results do not depend on it; >= 1
  double min_prior = 0.0;      // minimum expert share pi_i = sum_n r_ni / n of a kept
                               // start (flexmix `minprior`); 0 = off; in [0, 1)
  bool fit_temperature = false;  // temperature/activation gates: also fit tau (EM, MLE)
  IclKind icl = IclKind::kSoftEntropy;  // which ICL MoeFit::criteria.icl holds
  std::vector<MoeParams> initial_params;  // user starts, tried before the drawn ones

  // EM (estimator kEm) accelerated by SQUAREM (estimators/accelerated_em.hpp:
  // the EM map extrapolated, every cycle at least as good as two EM steps);
  // false runs plain EM (estimators/em.hpp). Both stop on em's rules; with
  // SQUAREM they are judged on the change over a cycle of up to three EM
  // maps, a stricter rule. Same optimum, about half the passes over the data
  // (README "Performance").
  bool squarem = true;
  // Options of the individual estimators. Their num_threads, fit_temperature
  // and callback fields are overridden by the fields above (callbacks are
  // not used: starts may run in parallel). The EM default here is stricter
  // than EmOptions' published-protocol 1e-6, because standard errors need
  // the score to vanish at the estimate, and generalised (one gate Newton
  // step per iteration far from the fit, EmOptions::gate_newton_steps = 1):
  // fewer passes, the same fixed points.
  EmOptions em = DefaultEm();
  MleNloptOptions mle;
  LseCeresOptions lse;

  static EmOptions DefaultEm();  // EmOptions with relative_tolerance = 1e-10,
                                 // gate_newton_steps = 1

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

struct MoeFit {
  ModelShape shape;              // the shape that was fitted
  FitEstimator estimator = FitEstimator::kEm;
  bool fit_temperature = false;  // tau was fitted (FitOptions::fit_temperature and a
                                 // gate with a temperature)
  FitResult result;              // the kept start: params, log-likelihood, termination,
                                 // repairs; restarts = starts tried, best_restart = its index
  InformationCriteria criteria;  // log-likelihood, NumModelParameters, AIC, BIC and ICL
                                 // (kind options.icl) at result.params
  double icl_soft = 0.0;         // both ICL definitions, whatever options.icl says
  double icl_hard = 0.0;
  Vector component_size;         // sum_n r_ni per expert (effective number of points)
  int starts_failed = 0;         // starts whose fit was not usable
  int starts_below_min_prior = 0;  // usable starts rejected by the min_prior guard
  std::vector<FitWarning> warnings;  // fit diagnostics (fit_diagnostics.hpp)

  const MoeParams& params() const { return result.params; }
  double log_likelihood() const { return result.log_likelihood; }
  bool IsUsable() const { return result.IsUsable(); }
  bool converged() const { return result.termination == TerminationType::kConverged; }
};

// Free parameters of a model of this shape (gauge fixed): NumFreeParameters,
// except that a single expert has no gate parameters (d + 2 in all).
Index NumModelParameters(const ModelShape& shape, bool fit_temperature);
Index NumModelParameters(const MoeParams& params, bool fit_temperature);

// The fit of one start exactly as FitMoe runs it (options.estimator, with
// options.squarem for EM), single-threaded unless threads_per_fit > 1; for
// drivers that time or record starts one by one.
FitResult FitFromStart(const Dataset& data, const MoeParams& start, const FitOptions& options,
                       int threads_per_fit = 1);

// Fits `shape` to `data` (see the header comment). Throws
// std::invalid_argument for invalid options, data (NaN/Inf, shape.dim !=
// data.dim()), shape, or n smaller than NumModelParameters(shape). When no
// start gives a usable fit, returns the best unusable one with its
// termination (never throws for numerical trouble).
MoeFit FitMoe(const Dataset& data, const ModelShape& shape, const FitOptions& options);

}  // namespace moelab
