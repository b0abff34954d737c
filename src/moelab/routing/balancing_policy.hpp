// Balancing policies by name: the `--policies` grammar of the load-balancing
// binaries, parsed into BalancerOptions (balancers.hpp).
//
// A policy is `name[@value]`; several terms joined by '+' form a combined
// policy (`aux-global@1e-2+aux-micro@1e-4`, DeepSeek-V3's
// `alf-const+aux-seq@1e-4`), which only the learning mode accepts.
//
//   name             update   schedule  counted per   default value
//   none             -        -         -             -
//   alf-const        sign     const     step          alf_rate (ALF-LB, u)
//   alf-const-micro  sign     const     micro-batch   alf_rate
//   alf-lin-const    linear   const     step          alf_rate
//   alf-inv          linear   inv       step          inv_c0
//   alf-isqrt        linear   isqrt     step          isqrt_c0
//   alf-sign-inv     sign     inv       step          sign_inv_c0
//   alf-sign-isqrt   sign     isqrt     step          sign_inv_c0
//   aux-micro        aux loss counted per micro-batch  aux_coeff
//   aux-seq          aux loss counted per sequence     aux_coeff
//   aux-global       aux loss counted per global batch aux_coeff
//
// `@value` replaces the default (the rate u, the constant c0 or the aux
// coefficient). Parsing needs no run context, so a binary can reject a bad
// list before it writes anything; the defaults that depend on the run (the
// inverse schedule's 1/mu_sc) are applied afterwards by ResolvePolicy.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "moelab/routing/balancers.hpp"

namespace moelab {

// Which default constant a term takes when it has no `@value`.
enum class PolicyConstant { kNone, kAlfRate, kInvC0, kIsqrtC0, kSignInvC0, kAuxCoeff };

struct PolicyConstants {
  double alf_rate = 1e-3;          // u of the constant-step arms
  double inv_c0 = 0.0;             // c0 of alf-inv
  double isqrt_c0 = 0.0;           // c0 of alf-isqrt
  double sign_inv_c0 = 0.0;        // c0 of alf-sign-inv / -isqrt
  double aux_coeff = 1e-2;         // Switch's alpha
  double aux_learning_rate = 1.0;  // frozen-router stand-in only (balancers.hpp)
};

struct PolicyTerm {
  BalancerOptions options;  // value fields filled by ResolvePolicy
  PolicyConstant constant = PolicyConstant::kNone;
  std::optional<double> value;  // explicit @value
};

struct BalancingPolicy {
  std::string name;  // the spec as written, e.g. "alf-const@0.01"
  std::vector<PolicyTerm> terms;  // one per '+'-joined term; "none" has one kNone term
};

// Parses one policy spec. Throws std::invalid_argument naming the spec for an
// unknown name (listing the valid ones), an unparsable or negative @value, an
// empty term, or "none" combined with another term.
BalancingPolicy ParseBalancingPolicy(const std::string& spec);

// Fills each term's rate / coefficient from its @value or from `constants`
// and validates the result (throws std::invalid_argument).
BalancingPolicy ResolvePolicy(const BalancingPolicy& policy, const PolicyConstants& constants);

// "none, alf-const, ..., aux-global" (for help texts and errors).
std::string BalancingPolicyNames();

}  // namespace moelab
