#include "moelab/rates/theory.hpp"

#include <algorithm>
#include <cmath>

#include "moelab/metrics/rbar.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

TheoryRate Polynomial(double slope, std::string text, std::string source) {
  TheoryRate t;
  t.kind = TheoryRate::Kind::kPolynomial;
  t.slope = slope;
  t.text = std::move(text);
  t.source = std::move(source);
  return t;
}

std::string Fraction(double denominator) {
  return "n^-1/" + std::to_string(static_cast<long long>(std::llround(denominator)));
}

}  // namespace

Index TheorySetting::largest_cell() const {
  if (!over_fitted()) return 1;
  return std::min<Index>(fitted_experts - true_experts + 1, 3);
}

TheoryRate TheoryFor(const std::string& column, const TheorySetting& setting) {
  // The gate says which rows apply; a gate the table does not know has no
  // theory at all (never the softmax rates).
  const std::string key = GateFor(setting.gate).TheoryKey();
  if (key != "softmax" && key != "topk" && key != "temperature" && key != "activation") return {};
  const bool temperature = key == "temperature" && setting.temperature_fitted;
  const bool activation = key == "activation";
  const char* base_source = key == "topk" ? "docs/theory.md §4.2 ([TopK])"
                            : activation ? "docs/theory.md §4.4 ([Temp], activation gate)"
                            : key == "temperature"
                                ? "[Demyst] rates on the identifiable quotient (beta/tau) of the "
                                  "shared-tau temperature gate"
                                : "docs/theory.md §4.1 ([Demyst] Thm 1-2)";
  if (column == "hellinger" || column == "tv")
    return Polynomial(-0.5, "n^-1/2", std::string(base_source) + ", density");
  if (column == "loss_ratio")
    return Polynomial(-0.5, "n^-1/2",
                      "beta/tau is a softmax model's parameter (docs/theory.md §2.3, §4.4), §4.1 Thm 1");
  if (column == "loglik_excess") {
    if (setting.over_fitted() || temperature) return {};
    return Polynomial(-1.0, "n^-1", "Wilks: 2n x excess -> chi^2_p, mean p/(2n) (regular model)");
  }
  const bool is_loss = column == "loss_d1" || column == "loss_d2";
  const bool is_weight = column == "weight_err";
  const bool is_single = StartsWith(column, "single_");
  const bool is_multi = StartsWith(column, "multi_");
  if (!is_loss && !is_weight && !is_single && !is_multi) return {};
  if (temperature) {
    // One shared tau: (beta, tau) -> c (beta, tau) is an exact symmetry, so
    // the identifiable quotient is the softmax model in beta/tau and every
    // quantity the model identifies has the softmax rates (the experts
    // n^-1/2). [Temp]'s "slower than any polynomial" is a reconstruction from
    // its abstract and cannot show here; per-expert temperatures would not
    // either (each expert keeps its own exact scale symmetry;
    // docs/rate_studies.md). Raw gate coordinates are not identified at
    // all: no rate.
    const bool gate_coordinate = is_loss || is_weight || column == "single_beta1" ||
                                 column == "multi_beta1" || column == "single_tau" ||
                                 column == "multi_tau";
    if (gate_coordinate) {
      TheoryRate t;
      t.kind = TheoryRate::Kind::kNone;
      t.text = "raw (beta, tau) not identifiable (one shared tau); beta/tau: n^-1/2";
      t.source = "moelab: exact scale symmetry of the shared-tau temperature gate";
      return t;
    }
  }
  if (is_loss || is_weight || is_single)
    return Polynomial(-0.5, "n^-1/2", std::string(base_source) + (is_single ? ", singleton cells" : ""));
  // Over-fitted cells of size m.
  if (!setting.over_fitted()) return {};
  const std::string parameter = column.substr(6);
  if (activation) {
    if (parameter == "beta1" || parameter == "tau")
      return Polynomial(-0.5, "n^-1/2", "docs/theory.md §4.4 (activation, over-fitted: gating)");
    return Polynomial(-0.25, "n^-1/4", "docs/theory.md §4.4 (activation, over-fitted: 'often', low confidence)");
  }
  const Index m = setting.largest_cell();
  const double rbar = Rbar(m);
  const std::string cell = " (cells of " + std::to_string(m) + " atoms, rbar = " +
                           std::to_string(static_cast<int>(rbar)) + ")";
  if (parameter == "beta1" || parameter == "b" || parameter == "tau")
    return Polynomial(-1.0 / (2.0 * rbar), Fraction(2.0 * rbar), std::string(base_source) + cell);
  if (parameter == "a" || parameter == "var")
    return Polynomial(-1.0 / rbar, Fraction(rbar), std::string(base_source) + cell);
  return {};
}

const char* ToString(Verdict verdict) {
  switch (verdict) {
    case Verdict::kConsistent: return "consistent";
    case Verdict::kConsistentUpToLogs: return "consistent up to log factors";
    case Verdict::kFasterThanTheory: return "faster than theory";
    case Verdict::kSlowerThanTheory: return "slower than theory";
    case Verdict::kNoTheory: return "no theory";
    case Verdict::kNoFit: return "no fit";
  }
  return "?";
}

Verdict Judge(const TheoryRate& theory, bool fitted, double slope, double ci_lower,
              double ci_upper) {
  if (!fitted || !std::isfinite(slope)) return Verdict::kNoFit;
  if (theory.kind != TheoryRate::Kind::kPolynomial) return Verdict::kNoTheory;
  double lo = ci_lower, hi = ci_upper;
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = hi = slope;
  const double s = theory.slope;
  if (lo <= s && s <= hi) return Verdict::kConsistent;
  const double band_lo = std::min(1.3 * s, 0.85 * s), band_hi = std::max(1.3 * s, 0.85 * s);
  if (hi >= band_lo && lo <= band_hi) return Verdict::kConsistentUpToLogs;
  return hi < band_lo ? Verdict::kFasterThanTheory : Verdict::kSlowerThanTheory;
}

}  // namespace moelab
