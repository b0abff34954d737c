#include "moelab/estimators/objective.hpp"

#include <cmath>
#include <limits>

#include "moelab/core/check.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

MoeObjective::MoeObjective(const Dataset& data, const MoeParams& shape, bool fit_temperature)
    : data_(data),
      shape_(shape),
      fit_temperature_(fit_temperature && shape.gate.uses_temperature()),
      num_experts_(shape.num_experts()),
      dim_(shape.dim()) {
  constexpr const char* kFn = "MoeObjective";
  data.Validate();
  shape.Validate();
  CheckSize(kFn, "data dimension d (X columns)", data.dim(), shape.dim());
  free_gate_ = FreeGateEntries(shape.gate);
  num_parameters_ = NumFreeParameters(shape, fit_temperature_);
}

Index MoeObjective::expert_offset(Index i) const {
  return static_cast<Index>(free_gate_.size()) + (fit_temperature_ ? 1 : 0) + i * (dim_ + 2);
}

Vector MoeObjective::Pack(const MoeParams& params) const {
  constexpr const char* kFn = "MoeObjective::Pack";
  params.Validate();
  CheckSize(kFn, "number of experts k", params.num_experts(), num_experts_);
  CheckSize(kFn, "dimension d", params.dim(), dim_);
  if (params.gate.kind != shape_.gate.kind) ThrowInvalid(kFn, "gate kind differs from the shape");
  const MoeParams normalised = NormaliseGauge(params);
  const Vector gate = PackGate(normalised.gate, /*with_temperature=*/false);
  Vector packed(num_parameters_);
  for (size_t j = 0; j < free_gate_.size(); ++j) packed[j] = gate[free_gate_[j]];
  if (fit_temperature_) packed[temperature_index()] = std::log(normalised.gate.temperature);
  for (Index i = 0; i < num_experts_; ++i) {
    const Index offset = expert_offset(i);
    packed[offset] = normalised.experts.intercept[i];
    packed.segment(offset + 1, dim_) = normalised.experts.slope.row(i).transpose();
    packed[offset + dim_ + 1] = std::log(normalised.experts.variance[i]);
  }
  return packed;
}

MoeParams MoeObjective::Unpack(const Eigen::Ref<const Vector>& packed) const {
  CheckSize("MoeObjective::Unpack", "packed vector", packed.size(), num_parameters_);
  MoeParams params = shape_;
  Vector gate = Vector::Zero(PackedGateSize(num_experts_, dim_, false));
  for (size_t j = 0; j < free_gate_.size(); ++j) gate[free_gate_[j]] = packed[j];
  UnpackGate(gate, /*with_temperature=*/false, &params.gate);
  if (fit_temperature_) params.gate.temperature = std::exp(packed[temperature_index()]);
  for (Index i = 0; i < num_experts_; ++i) {
    const Index offset = expert_offset(i);
    params.experts.intercept[i] = packed[offset];
    params.experts.slope.row(i) = packed.segment(offset + 1, dim_).transpose();
    params.experts.variance[i] = std::exp(packed[offset + dim_ + 1]);
  }
  return params;
}

double MoeObjective::NegativeLogLikelihood(const Eigen::Ref<const Vector>& packed,
                                           Vector* gradient) const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const MoeParams params = Unpack(packed);
  const Matrix& X = data_.X;
  const Vector& y = data_.y;
  const Gate& gate = GateFor(params.gate.kind);

  // log g = logits - LSE(logits); joint = log g + log N; l = sum LSE(joint).
  const Matrix logits = gate.SelectedLogits(params.gate, X);
  const Vector gate_lse = RowLogSumExp(logits);
  Matrix joint = logits;
  joint.colwise() -= gate_lse;  // -inf stays -inf
  joint += ExpertLogDensities(params.experts, X, y);
  const Vector lse = RowLogSumExp(joint);
  const double log_likelihood = lse.sum();
  if (!std::isfinite(log_likelihood)) {
    if (gradient != nullptr) gradient->setZero(num_parameters_);
    return kInf;
  }
  if (gradient == nullptr) return -log_likelihood;

  const Index n = X.rows(), k = num_experts_, d = dim_;
  Matrix responsibilities(n, k), dlogits(n, k);
  for (Index i = 0; i < k; ++i) {
    for (Index r = 0; r < n; ++r) {
      if (logits(r, i) == kNegInf) {
        responsibilities(r, i) = 0.0;
        dlogits(r, i) = 0.0;
      } else {
        responsibilities(r, i) = std::exp(joint(r, i) - lse[r]);
        dlogits(r, i) = responsibilities(r, i) - std::exp(logits(r, i) - gate_lse[r]);
      }
    }
  }
  Vector gate_gradient = Vector::Zero(PackedGateSize(k, d, fit_temperature_));
  gate.AccumulateLogitGradient(params.gate, X, logits, dlogits, fit_temperature_,
                               gate_gradient);

  gradient->resize(num_parameters_);
  for (size_t j = 0; j < free_gate_.size(); ++j) (*gradient)[j] = -gate_gradient[free_gate_[j]];
  if (fit_temperature_) (*gradient)[temperature_index()] = -gate_gradient[k * (d + 1)];

  const Matrix means = ExpertMeans(params.experts, X);
  for (Index i = 0; i < k; ++i) {
    const double variance = params.experts.variance[i];
    const Eigen::ArrayXd residual = y.array() - means.col(i).array();
    const Eigen::ArrayXd r = responsibilities.col(i).array();
    const Vector weighted = (r * residual / variance).matrix();  // r e / nu
    const Index offset = expert_offset(i);
    (*gradient)[offset] = -weighted.sum();
    gradient->segment(offset + 1, d) = -(X.transpose() * weighted);
    (*gradient)[offset + d + 1] =
        -(r * (residual.square() / (2.0 * variance) - 0.5)).sum();
  }
  if (!gradient->allFinite()) {
    gradient->setZero();
    return kInf;
  }
  return -log_likelihood;
}

}  // namespace moelab
