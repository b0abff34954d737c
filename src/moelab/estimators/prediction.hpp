// Using a fitted mixture of experts on new data: predictions from x alone,
// posterior expert probabilities and MAP labels from (x, y), and the
// held-out log-likelihood for cross-validation. Thin, checked wrappers
// around GaussianMoe (model/gaussian_moe.hpp), so that callers need only the
// parameters.
#pragma once

#include "moelab/core/dataset.hpp"
#include "moelab/core/types.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct MoePrediction {
  Vector mean;                // E[y | x_n] = sum_i g_i(x_n) (a_i' x_n + b_i)
  Vector variance;            // Var[y | x_n] (law of total variance; a variance, not sd)
  Matrix gate_probabilities;  // g_i(x_n), n x k (0 for experts a top-K gate drops)
  Matrix expert_means;        // a_i' x_n + b_i, n x k
};

// Predictions at the rows of X (n x d, n >= 0). Throws std::invalid_argument
// when X has the wrong number of columns or a non-finite entry.
MoePrediction Predict(const MoeParams& params, const Eigen::Ref<const Matrix>& X);

// Posterior expert probabilities r_ni = P(z_n = i | x_n, y_n), n x k (rows
// sum to 1). Throws std::invalid_argument on mismatched sizes or NaN/Inf.
Matrix Posteriors(const MoeParams& params, const Eigen::Ref<const Matrix>& X,
                  const Eigen::Ref<const Vector>& y);

// argmax_i of every row (ties: the lower index), the MAP classification.
IntVector MapLabels(const Eigen::Ref<const Matrix>& posteriors);

// sum_n log p(y_n | x_n) of data not used for the fit (equals
// GaussianMoe(params).LogLikelihood(data)); divide by data.size() for the
// mean held-out log predictive density. Throws on invalid data.
double HeldOutLogLikelihood(const MoeParams& params, const Dataset& data);

}  // namespace moelab
