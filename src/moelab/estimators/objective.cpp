#include "moelab/estimators/objective.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "moelab/core/check.hpp"
#include "moelab/estimators/detail/affine_block_kernel.hpp"
#include "moelab/estimators/detail/kernel_coefficients.hpp"
#include "moelab/estimators/detail/vector_math.hpp"
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
  const Gate& gate = GateOf(shape.gate);
  fused_ = detail::AffineBlockKernelAvailable() && !fit_temperature_ && num_experts_ >= 2 &&
           gate.AffineScale(shape.gate).has_value() &&
           gate.Gauge(shape.gate) == GateGauge::kBiasAndSlope;
  if (fused_) {
    Z_.resize(data.size(), dim_ + 1);
    Z_.col(0).setOnes();
    Z_.rightCols(dim_) = data.X;
  }
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
  const MoeParams params = Unpack(packed);
  return fused_ ? FusedNegativeLogLikelihood(params, gradient)
                : GenericNegativeLogLikelihood(params, gradient);
}

double MoeObjective::FusedNegativeLogLikelihood(const MoeParams& params, Vector* gradient) const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const Gate& gate = GateOf(params.gate);
  const Index n = data_.size(), k = num_experts_, d = dim_, p = d + 1, m = (k - 1) * p;
  const double scale = *gate.AffineScale(params.gate);
  const bool sparse = gate.SparseK(params.gate) > 0;
  const detail::KernelCoefficients coef(params);

  // Blocks of 1024 rows summed in order: the value depends on nothing but
  // the data and theta.
  constexpr Index kBlock = 1024;
  Matrix r(kBlock, k), logits;
  double log_likelihood = 0.0, q = 0.0;
  Vector gate_gradient = Vector::Zero(m);
  const Index per_expert = detail::ExpertSumsSize(p);
  Vector experts = Vector::Zero(k * per_expert);
  for (Index b0 = 0; b0 < n; b0 += kBlock) {
    const Index B = std::min(kBlock, n - b0);
    detail::AffineBlockInput in =
        coef.Input(B, Z_.data() + b0, n, data_.y.data() + b0, r.data(), kBlock);
    if (sparse) {
      logits = gate.SelectedLogits(params.gate, data_.X.middleRows(b0, B));  // -inf: not selected
      in.w = nullptr;
      in.logits = logits.data();
      in.logits_stride = logits.outerStride();
      in.masked = true;
    }
    in.with_information = false;
    detail::AffineBlockSums out;
    out.log_likelihood = &log_likelihood;
    out.q = &q;
    out.gradient = gate_gradient.data();
    out.experts = experts.data();
    detail::AccumulateAffineBlock(in, out);
  }
  if (!std::isfinite(log_likelihood)) {
    if (gradient != nullptr) gradient->setZero(num_parameters_);
    return kInf;
  }
  if (gradient == nullptr) return -log_likelihood;

  // Fisher's identity: dl/dtheta = dQ(theta' | theta)/dtheta' at theta' = theta.
  // Gate: dl/dw_i = sum_n (r_ni - g_ni) z_n (reduced layout, the last expert the
  // reference), and w = c beta. Experts, from the sums about the current means:
  // dl/d(b_i, a_i) = Z'R_i e_i / nu_i, dl/dlog nu_i = (e_i'R_i e_i / nu_i - sum r_i) / 2.
  Vector full_gate = Vector::Zero(PackedGateSize(k, d, false));
  for (Index i = 0; i + 1 < k; ++i) {
    full_gate.segment(i * p, p) = scale * gate_gradient.segment(i * p, p);
  }
  gradient->resize(num_parameters_);
  for (size_t j = 0; j < free_gate_.size(); ++j) (*gradient)[j] = -full_gate[free_gate_[j]];
  for (Index i = 0; i < k; ++i) {
    const double* sums = experts.data() + i * per_expert;
    const double variance = params.experts.variance[i];
    const Index o = expert_offset(i);
    for (Index a = 0; a < p; ++a) (*gradient)[o + a] = -sums[1 + a] / variance;
    (*gradient)[o + p] = -0.5 * (sums[1 + p + p * p] / variance - sums[0]);
  }
  if (!gradient->allFinite()) {
    gradient->setZero();
    return kInf;
  }
  return -log_likelihood;
}

