#include "moelab/estimators/detail/row_kernels.hpp"

#include "moelab/core/log_sum_exp.hpp"

namespace moelab::detail {

void LogSoftmaxRows(Eigen::Ref<Matrix> logits, Eigen::Ref<Matrix> probs, Eigen::Ref<Vector> lse,
                    bool has_neg_inf) {
  const Index k = logits.cols();
  auto max = lse.array();
  max = logits.col(0).array();
  for (Index i = 1; i < k; ++i) max = max.max(logits.col(i).array());
  for (Index i = 0; i < k; ++i) probs.col(i).array() = (logits.col(i).array() - max).exp();
  if (has_neg_inf) {
    for (Index i = 0; i < k; ++i) {
      probs.col(i).array() = (logits.col(i).array() == kNegInf).select(0.0, probs.col(i).array());
    }
  }
  // lse temporarily holds the row max; the sum goes into the last step.
  Eigen::ArrayXd sum = probs.col(0).array();
  for (Index i = 1; i < k; ++i) sum += probs.col(i).array();
  const Eigen::ArrayXd inv = sum.inverse();
  for (Index i = 0; i < k; ++i) probs.col(i).array() *= inv;
  max += sum.log();
  for (Index i = 0; i < k; ++i) logits.col(i).array() -= max;
}

void AddWeightedGram(const Eigen::Ref<const Matrix>& Z, const Eigen::Ref<const Vector>& w,
                     Eigen::Ref<Matrix> scratch, Eigen::Ref<Matrix> out) {
  auto weighted = scratch.topRows(Z.rows());
  weighted = Z.array().colwise() * w.array();
  out.noalias() += Z.transpose() * weighted;
}

double WeightedLogSum(const Eigen::Ref<const Matrix>& R, const Eigen::Ref<const Matrix>& log_g,
                      bool has_neg_inf) {
  double q = 0.0;
  for (Index i = 0; i < R.cols(); ++i) {
    if (has_neg_inf) {
      q += (R.col(i).array() == 0.0).select(0.0, R.col(i).array() * log_g.col(i).array()).sum();
    } else {
      q += (R.col(i).array() * log_g.col(i).array()).sum();
    }
  }
  return q;
}

}  // namespace moelab::detail
