#include "support/statistics.hpp"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <vector>

namespace moelab::testing {

double PearsonChiSquare(const Vector& observed, const Vector& expected) {
  double statistic = 0.0;
  for (Index c = 0; c < expected.size(); ++c) {
    if (expected[c] <= 0.0) continue;
    const double diff = observed[c] - expected[c];
    statistic += diff * diff / expected[c];
  }
  return statistic;
}

double ChiSquareUpperQuantile(double df, double alpha) {
  const boost::math::chi_squared law(df);
  return boost::math::quantile(boost::math::complement(law, alpha));
}

Vector StandardNormalBinCounts(const Vector& z, int bins) {
  const boost::math::normal standard(0.0, 1.0);
  std::vector<double> upper(bins - 1);
  for (int j = 1; j < bins; ++j) upper[j - 1] = boost::math::quantile(standard, double(j) / bins);
  Vector counts = Vector::Zero(bins);
  for (Index n = 0; n < z.size(); ++n) {
    const auto bin = std::upper_bound(upper.begin(), upper.end(), z[n]) - upper.begin();
    counts[bin] += 1.0;
  }
  return counts;
}

}  // namespace moelab::testing
