#include "moelab/routing/dual_objective.hpp"

#include <string>
#include <vector>

#include "moelab/core/check.hpp"
#include "moelab/routing/routers.hpp"

namespace moelab {
namespace {

void CheckArgs(const char* fn, const Eigen::Ref<const Matrix>& scores,
               const Eigen::Ref<const Vector>& p, int K) {
  CheckSize(fn, "p", p.size(), scores.cols());
  if (K < 1 || K > scores.cols()) {
    ThrowInvalid(fn, "K = " + std::to_string(K) + " must be in [1, E = " +
                         std::to_string(scores.cols()) + "]");
  }
}

// Calls visit(t, top) for every token with the indices of its top-K of s - p.
template <typename Visit>
void ForEachTopK(const Eigen::Ref<const Matrix>& scores, const Eigen::Ref<const Vector>& p, int K,
                 std::vector<double>* v, Visit visit) {
  const Index e = scores.cols();
  std::vector<int> top(K);
  for (Index t = 0; t < scores.rows(); ++t) {
    for (Index j = 0; j < e; ++j) (*v)[j] = scores(t, j) - p[j];
    TopKOfRow(v->data(), 0, static_cast<int>(e), K, top.data());
    visit(t, top);
  }
}

}  // namespace

double TopKSum(const Eigen::Ref<const Vector>& v, int K) {
  if (K < 1 || K > v.size()) ThrowInvalid("TopKSum", "K must be in [1, size]");
  std::vector<double> buf(v.data(), v.data() + v.size());
  std::vector<int> top(K);
  TopKOfRow(buf.data(), 0, static_cast<int>(v.size()), K, top.data());
  double sum = 0.0;
  for (int i : top) sum += buf[i];
  return sum;
}

double DualObjective(const Eigen::Ref<const Matrix>& scores, const Eigen::Ref<const Vector>& p,
                     int K) {
  CheckArgs("DualObjective", scores, p, K);
  std::vector<double> v(scores.cols());
  double sum = 0.0;
  ForEachTopK(scores, p, K, &v, [&](Index, const std::vector<int>& top) {
    for (int j : top) sum += v[j];
  });
  const double L = static_cast<double>(K) * scores.rows() / scores.cols();
  return sum + L * p.sum();
}

Vector DualSubgradient(const Eigen::Ref<const Matrix>& scores, const Eigen::Ref<const Vector>& p,
                       int K) {
  CheckArgs("DualSubgradient", scores, p, K);
  std::vector<double> v(scores.cols());
  Vector loads = Vector::Zero(scores.cols());
  ForEachTopK(scores, p, K, &v, [&](Index, const std::vector<int>& top) {
    for (int j : top) loads[j] += 1.0;
  });
  const double L = static_cast<double>(K) * scores.rows() / scores.cols();
  return Vector::Constant(scores.cols(), L) - loads;
}

double ExpectedDual(const Eigen::Ref<const Matrix>& sample_scores,
                    const Eigen::Ref<const Vector>& p, int K, Index batch_size) {
  return static_cast<double>(batch_size) / sample_scores.rows() * DualObjective(sample_scores, p, K);
}

Vector CentreBias(const Eigen::Ref<const Vector>& p) {
  return p.array() - p.mean();
}

}  // namespace moelab
