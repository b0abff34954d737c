#include "moelab/core/log_sum_exp.hpp"

namespace moelab {

Vector RowLogSumExp(const Eigen::Ref<const Matrix>& m) {
  Vector out(m.rows());
  for (Index r = 0; r < m.rows(); ++r) out[r] = LogSumExp(m.row(r));
  return out;
}

Matrix ExpOfLog(const Eigen::Ref<const Matrix>& log_values) {
  // Scalar std::exp: exact 0 for -inf and correct gradual underflow.
  return log_values.unaryExpr([](double v) { return std::exp(v); });
}

void NormaliseLogRows(Eigen::Ref<Matrix> m) {
  for (Index r = 0; r < m.rows(); ++r) {
    const double lse = LogSumExp(m.row(r));
    if (lse == kNegInf) continue;
    m.row(r).array() -= lse;
  }
}

}  // namespace moelab
