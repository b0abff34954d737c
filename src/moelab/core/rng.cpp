#include "moelab/core/rng.hpp"

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_01.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "moelab/core/log_sum_exp.hpp"

namespace moelab {

std::uint64_t Mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::uint64_t DeriveSeed(std::uint64_t base, std::uint64_t a, std::uint64_t b) {
  return Mix64(Mix64(Mix64(base) ^ a) ^ (b + 0x9E3779B97F4A7C15ULL));
}

double StandardNormal(Rng& rng) {
  boost::random::normal_distribution<double> normal(0.0, 1.0);
  return normal(rng);
}

double UniformReal(Rng& rng, double lower, double upper) {
  boost::random::uniform_real_distribution<double> uniform(lower, upper);
  return uniform(rng);
}

Index CategoricalFromLog(Rng& rng, const Eigen::Ref<const Vector>& log_probs) {
  const double total = LogSumExp(log_probs);
  if (!std::isfinite(total)) {
    throw std::invalid_argument(
        "CategoricalFromLog: log-probabilities have no finite mass");
  }
  boost::random::uniform_01<double> unit;
  const double u = unit(rng);
  double cumulative = 0.0;
  Index last_positive = 0;
  for (Index i = 0; i < log_probs.size(); ++i) {
    if (log_probs[i] == -std::numeric_limits<double>::infinity()) continue;
    cumulative += std::exp(log_probs[i] - total);
    last_positive = i;
    if (u < cumulative) return i;
  }
  // u fell in the round-off gap above the cumulative sum.
  return last_positive;
}

}  // namespace moelab
