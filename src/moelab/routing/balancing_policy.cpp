#include "moelab/routing/balancing_policy.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace moelab {
namespace {

// The dual-subgradient arms, spelled with the names balancers.hpp parses.
struct DualArm {
  const char* name;
  const char* update;    // ParseDualUpdate
  const char* schedule;  // ParseStepSchedule
  bool per_microbatch;
  PolicyConstant constant;
};
constexpr DualArm kDualArms[] = {
    {"alf-const", "sign", "const", false, PolicyConstant::kAlfRate},
    {"alf-const-micro", "sign", "const", true, PolicyConstant::kAlfRate},
    {"alf-lin-const", "linear", "const", false, PolicyConstant::kAlfRate},
    {"alf-inv", "linear", "inv", false, PolicyConstant::kInvC0},
    {"alf-isqrt", "linear", "isqrt", false, PolicyConstant::kIsqrtC0},
    {"alf-sign-inv", "sign", "inv", false, PolicyConstant::kSignInvC0},
    {"alf-sign-isqrt", "sign", "isqrt", false, PolicyConstant::kSignInvC0},
};
// The aux-loss arms and their counting level (ParseCountingLevel).
struct AuxArm {
  const char* name;
  const char* level;
};
constexpr AuxArm kAuxArms[] = {{"aux-micro", "micro"}, {"aux-seq", "sequence"}, {"aux-global", "global"}};

[[noreturn]] void Fail(const std::string& spec, const std::string& what) {
  throw std::invalid_argument("policy '" + spec + "': " + what);
}

double ParseValue(const std::string& spec, const std::string& text) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, value);
  if (text.empty() || r.ec != std::errc() || r.ptr != end || !std::isfinite(value))
    Fail(spec, "value '" + text + "' after '@' is not a finite number");
  if (value < 0.0) Fail(spec, "value " + text + " after '@' must be >= 0");
  return value;
}

PolicyTerm ParseTerm(const std::string& spec, const std::string& term) {
  if (term.empty()) Fail(spec, "empty term (check for a stray '+')");
  const auto at = term.find('@');
  const std::string name = term.substr(0, at);
  PolicyTerm out;
  if (at != std::string::npos) out.value = ParseValue(spec, term.substr(at + 1));
  if (name == "none") {
    if (out.value) Fail(spec, "'none' takes no @value");
    return out;
  }
  for (const DualArm& arm : kDualArms) {
    if (name != arm.name) continue;
    out.options.kind = BalancerKind::kDualSubgradient;
    out.options.update = ParseDualUpdate(arm.update);
    out.options.schedule = ParseStepSchedule(arm.schedule);
    out.options.per_microbatch = arm.per_microbatch;
    out.constant = arm.constant;
    return out;
  }
  for (const AuxArm& arm : kAuxArms) {
    if (name != arm.name) continue;
    out.options.kind = BalancerKind::kAuxLoss;
    out.options.level = ParseCountingLevel(arm.level);
    out.constant = PolicyConstant::kAuxCoeff;
    return out;
  }
  Fail(spec, "unknown name '" + name + "' (valid: " + BalancingPolicyNames() +
                 "; append @value to set the rate / constant / coefficient, join terms with '+')");
}

}  // namespace

std::string BalancingPolicyNames() {
  std::string names = "none";
  for (const DualArm& arm : kDualArms) names += std::string(", ") + arm.name;
  for (const AuxArm& arm : kAuxArms) names += std::string(", ") + arm.name;
  return names;
}

BalancingPolicy ParseBalancingPolicy(const std::string& spec) {
  BalancingPolicy policy{spec, {}};
  std::size_t begin = 0;
  while (true) {
    const auto plus = spec.find('+', begin);
    policy.terms.push_back(ParseTerm(spec, spec.substr(begin, plus - begin)));
    if (plus == std::string::npos) break;
    begin = plus + 1;
  }
  if (policy.terms.size() > 1) {
    int dual = 0;
    for (const auto& t : policy.terms) {
      if (t.options.kind == BalancerKind::kNone) Fail(spec, "'none' cannot be combined with other terms");
      dual += t.options.kind == BalancerKind::kDualSubgradient;
    }
    if (dual > 1) Fail(spec, "at most one alf-* term (one set of prices)");
  }
  return policy;
}

BalancingPolicy ResolvePolicy(const BalancingPolicy& policy, const PolicyConstants& c) {
  BalancingPolicy out = policy;
  for (PolicyTerm& t : out.terms) {
    double fallback = 0.0;
    switch (t.constant) {
      case PolicyConstant::kNone: break;
      case PolicyConstant::kAlfRate: fallback = c.alf_rate; break;
      case PolicyConstant::kInvC0: fallback = c.inv_c0; break;
      case PolicyConstant::kIsqrtC0: fallback = c.isqrt_c0; break;
      case PolicyConstant::kSignInvC0: fallback = c.sign_inv_c0; break;
      case PolicyConstant::kAuxCoeff: fallback = c.aux_coeff; break;
    }
    const double v = t.value.value_or(fallback);
    if (t.options.kind == BalancerKind::kAuxLoss) {
      t.options.aux_coeff = v;
      t.options.aux_learning_rate = c.aux_learning_rate;
    } else if (t.options.kind == BalancerKind::kDualSubgradient) {
      t.options.rate = v;
    }
    try {
      t.options.Validate();
    } catch (const std::invalid_argument& e) {
      Fail(policy.name, e.what());
    }
  }
  return out;
}

}  // namespace moelab
