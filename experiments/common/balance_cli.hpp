// Flags shared by the load-balancing binaries (load-balance, the frozen
// router; learn-balance, the learning mode): the token stream's shape and
// the balancing policies with their constants. One registration, so the two
// binaries accept the same names, ranges and help for the same settings.
#pragma once

#include <string>
#include <vector>

#include "common/cli.hpp"
#include "moelab/routing/balancing_policy.hpp"
#include "moelab/routing/token_stream.hpp"

namespace moelab::cli {

// --experts --top-k --batch --microbatches --sequence-length --design --dim
// --offset-scale --slope-scale --domains --domain-spread
// --domain-per-microbatch --drift. The values set before Register() are the
// defaults.
struct BalanceStreamFlags {
  long long experts = 8, top_k = 2, batch = 128, microbatches = 1, sequence_length = 0;
  std::string design = "normal";
  long long dim = 4, domains = 1;
  double offset_scale = 1.0, slope_scale = 1.0, domain_spread = 1.0, drift = 0.0;
  bool domain_per_microbatch = false;

  // `experts_help`, `top_k_help`, `drift_note` say what the binary makes of
  // them (the note is appended to --drift's help); --experts and --top-k
  // accept integers from `min_experts` up.
  void Register(CommandLine& cl, const std::string& experts_help, const std::string& top_k_help,
                const std::string& drift_note, long long min_experts);
  // The stream fields these flags set (design on [-1, 1]); the score
  // function, Gumbel noise and pool stay the caller's.
  void ApplyTo(TokenStreamOptions* stream) const;
};

// --policies and the constants of its arms: --alf-rate --inv-c0 --isqrt-c0
// --sign-inv-c0 --aux-coeff.
struct BalancePolicyFlags {
  std::string policies;
  double alf_rate = 1e-3, inv_c0 = 0.0, isqrt_c0 = 0.0, sign_inv_c0 = 0.0, aux_coeff = 1e-2;

  // `policies_note` is appended to --policies' help, `inv_c0_zero` says what
  // --inv-c0 0 stands for.
  void Register(CommandLine& cl, const std::string& policies_note, const std::string& inv_c0_zero);
  // The policies of --policies, parsed (unresolved); throws
  // std::invalid_argument naming the flag when a name is bad or the list is
  // empty.
  std::vector<BalancingPolicy> Parse() const;
  // The constants with every "0 = derived" default filled in: inv_c0 from
  // `inv_c0_default`, isqrt_c0 = inv_c0, sign_inv_c0 = 100 alf_rate.
  PolicyConstants Constants(double inv_c0_default, double aux_learning_rate) const;
};

}  // namespace moelab::cli
