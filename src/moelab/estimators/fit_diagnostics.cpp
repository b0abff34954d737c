#include "moelab/estimators/fit_diagnostics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "moelab/core/log_sum_exp.hpp"
#include "moelab/estimators/prediction.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

const char* ToString(FitWarningKind kind) {
  switch (kind) {
    case FitWarningKind::kNotConverged: return "not-converged";
    case FitWarningKind::kQuasiSeparation: return "quasi-separation";
    case FitWarningKind::kSpuriousComponent: return "spurious-component";
    case FitWarningKind::kVarianceFloor: return "variance-floor";
    case FitWarningKind::kEmptyExpert: return "empty-expert";
    case FitWarningKind::kLikelihoodDrop: return "likelihood-drop";
    case FitWarningKind::kMinPriorNotMet: return "min-prior-not-met";
  }
  return "?";
}

namespace {

void AddQuasiSeparation(const Dataset& data, const MoeParams& params,
                        std::vector<FitWarning>* warnings) {
  const Index k = params.num_experts(), d = params.dim();
  if (k < 2) return;
  const Matrix logits = GateFor(params.gate.kind).SelectedLogits(params.gate, data.X);
  const Matrix weights = ExpOfLog(GateLogWeights(params.gate, data.X));
  const double min_points = kMinTransitionPointsPerGateParameter * static_cast<double>(d + 1);
  for (Index i = 0; i < k; ++i) {
    for (Index j = i + 1; j < k; ++j) {
      // Only where the pair carries most of the gate mass does its log-odds
      // decide anything; elsewhere a third expert dominates.
      double low = std::numeric_limits<double>::infinity(), high = -low;
      Index in_band = 0;
      for (Index n = 0; n < data.size(); ++n) {
        if (!std::isfinite(logits(n, i)) || !std::isfinite(logits(n, j))) continue;
        if (weights(n, i) + weights(n, j) < 0.5) continue;
        const double log_odds = logits(n, i) - logits(n, j);
        low = std::min(low, log_odds);
        high = std::max(high, log_odds);
        if (std::abs(log_odds) < kTransitionLogOdds) ++in_band;
      }
      if (!(low < -kTransitionLogOdds && high > kTransitionLogOdds)) continue;  // no switch
      if (static_cast<double>(in_band) >= min_points) continue;
      std::ostringstream os;
      os.precision(4);
      os << "gate between experts " << i << " and " << j << " switches from log-odds " << low
         << " to " << high << " with only " << in_band
         << " data point(s) in the 1%-99% transition (quasi-separation): the data do not bound "
            "the gate slope, so the gate parameters and their standard errors are not "
            "meaningful";
      warnings->push_back({FitWarningKind::kQuasiSeparation, i, j, os.str()});
    }
  }
}

void AddSpurious(const Dataset& data, const MoeParams& params,
                 std::vector<FitWarning>* warnings) {
  const Index k = params.num_experts(), d = params.dim();
  if (k < 2) return;  // one expert holds all the data: nothing to be spurious against
  const Vector sizes = Posteriors(params, data.X, data.y).colwise().sum().transpose();
  const double n = static_cast<double>(data.size());
  const double min_points = kMinPointsPerExpertParameter * static_cast<double>(d + 2);
  const Vector& variance = params.experts.variance;
  for (Index i = 0; i < k; ++i) {
    double other_min = std::numeric_limits<double>::infinity();
    for (Index j = 0; j < k; ++j) {
      if (j != i) other_min = std::min(other_min, variance[j]);
    }
    const bool few = sizes[i] < min_points;
    const bool narrow = sizes[i] < kSpuriousShare * n &&
                        variance[i] < kSpuriousVarianceRatio * other_min;
    if (!few && !narrow) continue;
    std::ostringstream os;
    os.precision(4);
    os << "expert " << i << " rests on " << sizes[i] << " effective point(s) (share "
       << sizes[i] / n << ") with variance " << variance[i] << " (smallest other variance "
       << other_min << ")";
    os << ": likely a spurious near-degenerate component; refit with a minimum prior "
          "(e.g. min_prior 0.05) or fewer experts";
    warnings->push_back({FitWarningKind::kSpuriousComponent, i, -1, os.str()});
  }
}

}  // namespace

std::vector<FitWarning> DiagnoseFit(const Dataset& data, const FitResult& result) {
  std::vector<FitWarning> warnings;
  if (result.termination != TerminationType::kConverged) {
    warnings.push_back({FitWarningKind::kNotConverged, -1, -1,
                        std::string("the fit did not converge: ") +
                            ToString(result.termination) + " (" + result.message + ")"});
  }
  if (result.variance_floor_hits > 0) {
    warnings.push_back({FitWarningKind::kVarianceFloor, -1, -1,
                        "an expert variance was raised to the estimator's floor " +
                            std::to_string(result.variance_floor_hits) + " time(s)"});
  }
  if (result.empty_expert_events > 0) {
    warnings.push_back({FitWarningKind::kEmptyExpert, -1, -1,
                        "an expert lost (almost) all its responsibility " +
                            std::to_string(result.empty_expert_events) +
                            " time(s) and kept its previous parameters"});
  }
  if (result.likelihood_decreases > 0) {
    warnings.push_back({FitWarningKind::kLikelihoodDrop, -1, -1,
                        "the log-likelihood fell in " +
                            std::to_string(result.likelihood_decreases) +
                            " iteration(s) (top-K selection switches)"});
  }
  AddQuasiSeparation(data, result.params, &warnings);
  AddSpurious(data, result.params, &warnings);
  return warnings;
}

}  // namespace moelab
