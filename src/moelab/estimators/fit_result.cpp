#include "moelab/estimators/fit_result.hpp"

#include <iomanip>
#include <sstream>

#include "moelab/io/params_json.hpp"

namespace moelab {

std::string FitResult::BriefReport() const {
  std::ostringstream os;
  os << estimator << ": " << ToString(termination) << ", log-likelihood "
     << std::setprecision(10) << log_likelihood << ", " << iterations << " iterations, "
     << evaluations << " evaluations, "
     << std::setprecision(3) << seconds << " s";
  if (restarts > 1) os << " (best of " << restarts << " starts: #" << best_restart << ")";
  return os.str();
}

std::string FitResult::FullReport() const {
  std::ostringstream os;
  os << BriefReport() << "\n"
     << "  message: " << message << "\n"
     << "  objective: " << std::setprecision(12) << objective << "\n"
     << "  variance floor hits: " << variance_floor_hits
     << ", empty-expert events: " << empty_expert_events
     << ", log-likelihood decreases: " << likelihood_decreases << "\n"
     << "  parameters:\n" << ParamsToJson(params);
  return os.str();
}

int CountVarianceFloorHits(const MoeParams& params, double floor) {
  int hits = 0;
  for (Index i = 0; i < params.num_experts(); ++i) {
    if (params.experts.variance[i] <= floor * (1.0 + 1e-9)) ++hits;
  }
  return hits;
}

}  // namespace moelab
