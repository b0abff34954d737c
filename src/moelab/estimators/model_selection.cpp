#include "moelab/estimators/model_selection.hpp"

#include <cmath>

#include "moelab/core/check.hpp"
#include "moelab/model/gaussian_moe.hpp"

namespace moelab {

InformationCriteria ComputeInformationCriteria(const Dataset& data, const MoeParams& params,
                                               Index num_parameters) {
  if (num_parameters < 1) {
    ThrowInvalid("ComputeInformationCriteria", "num_parameters must be >= 1");
  }
  const GaussianMoe model(params);
  const Matrix responsibilities = model.Responsibilities(data);  // validates data
  InformationCriteria ic;
  ic.log_likelihood = model.LogLikelihood(data);
  ic.num_parameters = num_parameters;
  for (Index i = 0; i < responsibilities.size(); ++i) {
    const double r = responsibilities.data()[i];
    if (r > 0.0) ic.entropy -= r * std::log(r);  // 0 log 0 = 0
  }
  const double n = static_cast<double>(data.size());
  ic.aic = -2.0 * ic.log_likelihood + 2.0 * num_parameters;
  ic.bic = -2.0 * ic.log_likelihood + num_parameters * std::log(n);
  ic.icl = ic.bic + 2.0 * ic.entropy;
  return ic;
}

const char* ToString(IclKind kind) {
  return kind == IclKind::kSoftEntropy ? "soft" : "hard";
}

IclKind ParseIclKind(const std::string& name) {
  if (name == "soft") return IclKind::kSoftEntropy;
  if (name == "hard") return IclKind::kHardClassification;
  ThrowInvalid("ParseIclKind", "unknown ICL kind '" + name + "' (valid: soft, hard)");
}

InformationCriteria ComputeInformationCriteria(const Dataset& data, const MoeParams& params,
                                               Index num_parameters, IclKind kind) {
  InformationCriteria ic = ComputeInformationCriteria(data, params, num_parameters);
  if (kind == IclKind::kSoftEntropy) return ic;
  const Matrix responsibilities = GaussianMoe(params).Responsibilities(data);
  double penalty = 0.0;
  for (Index n = 0; n < responsibilities.rows(); ++n) {
    // The MAP label's posterior is >= 1/k > 0, so its log is finite.
    penalty -= std::log(responsibilities.row(n).maxCoeff());
  }
  ic.entropy = penalty;
  ic.icl = ic.bic + 2.0 * penalty;
  return ic;
}

}  // namespace moelab
