#include "moelab/model/gates/gate.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "moelab/core/check.hpp"
#include "moelab/core/log_sum_exp.hpp"

namespace moelab {

const char* ToString(GateGauge gauge) {
  switch (gauge) {
    case GateGauge::kNone: return "none";
    case GateGauge::kBias: return "bias translation";
    case GateGauge::kBiasAndSlope: return "bias and slope translation";
  }
  return "unknown";
}

GateAtoms Gate::MixingAtoms(const GateParams& params, bool) const {
  return GateAtoms{params.bias, params.slope, std::nullopt};
}

Matrix Gate::SelectedLogits(const GateParams& params, const Eigen::Ref<const Matrix>& X) const {
  const Index n = X.rows(), k = params.num_experts();
  Matrix logits(n, k), value(n, k), derivative(n, k);
  BlockLogits(params, X, false, value, derivative, logits);
  const int K = SparseK(params);
  if (K <= 0) return logits;
  Matrix ranking(n, k);
  BlockRanking(params, X, logits, ranking);
  Matrix selected_logits = Matrix::Constant(n, k, kNegInf);
  std::vector<Index> selected;
  Vector row(k);
  for (Index r = 0; r < n; ++r) {
    row = ranking.row(r).transpose();
    TopKIndices(row, K, &selected);
    for (Index i : selected) selected_logits(r, i) = logits(r, i);
  }
  return selected_logits;
}

void Gate::AccumulateLogitGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                                   const Matrix& logits, const Matrix& dlogits,
                                   bool with_temperature, Eigen::Ref<Vector> gradient) const {
  const Index n = X.rows(), k = params.num_experts();
  Matrix dense(n, k), value(n, k), derivative(n, k);
  BlockLogits(params, X, true, value, derivative, dense);
  (void)logits;  // BlockLogits' work space carries what the chain rule needs
  AccumulateBlockGradient(params, X, value, derivative, dlogits, with_temperature, gradient);
}

void Gate::BlockRanking(const GateParams&, const Eigen::Ref<const Matrix>&,
                        const Eigen::Ref<const Matrix>& logits, Eigen::Ref<Matrix> ranking) const {
  ranking = logits;
}

void TopKIndices(const Eigen::Ref<const Vector>& scores, int K, std::vector<Index>* selected) {
  std::vector<Index>& order = *selected;
  order.resize(scores.size());
  std::iota(order.begin(), order.end(), Index{0});
  std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](Index a, Index b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  });
  order.resize(K);
}

Matrix GateLogWeights(const GateParams& params, const Eigen::Ref<const Matrix>& X) {
  Matrix log_weights = GateOf(params).SelectedLogits(params, X);
  NormaliseLogRows(log_weights);
  return log_weights;
}

namespace {

// 0 * log 0 := 0; positive mass on an unselected expert gives -inf.
double WeightedLogSum(const Matrix& log_weights, const Eigen::Ref<const Matrix>& R) {
  double q = 0.0;
  for (Index i = 0; i < log_weights.cols(); ++i) {
    for (Index n = 0; n < log_weights.rows(); ++n) {
      const double r = R(n, i);
      if (r == 0.0) continue;
      q += r * log_weights(n, i);
    }
  }
  return q;
}

}  // namespace

double GateObjective(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                     const Eigen::Ref<const Matrix>& R) {
  return WeightedLogSum(GateLogWeights(params, X), R);
}

Vector GateObjectiveGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                             const Eigen::Ref<const Matrix>& R, bool with_temperature) {
  const Gate& gate = GateOf(params);
  const Matrix logits = gate.SelectedLogits(params, X);
  Matrix dlogits(logits.rows(), logits.cols());
  for (Index n = 0; n < logits.rows(); ++n) {
    const double lse = LogSumExp(logits.row(n));
    const double row_mass = R.row(n).sum();
    for (Index i = 0; i < logits.cols(); ++i) {
      dlogits(n, i) = logits(n, i) == kNegInf
                          ? 0.0
                          : R(n, i) - row_mass * std::exp(logits(n, i) - lse);
    }
  }
  Vector gradient = Vector::Zero(PackedGateSize(params.num_experts(), params.dim(),
                                                with_temperature));
  gate.AccumulateLogitGradient(params, X, logits, dlogits, with_temperature, gradient);
  return gradient;
}

Index PackedGateSize(Index num_experts, Index dim, bool with_temperature) {
  return num_experts * (dim + 1) + (with_temperature ? 1 : 0);
}

Vector PackGate(const GateParams& params, bool with_temperature) {
  const Index k = params.num_experts(), d = params.dim();
  Vector packed(PackedGateSize(k, d, with_temperature));
  for (Index i = 0; i < k; ++i) {
    packed[i * (d + 1)] = params.bias[i];
    packed.segment(i * (d + 1) + 1, d) = params.slope.row(i).transpose();
  }
  if (with_temperature) packed[k * (d + 1)] = std::log(params.temperature);
  return packed;
}

void UnpackGate(const Eigen::Ref<const Vector>& packed, bool with_temperature,
                GateParams* params) {
  const Index k = params->num_experts(), d = params->dim();
  CheckSize("UnpackGate", "packed gate vector", packed.size(),
            PackedGateSize(k, d, with_temperature));
  for (Index i = 0; i < k; ++i) {
    params->bias[i] = packed[i * (d + 1)];
    params->slope.row(i) = packed.segment(i * (d + 1) + 1, d).transpose();
  }
  if (with_temperature) params->temperature = std::exp(packed[k * (d + 1)]);
}

}  // namespace moelab
