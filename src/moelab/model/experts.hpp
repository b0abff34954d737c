// Linear Gaussian experts: expert i predicts y ~ N(a_i' x + b_i, variance_i).
// The scale parameter is the VARIANCE everywhere in moelab (the [Demyst] code
// compares variances in its losses); names say so.
#pragma once

#include "moelab/core/types.hpp"

namespace moelab {

struct ExpertParams {
  Matrix slope;      // a, k x d (row i is a_i)
  Vector intercept;  // b, length k
  Vector variance;   // nu, length k, > 0

  Index num_experts() const { return intercept.size(); }
  Index dim() const { return slope.cols(); }

  // Throws std::invalid_argument naming the field: sizes, non-finite values,
  // variance <= 0.
  void Validate() const;
};

// Means m_ni = a_i' x_n + b_i (n x k).
Matrix ExpertMeans(const ExpertParams& experts, const Eigen::Ref<const Matrix>& X);

// log N(y_n | m_ni, variance_i) (n x k).
Matrix ExpertLogDensities(const ExpertParams& experts, const Eigen::Ref<const Matrix>& X,
                          const Eigen::Ref<const Vector>& y);

}  // namespace moelab
