#include "moelab/routing/load_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "moelab/core/check.hpp"

namespace moelab {

double MaxVio(const Eigen::Ref<const Vector>& loads) {
  const double mean = loads.mean();
  return mean > 0.0 ? (loads.maxCoeff() - mean) / mean : 0.0;
}

double MinVio(const Eigen::Ref<const Vector>& loads) {
  const double mean = loads.mean();
  return mean > 0.0 ? (mean - loads.minCoeff()) / mean : 0.0;
}

double LoadCoefficientOfVariation(const Eigen::Ref<const Vector>& loads) {
  const double mean = loads.mean();
  if (!(mean > 0.0)) return 0.0;
  return std::sqrt((loads.array() - mean).square().mean()) / mean;
}

Index IdleExperts(const Eigen::Ref<const Vector>& loads) {
  return (loads.array() == 0.0).count();
}

double ImbalanceScore(const Eigen::Ref<const Vector>& loads, Index num_groups, Index num_tokens) {
  constexpr const char* kFn = "ImbalanceScore";
  if (num_groups < 1 || loads.size() % num_groups != 0) {
    ThrowInvalid(kFn, "num_groups (" + std::to_string(num_groups) + ") must divide the " +
                          std::to_string(loads.size()) + " experts");
  }
  if (num_tokens < 1) ThrowInvalid(kFn, "num_tokens must be >= 1");
  const Index size = loads.size() / num_groups;
  double hi = -1.0, lo = 0.0;
  for (Index g = 0; g < num_groups; ++g) {
    const double t = loads.segment(g * size, size).sum();
    if (hi < 0.0 || t > hi) hi = t;
    if (g == 0 || t < lo) lo = t;
  }
  return (hi - lo) / static_cast<double>(num_tokens);
}

double DomainExpertMutualInformation(const Eigen::Ref<const Matrix>& counts) {
  CheckAllFinite("DomainExpertMutualInformation", "counts", counts);
  if (counts.size() > 0 && counts.minCoeff() < 0.0)
    ThrowInvalid("DomainExpertMutualInformation", "counts must be >= 0");
  const double total = counts.sum();
  if (!(total > 0.0)) return 0.0;
  const Vector rows = counts.rowwise().sum() / total;
  const Vector cols = counts.colwise().sum().transpose() / total;
  double mi = 0.0;
  for (Index d = 0; d < counts.rows(); ++d)
    for (Index j = 0; j < counts.cols(); ++j) {
      const double q = counts(d, j) / total;
      if (q > 0.0) mi += q * std::log(q / (rows[d] * cols[j]));
    }
  return std::max(0.0, mi);
}

}  // namespace moelab
