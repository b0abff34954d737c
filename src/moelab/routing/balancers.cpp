#include "moelab/routing/balancers.hpp"

#include <cmath>
#include <stdexcept>

#include "moelab/core/check.hpp"

namespace moelab {

const char* ToString(BalancerKind v) {
  switch (v) {
    case BalancerKind::kNone: return "none";
    case BalancerKind::kAuxLoss: return "aux-loss";
    case BalancerKind::kDualSubgradient: return "dual-subgradient";
  }
  return "unknown";
}
const char* ToString(CountingLevel v) {
  switch (v) {
    case CountingLevel::kMicroBatch: return "micro";
    case CountingLevel::kSequence: return "sequence";
    case CountingLevel::kGlobal: return "global";
  }
  return "unknown";
}
const char* ToString(DualUpdate v) { return v == DualUpdate::kSign ? "sign" : "linear"; }
const char* ToString(StepSchedule v) {
  switch (v) {
    case StepSchedule::kConstant: return "const";
    case StepSchedule::kInverse: return "inv";
    case StepSchedule::kInverseSqrt: return "isqrt";
  }
  return "unknown";
}
CountingLevel ParseCountingLevel(const std::string& name) {
  for (auto v : {CountingLevel::kMicroBatch, CountingLevel::kSequence, CountingLevel::kGlobal})
    if (name == ToString(v)) return v;
  throw std::invalid_argument("unknown counting level '" + name + "' (valid: micro, sequence, global)");
}
DualUpdate ParseDualUpdate(const std::string& name) {
  for (auto v : {DualUpdate::kSign, DualUpdate::kLinear})
    if (name == ToString(v)) return v;
  throw std::invalid_argument("unknown dual update '" + name + "' (valid: sign, linear)");
}
StepSchedule ParseStepSchedule(const std::string& name) {
  for (auto v : {StepSchedule::kConstant, StepSchedule::kInverse, StepSchedule::kInverseSqrt})
    if (name == ToString(v)) return v;
  throw std::invalid_argument("unknown step schedule '" + name + "' (valid: const, inv, isqrt)");
}

void BalancerOptions::Validate() const {
  constexpr const char* kFn = "BalancerOptions::Validate";
  CheckNonNegative(kFn, "aux_coeff", aux_coeff);
  CheckNonNegative(kFn, "aux_learning_rate", aux_learning_rate);
  CheckNonNegative(kFn, "rate", rate);
  CheckNonNegative(kFn, "offset", offset);
  CheckFinite(kFn, "rate", rate);
  CheckFinite(kFn, "aux_coeff", aux_coeff);
  CheckFinite(kFn, "aux_learning_rate", aux_learning_rate);
  CheckFinite(kFn, "offset", offset);
}

Balancer::Balancer(const BalancerOptions& options, Index num_experts, Index num_balanced)
    : options_(options), num_balanced_(num_balanced) {
  options_.Validate();
  if (num_balanced < 1 || num_balanced > num_experts) {
    ThrowInvalid("Balancer", "num_balanced must be in [1, num_experts]");
  }
  bias_ = Vector::Zero(num_experts);
  theta_ = Vector::Zero(num_experts);
}

double Balancer::StepSize(Index t) const {
  const double tt = static_cast<double>(t) + options_.offset;
  switch (options_.schedule) {
    case StepSchedule::kConstant: return options_.rate;
    case StepSchedule::kInverse: return options_.rate / tt;
    case StepSchedule::kInverseSqrt: return options_.rate / std::sqrt(tt);
  }
  return 0.0;
}

void Balancer::DualStep(const Eigen::Ref<const Vector>& loads) {
  const auto c = loads.head(num_balanced_);
  const double L = c.mean();
  const double eta = StepSize(++updates_);
  for (Index j = 0; j < num_balanced_; ++j) {
    const double excess = c[j] - L;
    if (options_.update == DualUpdate::kSign) {
      bias_[j] += eta * static_cast<double>((excess > 0.0) - (excess < 0.0));
    } else {
      bias_[j] += eta * excess;
    }
  }
}

void Balancer::ObserveMicroBatch(const Eigen::Ref<const Vector>& loads) {
  if (options_.kind == BalancerKind::kDualSubgradient && options_.per_microbatch) DualStep(loads);
}

void Balancer::EndStep(const Eigen::Ref<const Vector>& loads, const Vector* aux_gradient) {
  if (options_.kind == BalancerKind::kDualSubgradient && !options_.per_microbatch) DualStep(loads);
  if (options_.kind == BalancerKind::kAuxLoss && aux_gradient != nullptr) {
    theta_ -= options_.aux_learning_rate * options_.aux_coeff * *aux_gradient;
    ++updates_;
  }
}

}  // namespace moelab
