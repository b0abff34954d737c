// The variance floor: one option with one meaning for every estimator (EM,
// NLopt MLE, Ceres LSE) and for whatever checks a fit against it.
//
// An expert variance never goes below
//
//     variance_floor * Var(y),   Var(y) = (1/n) sum_n (y_n - mean y)^2,
//
// i.e. the floor is relative to the data's scale, so a fit in other units
// of y hits it at the same place. The estimators fit standardised data
// (detail/fit_input.hpp), where Var(y) = 1 and the floor is `variance_floor`
// itself. Every hit is counted in FitResult::variance_floor_hits.
#pragma once

#include <string_view>

#include "moelab/core/types.hpp"

namespace moelab {

inline constexpr double kDefaultVarianceFloor = 1e-8;

// The floor in the units of y: variance_floor * Var(y).
double AbsoluteVarianceFloor(double variance_floor, const Vector& y);

// Throws std::invalid_argument naming `function` unless 0 < variance_floor < 1
// (a floor at Var(y) or above would forbid every fit).
void CheckVarianceFloor(std::string_view function, double variance_floor);

}  // namespace moelab
