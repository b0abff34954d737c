// Balancing policies (docs/theory.md §7.1, §7.7, §7.9): how the selection bias p and the
// router's logit offsets theta evolve from step to step.
//
//   kNone            p = 0, theta = 0.
//   kAuxLoss         theta <- theta - learning_rate * aux_coeff * dLBL/dtheta
//                    once per step (aux_loss.hpp), LBL counted per
//                    micro-batch, per sequence or per global batch. This is a
//                    STAND-IN for training the router: the only learnable
//                    router parameters are E per-expert logit offsets (no task
//                    loss), so the arm shows how the counting level changes
//                    what the loss balances, not the balance/quality trade-off
//                    of a trained model. theta changes selection AND combine
//                    weights, as a trained router would.
//   kDualSubgradient the dual-subgradient family of docs/theory.md §7.3–7.4 on the
//                    prices p = -b (selection only, never the weights). With
//                    c the loads of the counted set and L = sum(c) / E:
//                      sign   p_j <- p_j + eta_t sign(c_j - L)
//                      linear p_j <- p_j + eta_t (c_j - L)
//                    eta_t = rate (constant), rate / (t + t0) (inverse),
//                    rate / sqrt(t + t0) (inverse-sqrt), t = 1, 2, ... the
//                    update count. ALF-LB (Wang et al. Alg. 1, DeepSeek-V3) is
//                    sign + constant, rate u = 1e-3: b_i <- b_i + u sign(L - c_i).
//                    Updates happen once per step from the step's loads, or
//                    after every micro-batch from its loads (per_microbatch).
//
// Only the first `num_balanced` experts (the routed ones; null experts sit
// after them) get a price; the aux loss acts on every scored expert (AdaMoE
// balances null usage through the loss).
#pragma once

#include <string>

#include "moelab/core/types.hpp"

namespace moelab {

enum class BalancerKind { kNone, kAuxLoss, kDualSubgradient };
enum class CountingLevel { kMicroBatch, kSequence, kGlobal };
enum class DualUpdate { kSign, kLinear };
enum class StepSchedule { kConstant, kInverse, kInverseSqrt };

const char* ToString(BalancerKind v);
const char* ToString(CountingLevel v);
const char* ToString(DualUpdate v);
const char* ToString(StepSchedule v);
CountingLevel ParseCountingLevel(const std::string& name);  // micro, sequence, global
DualUpdate ParseDualUpdate(const std::string& name);        // sign, linear
StepSchedule ParseStepSchedule(const std::string& name);    // const, inv, isqrt

struct BalancerOptions {
  BalancerKind kind = BalancerKind::kNone;
  // Aux-loss arm.
  CountingLevel level = CountingLevel::kGlobal;
  double aux_coeff = 1e-2;         // Switch's alpha
  double aux_learning_rate = 1.0;  // step on theta per unit coefficient
  // Dual-subgradient arm.
  DualUpdate update = DualUpdate::kSign;
  StepSchedule schedule = StepSchedule::kConstant;
  double rate = 1e-3;   // u (constant) or c0 (decaying)
  double offset = 0.0;  // t0 >= 0
  bool per_microbatch = false;

  // Throws std::invalid_argument naming the field (negative or non-finite
  // rate / coefficient / offset, ...).
  void Validate() const;
};

class Balancer {
 public:
  Balancer(const BalancerOptions& options, Index num_experts, Index num_balanced);

  const BalancerOptions& options() const { return options_; }
  // Selection bias p (length num_experts; zero beyond num_balanced).
  const Vector& bias() const { return bias_; }
  // Logit offsets theta (length num_experts).
  const Vector& logit_offset() const { return theta_; }

  // Loads (length num_experts) of one micro-batch; updates p when
  // per_microbatch is set, else ignored.
  void ObserveMicroBatch(const Eigen::Ref<const Vector>& loads);
  // End of a step: the step's loads (updates p unless per_microbatch) and,
  // for the aux arm, dLBL/dtheta of the step.
  void EndStep(const Eigen::Ref<const Vector>& loads, const Vector* aux_gradient);

  double StepSize(Index t) const;
  Index updates() const { return updates_; }

 private:
  void DualStep(const Eigen::Ref<const Vector>& loads);

  BalancerOptions options_;
  Index num_balanced_;
  Vector bias_;
  Vector theta_;
  Index updates_ = 0;
};

}  // namespace moelab