double MoeObjective::GenericNegativeLogLikelihood(const MoeParams& params, Vector* gradient) const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const Matrix& X = data_.X;
  const Vector& y = data_.y;
  const Gate& gate = GateFor(params.gate.kind);
  const Index n = X.rows(), k = num_experts_, d = dim_;
  const bool want_gradient = gradient != nullptr;

  // Per expert: log N(y | m, nu) = c_i - (y - m)^2 h_i, c_i = -log(2 pi nu_i) / 2, h_i = 1 / (2 nu_i).
  Eigen::ArrayXd c(k), h(k);
  for (Index i = 0; i < k; ++i) {
    c[i] = -0.5 * std::log(2.0 * std::numbers::pi * params.experts.variance[i]);
    h[i] = 0.5 / params.experts.variance[i];
  }
  Vector gate_gradient = Vector::Zero(PackedGateSize(k, d, fit_temperature_));
  Vector expert_gradient = Vector::Zero(k * (d + 2));  // (b, a, log nu) per expert, d log l

  // Row blocks that stay in cache; exp and log through the vectorised kernels
  // (detail/vector_math.hpp), which dominate the cost. Blocks are summed in
  // order, so the value does not depend on anything but the data.
  constexpr Index kBlock = 256;
  Matrix gate_prob(kBlock, k), joint(kBlock, k), residual(kBlock, k), dlogits(kBlock, k);
  Eigen::ArrayXd row_max(kBlock), row_sum(kBlock), gate_lse(kBlock), lse(kBlock), work(kBlock);
  double log_likelihood = 0.0;
  for (Index b0 = 0; b0 < n; b0 += kBlock) {
    const Index B = std::min(kBlock, n - b0);
    const auto Xb = X.middleRows(b0, B);
    const auto yb = y.segment(b0, B).array();
    const Matrix logits = gate.SelectedLogits(params.gate, Xb);  // -inf: not selected
    auto sum = row_sum.head(B);
    // Row-wise log-sum-exp of the first B rows of `in` into `out_lse`, leaving
    // exp(in - row max) in `shifted` and the row sums in `sum`.
    const auto log_sum_exp = [&](const auto& in, Matrix& shifted, Eigen::ArrayXd& out_lse) {
      auto m = row_max.head(B);
      m = in.col(0).head(B).array();
      for (Index i = 1; i < k; ++i) m = m.max(in.col(i).head(B).array());
      for (Index i = 0; i < k; ++i) {
        double* col = shifted.col(i).data();
        Eigen::Map<Eigen::ArrayXd>(col, B) = in.col(i).head(B).array() - m;
        detail::ExpArray(col, col, B);  // exp(-inf) = 0 exactly
      }
      sum = shifted.col(0).head(B).array();
      for (Index i = 1; i < k; ++i) sum += shifted.col(i).head(B).array();
      detail::LogArray(sum.data(), out_lse.data(), B);
      out_lse.head(B) += m;
    };
    // Gate: gate_lse = LSE_i(s_i); gate_prob = exp(s_i - max) / sum.
    log_sum_exp(logits, gate_prob, gate_lse);
    const auto glse = gate_lse.head(B);
    if (want_gradient) {
      work.head(B) = sum.inverse();
      for (Index i = 0; i < k; ++i) gate_prob.col(i).head(B).array() *= work.head(B);  // g_i
    }
    // Joint: log g_i + log N_i; l_n = LSE_i(joint).
    for (Index i = 0; i < k; ++i) {
      auto e = residual.col(i).head(B).array();
      e = yb - params.experts.intercept[i] -
          (Xb * params.experts.slope.row(i).transpose()).array();
      joint.col(i).head(B).array() = logits.col(i).array() - glse + c[i] - e.square() * h[i];
    }
    log_sum_exp(joint, joint, lse);  // joint := exp(joint - max)
    log_likelihood += lse.head(B).sum();
    if (!want_gradient) continue;

    // Responsibilities r_i = joint_i / sum; dl/ds_i = r_i - g_i (0 where s_i = -inf:
    // both exponentials are exactly 0 there).
    auto inv_sum = work.head(B);
    inv_sum = sum.inverse();
    for (Index i = 0; i < k; ++i) joint.col(i).head(B).array() *= inv_sum;  // r
    for (Index i = 0; i < k; ++i)
      dlogits.col(i).head(B).array() = joint.col(i).head(B).array() - gate_prob.col(i).head(B).array();
    gate.AccumulateLogitGradient(params.gate, Xb, logits, dlogits.topRows(B), fit_temperature_,
                                 gate_gradient);
    for (Index i = 0; i < k; ++i) {
      const auto r = joint.col(i).head(B).array();
      const auto e = residual.col(i).head(B).array();
      auto weighted = work.head(B);
      weighted = r * e * (2.0 * h[i]);  // r e / nu
      const Index o = i * (d + 2);
      expert_gradient[o] += weighted.sum();
      expert_gradient.segment(o + 1, d).noalias() += Xb.transpose() * weighted.matrix();
      expert_gradient[o + d + 1] += (r * (e.square() * h[i] - 0.5)).sum();
    }
  }
  if (!std::isfinite(log_likelihood)) {
    if (want_gradient) gradient->setZero(num_parameters_);
    return kInf;
  }
  if (!want_gradient) return -log_likelihood;

  gradient->resize(num_parameters_);
  for (size_t j = 0; j < free_gate_.size(); ++j) (*gradient)[j] = -gate_gradient[free_gate_[j]];
  if (fit_temperature_) (*gradient)[temperature_index()] = -gate_gradient[k * (d + 1)];
  for (Index i = 0; i < k; ++i)
    gradient->segment(expert_offset(i), d + 2) = -expert_gradient.segment(i * (d + 2), d + 2);
  if (!gradient->allFinite()) {
    gradient->setZero();
    return kInf;
  }
  return -log_likelihood;
}

}  // namespace moelab
