#include "moelab/estimators/detail/row_kernels.hpp"

#include "moelab/estimators/detail/vector_math.hpp"

namespace moelab::detail {

void LogSoftmaxRows(Eigen::Ref<Matrix> logits, Eigen::Ref<Matrix> probs, Eigen::Ref<Vector> lse,
                    bool /*has_neg_inf*/) {
  const Index k = logits.cols(), rows = logits.rows();
  auto max = lse.array();
  max = logits.col(0).array();
  for (Index i = 1; i < k; ++i) max = max.max(logits.col(i).array());
  // ExpArray maps -inf (unselected experts) to exactly 0, so no mask is needed.
  for (Index i = 0; i < k; ++i) {
    probs.col(i).array() = logits.col(i).array() - max;
    ExpArray(probs.col(i).data(), probs.col(i).data(), rows);
  }
  // lse temporarily holds the row max; the sum goes into the last step.
  Eigen::ArrayXd sum = probs.col(0).array();
  for (Index i = 1; i < k; ++i) sum += probs.col(i).array();
  const Eigen::ArrayXd inv = sum.inverse();
  for (Index i = 0; i < k; ++i) probs.col(i).array() *= inv;
  LogArray(sum.data(), sum.data(), rows);
  max += sum;
  for (Index i = 0; i < k; ++i) logits.col(i).array() -= max;
}

void AddWeightedGram(const Eigen::Ref<const Matrix>& Z, const Eigen::Ref<const Vector>& w,
                     Eigen::Ref<Matrix> scratch, Eigen::Ref<Matrix> out) {
  // p (p + 1) / 2 dot products; for the small p of a MoE this beats a GEMM,
  // whose packing copies dominate at inner dimension p.
  const Index p = Z.cols();
  auto weighted = scratch.col(0).head(Z.rows());
  for (Index a = 0; a < p; ++a) {
    weighted.array() = w.array() * Z.col(a).array();
    out(a, a) += weighted.dot(Z.col(a));
    for (Index b = a + 1; b < p; ++b) {
      const double v = weighted.dot(Z.col(b));
      out(a, b) += v;
      out(b, a) += v;
    }
  }
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
