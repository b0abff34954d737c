#include "moelab/model/gates/gate.hpp"

#include <cmath>

#include "moelab/core/check.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/model/gates/activation_gate.hpp"
#include "moelab/model/gates/softmax_gate.hpp"
#include "moelab/model/gates/temperature_gate.hpp"
#include "moelab/model/gates/topk_gate.hpp"

namespace moelab {

const Gate& GateFor(GateKind kind) {
  static const SoftmaxGate softmax;
  static const TopKGate topk;
  static const TemperatureGate temperature;
  static const ActivationGate activation;
  switch (kind) {
    case GateKind::kSoftmax: return softmax;
    case GateKind::kTopK: return topk;
    case GateKind::kTemperature: return temperature;
    case GateKind::kActivation: return activation;
  }
  ThrowInvalid("GateFor", "unknown gate kind");
}

Matrix GateLogWeights(const GateParams& params, const Eigen::Ref<const Matrix>& X) {
  Matrix log_weights = GateFor(params.kind).SelectedLogits(params, X);
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
  const Gate& gate = GateFor(params.kind);
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
