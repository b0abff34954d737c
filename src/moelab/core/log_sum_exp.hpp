// Log-space reductions. -inf entries (experts a sparse gate did not select)
// are skipped exactly; they are never replaced by a large negative constant.
#pragma once

#include <cmath>
#include <limits>

#include "moelab/core/types.hpp"

namespace moelab {

inline constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// log(sum_i exp(v_i)); returns -inf when every entry is -inf.
template <typename Derived>
double LogSumExp(const Eigen::DenseBase<Derived>& v) {
  const double max = v.maxCoeff();
  if (max == kNegInf) return kNegInf;
  if (!std::isfinite(max)) return max;  // +inf or NaN propagate.
  double sum = 0.0;
  for (Index i = 0; i < v.size(); ++i) sum += std::exp(v.derived().coeff(i) - max);
  return max + std::log(sum);
}

// Row-wise log-sum-exp of an n-by-k matrix.
Vector RowLogSumExp(const Eigen::Ref<const Matrix>& m);

// exp() entry-wise with exp(-inf) = 0 EXACTLY. Use it to leave log space
// (gate weights, responsibilities): Eigen 3.4's vectorised .exp() clamps its
// argument near -708 and returns about 5.6e-309 for -inf, which would give an
// unselected expert positive weight, and r * log g = 5.6e-309 * (-inf) = -inf
// downstream.
Matrix ExpOfLog(const Eigen::Ref<const Matrix>& log_values);

// Replaces each row of `m` by row - LogSumExp(row) (log-normalisation).
// Rows whose entries are all -inf are left as they are.
void NormaliseLogRows(Eigen::Ref<Matrix> m);

}  // namespace moelab
