#include "moelab/routing/replicate_interval.hpp"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace moelab {

MeanInterval StudentMeanInterval(const std::vector<double>& values, double confidence) {
  if (!(confidence > 0.0 && confidence < 1.0))
    throw std::invalid_argument("StudentMeanInterval: confidence must be in (0, 1)");
  std::vector<double> v;
  MeanInterval out;
  for (double x : values) {
    if (std::isfinite(x)) v.push_back(x);
    else ++out.dropped;
  }
  out.n = static_cast<int>(v.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (v.empty()) {
    out.mean = out.median = out.lower = out.upper = nan;
    return out;
  }
  double sum = 0.0;
  for (double x : v) sum += x;
  out.mean = sum / out.n;
  std::sort(v.begin(), v.end());
  out.median = out.n % 2 ? v[out.n / 2] : 0.5 * (v[out.n / 2 - 1] + v[out.n / 2]);
  if (out.n < 2) {
    out.lower = out.upper = nan;
    return out;
  }
  double ss = 0.0;
  for (double x : v) ss += (x - out.mean) * (x - out.mean);
  const double variance = ss / (out.n - 1);
  const boost::math::students_t dist(out.n - 1);
  const double half = boost::math::quantile(dist, 0.5 + 0.5 * confidence) * std::sqrt(variance / out.n);
  out.lower = out.mean - half;
  out.upper = out.mean + half;
  return out;
}

}  // namespace moelab
