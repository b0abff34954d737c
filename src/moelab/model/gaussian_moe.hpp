// The Gaussian mixture of experts
//
//   p(y | x) = sum_i g_i(x) N(y | a_i' x + b_i, variance_i),
//
// with any gate of model/gates. Everything is computed in log space with
// log-sum-exp; experts the gate does not select contribute exactly -inf.
#pragma once

#include "moelab/core/dataset.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

class GaussianMoe {
 public:
  // Validates the parameters (throws std::invalid_argument).
  explicit GaussianMoe(MoeParams params);

  const MoeParams& params() const { return params_; }
  Index num_experts() const { return params_.num_experts(); }
  Index dim() const { return params_.dim(); }

  // log g_i(x_n) + log N(y_n | m_ni, variance_i)   (n x k)
  Matrix JointLogTerms(const Eigen::Ref<const Matrix>& X,
                       const Eigen::Ref<const Vector>& y) const;
  // log p(y_n | x_n) for every row.
  Vector LogDensities(const Eigen::Ref<const Matrix>& X,
                      const Eigen::Ref<const Vector>& y) const;
  double LogDensity(const Eigen::Ref<const Vector>& x, double y) const;
  // sum_n log p(y_n | x_n). Checks the data (throws on NaN/Inf or mismatch).
  double LogLikelihood(const Dataset& data) const;
  // Posterior expert probabilities r_ni = P(z_n = i | x_n, y_n)  (n x k).
  Matrix Responsibilities(const Dataset& data) const;
  // E[y | x] and Var[y | x] for every row of X.
  Vector ConditionalMean(const Eigen::Ref<const Matrix>& X) const;
  Vector ConditionalVariance(const Eigen::Ref<const Matrix>& X) const;

 private:
  void CheckData(const Eigen::Ref<const Matrix>& X, Index rows_of_y) const;
  MoeParams params_;
};

}  // namespace moelab
