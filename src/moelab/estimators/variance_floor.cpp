#include "moelab/estimators/variance_floor.hpp"

#include <cmath>

#include "moelab/core/check.hpp"

namespace moelab {

double AbsoluteVarianceFloor(double variance_floor, const Vector& y) {
  if (y.size() == 0) return variance_floor;
  const double mean = y.mean();
  return variance_floor * (y.array() - mean).square().mean();
}

void CheckVarianceFloor(std::string_view function, double variance_floor) {
  if (!(variance_floor > 0.0 && variance_floor < 1.0))
    ThrowInvalid(function, "variance_floor must lie in (0, 1) (it is relative to Var(y)), got " +
                               std::to_string(variance_floor));
}

}  // namespace moelab
