#include "moelab/model/experts.hpp"

#include <cmath>
#include <numbers>
#include <sstream>

#include "moelab/core/check.hpp"

namespace moelab {

void ExpertParams::Validate() const {
  constexpr const char* kFn = "ExpertParams::Validate";
  const Index k = intercept.size();
  if (k < 1) ThrowInvalid(kFn, "there are no experts (k = 0)");
  CheckSize(kFn, "experts.slope rows", slope.rows(), k);
  CheckSize(kFn, "experts.variance", variance.size(), k);
  if (slope.cols() < 1) ThrowInvalid(kFn, "experts.slope has no columns (d = 0)");
  CheckAllFinite(kFn, "experts.slope", slope);
  CheckAllFinite(kFn, "experts.intercept", intercept);
  for (Index i = 0; i < k; ++i) {
    std::ostringstream name;
    name << "experts.variance[" << i << "]";
    CheckPositive(kFn, name.str(), variance[i]);
  }
}

Matrix ExpertMeans(const ExpertParams& experts, const Eigen::Ref<const Matrix>& X) {
  Matrix means = X * experts.slope.transpose();
  means.rowwise() += experts.intercept.transpose();
  return means;
}

Matrix ExpertLogDensities(const ExpertParams& experts, const Eigen::Ref<const Matrix>& X,
                          const Eigen::Ref<const Vector>& y) {
  Matrix log_densities = ExpertMeans(experts, X);
  const double log_two_pi = std::log(2.0 * std::numbers::pi);
  for (Index i = 0; i < log_densities.cols(); ++i) {
    const double variance = experts.variance[i];
    const double constant = -0.5 * (log_two_pi + std::log(variance));
    log_densities.col(i) =
        (constant - (y - log_densities.col(i)).array().square() / (2.0 * variance)).matrix();
  }
  return log_densities;
}

}  // namespace moelab
