#include "moelab/estimators/prediction.hpp"

#include "moelab/core/check.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"

namespace moelab {

MoePrediction Predict(const MoeParams& params, const Eigen::Ref<const Matrix>& X) {
  constexpr const char* kFn = "Predict";
  const GaussianMoe model(params);
  CheckSize(kFn, "X columns (d)", X.cols(), model.dim());
  CheckAllFinite(kFn, "X", X);
  MoePrediction out;
  out.mean = model.ConditionalMean(X);
  out.variance = model.ConditionalVariance(X);
  out.gate_probabilities = ExpOfLog(GateLogWeights(params.gate, X));
  out.expert_means = ExpertMeans(params.experts, X);
  return out;
}

Matrix Posteriors(const MoeParams& params, const Eigen::Ref<const Matrix>& X,
                  const Eigen::Ref<const Vector>& y) {
  Dataset data{X, y, std::nullopt};
  data.Validate();
  return GaussianMoe(params).Responsibilities(data);
}

IntVector MapLabels(const Eigen::Ref<const Matrix>& posteriors) {
  IntVector labels(posteriors.rows());
  for (Index n = 0; n < posteriors.rows(); ++n) {
    Index best = 0;
    for (Index i = 1; i < posteriors.cols(); ++i) {
      if (posteriors(n, i) > posteriors(n, best)) best = i;  // strict: ties keep the lower
    }
    labels[n] = static_cast<int>(best);
  }
  return labels;
}

double HeldOutLogLikelihood(const MoeParams& params, const Dataset& data) {
  return GaussianMoe(params).LogLikelihood(data);
}

}  // namespace moelab
