#include "common/balance_cli.hpp"

#include <stdexcept>

namespace moelab::cli {

void BalanceStreamFlags::Register(CommandLine& cl, const std::string& experts_help, const std::string& top_k_help,
                                  const std::string& drift_note, long long min_experts) {
  const RealRange non_negative{0.0};
  cl.AddInt("experts", &experts, experts_help, {min_experts, kIntMax});
  cl.AddInt("top-k", &top_k, top_k_help, {min_experts, kIntMax});
  cl.AddInt("batch", &batch, "tokens per step B", {1, kIntMax});
  cl.AddInt("microbatches", &microbatches, "micro-batches per step (must divide B)", {1, kIntMax});
  cl.AddInt("sequence-length", &sequence_length,
            "tokens per sequence (0 = one per micro-batch; must divide the micro-batch)", {0, kIntMax});
  cl.AddString("design", &design, "covariate design: normal, uniform");
  cl.AddInt("dim", &dim, "covariate dimension d", {1, kIntMax});
  cl.AddDouble("offset-scale", &offset_scale, "gate intercepts evenly spaced on [-s, s]: the imbalance",
               non_negative);
  cl.AddDouble("slope-scale", &slope_scale, "sd of the gate slopes", non_negative);
  cl.AddInt("domains", &domains, "number of covariate domains", {1, kIntMax});
  cl.AddDouble("domain-spread", &domain_spread, "sd of the domain means", non_negative);
  cl.AddBool("domain-per-microbatch", &domain_per_microbatch, "one domain per micro-batch (Demons)");
  cl.AddDouble("drift", &drift, "covariate mean drift per step" + drift_note, non_negative);
}

void BalanceStreamFlags::ApplyTo(TokenStreamOptions* stream) const {
  stream->num_experts = experts;
  stream->design = CovariateDesign{ParseDesignKind(design), dim, -1.0, 1.0};
  stream->offset_scale = offset_scale;
  stream->slope_scale = slope_scale;
  stream->batch_size = batch;
  stream->num_microbatches = microbatches;
  stream->sequence_length = sequence_length;
  stream->num_domains = domains;
  stream->domain_spread = domain_spread;
  stream->domain_per_microbatch = domain_per_microbatch;
  stream->drift_per_step = drift;
}

void BalancePolicyFlags::Register(CommandLine& cl, const std::string& policies_note, const std::string& inv_c0_zero) {
  const RealRange non_negative{0.0};
  cl.AddString("policies", &policies,
               "comma list of " + BalancingPolicyNames() + "; name@value sets its rate / constant / coefficient "
               "(value >= 0)" + policies_note);
  cl.AddDouble("alf-rate", &alf_rate, "u of alf-const / alf-const-micro / alf-lin-const", non_negative);
  cl.AddDouble("inv-c0", &inv_c0, "c0 of alf-inv, eta_t = c0/t (0 = " + inv_c0_zero + ")", non_negative);
  cl.AddDouble("isqrt-c0", &isqrt_c0, "c0 of alf-isqrt, eta_t = c0/sqrt(t) (0 = the alf-inv c0)", non_negative);
  cl.AddDouble("sign-inv-c0", &sign_inv_c0, "c0 of alf-sign-inv / -isqrt (0 = 100 alf-rate)", non_negative);
  cl.AddDouble("aux-coeff", &aux_coeff, "aux-loss coefficient of aux-* policies without @value", non_negative);
}

std::vector<BalancingPolicy> BalancePolicyFlags::Parse() const {
  std::vector<BalancingPolicy> arms;
  for (const auto& spec : SplitList(policies, "option --policies")) arms.push_back(ParseBalancingPolicy(spec));
  if (arms.empty()) throw std::invalid_argument("--policies is empty");
  return arms;
}

PolicyConstants BalancePolicyFlags::Constants(double inv_c0_default, double aux_learning_rate) const {
  const double inv = inv_c0 == 0.0 ? inv_c0_default : inv_c0;
  return PolicyConstants{alf_rate, inv, isqrt_c0 == 0.0 ? inv : isqrt_c0,
                         sign_inv_c0 == 0.0 ? 100.0 * alf_rate : sign_inv_c0, aux_coeff, aux_learning_rate};
}

}  // namespace moelab::cli
