#include "support/standard_errors.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "moelab/estimators/objective.hpp"

namespace moelab::testing {

Vector StandardErrors(const Dataset& data, const MoeParams& at) {
  const MoeObjective objective(data, at, false);
  const Vector x = objective.Pack(at);
  const Index m = x.size();
  Matrix H(m, m);
  Vector plus, minus;
  for (Index j = 0; j < m; ++j) {
    // Central differences of the analytic gradient: truncation ~ h^2, round-off
    // ~ 1e-16 |g| / h; h = 1e-5 scale keeps both far below the curvature.
    const double h = 1e-5 * std::max(1.0, std::abs(x[j]));
    Vector xp = x, xm = x;
    xp[j] += h;
    xm[j] -= h;
    objective.NegativeLogLikelihood(xp, &plus);
    objective.NegativeLogLikelihood(xm, &minus);
    H.col(j) = (plus - minus) / (2.0 * h);
  }
  const Matrix symmetric = 0.5 * (H + H.transpose());
  Eigen::LDLT<Matrix> ldlt(symmetric);
  if (ldlt.info() != Eigen::Success || !(ldlt.vectorD().minCoeff() > 0.0)) {
    return Vector::Constant(m, std::numeric_limits<double>::quiet_NaN());
  }
  const Matrix covariance = ldlt.solve(Matrix::Identity(m, m));
  return covariance.diagonal().cwiseSqrt();
}

Vector PackedParameters(const Dataset& data, const MoeParams& params) {
  return MoeObjective(data, params, false).Pack(params);
}

}  // namespace moelab::testing
