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

}  // namespace moelab
