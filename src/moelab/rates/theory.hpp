// The convergence rates theory predicts for each quantity a rate study
// measures, and the verdict that compares a measured slope with them.
//
// Sources (docs/theory.md): §4.1 ([Demyst] Theorems 1-2 and the per-parameter
// table), §4.2-4.3 ([TopK]: the same rates for top-K gates), §4.4 ([Temp]:
// temperature gate "slower than any polynomial", activation gate polynomial),
// §4.7 (excess log-likelihood, no-theory gates), §5.3 (rates hold up to log
// factors).
//
//   quantity (column)                     exact-fitted   over-fitted, largest cell m
//   loss_d1, loss_d2, weight_err          -1/2           -1/2
//   hellinger, tv (density)               -1/2           -1/2
//   single_{beta1,a,b,var,tau}            -1/2           -1/2 (singleton cells)
//   multi_{beta1,b,tau}                   -              -1/(2 rbar(m)): -1/8 (m=2), -1/12 (m=3)
//   multi_{a,var}                         -              -1/rbar(m):     -1/4 (m=2), -1/6  (m=3)
//   loglik_excess = (l_fit - l_true)/n    -1 (Wilks: 2 n excess -> chi^2_p, mean p / 2n)
//   temperature gate with ONE shared tau, tau fitted: (beta, tau) -> c (beta,
//   tau) is an exact symmetry, so the identifiable quotient is the softmax
//   model in beta/tau: the experts, the density and the ratio loss have the
//   softmax rates (-1/2); raw gate coordinates (beta1, tau, and the losses
//   built on them) are not identifiable and get no rate. [Temp]'s "slower
//   than any polynomial" (a reconstruction from its abstract) cannot arise
//   in this gate, nor with per-expert temperatures (each expert keeps an
//   exact scale symmetry); docs/rate_studies.md.
//   activation gate, over-fitted: gating -1/2, others "often -1/4" (secondary source,
//   low confidence; docs/theory.md §4.4).
//
// The rows apply by the fitted gate's TheoryKey() (model/gates/gate.hpp):
// "softmax", "topk", "temperature", "activation". A gate with another key
// (or none) gets no theory for any column: its study reports measured slopes
// with the verdict "no theory".
//
// Verdict for a polynomial rate s < 0 and a bootstrap CI [lo, hi]:
//   "consistent"                  s lies in [lo, hi];
//   "consistent up to log factors" the CI meets the band [1.3 s, 0.85 s]:
//       the theorems bound the loss by C sqrt(log n / n)-type terms, and a
//       finite grid sees pre-asymptotic curvature; docs/theory.md §5.3 calls -0.5 to -0.64
//       over n in [1e2, 1e5] consistent with n^-1/2 (1.3 s = -0.65), and a
//       pure sqrt(log n) factor flattens the local slope by |s|/ln n (about
//       0.07 for s = -1/2 at n = 1000; 0.85 s = -0.425);
//   "faster than theory" / "slower than theory" otherwise (CI entirely below /
//       above the band);
//   "no theory" when the quantity has none; "no fit" when the slope could not
//       be fitted.
#pragma once

#include <string>

#include "moelab/model/gate_params.hpp"
#include "moelab/core/types.hpp"

namespace moelab {

struct TheorySetting {
  GateKind gate = GateKind::kSoftmax;
  Index true_experts = 2;    // k*
  Index fitted_experts = 2;  // k
  bool temperature_fitted = false;

  bool over_fitted() const { return fitted_experts > true_experts; }
  // Largest Voronoi cell an over-fitted fit can have near the truth: every true
  // atom keeps one atom and the spare k - k* may pile into one cell. Capped at
  // 3, the largest size with a known rbar.
  Index largest_cell() const;
};

struct TheoryRate {
  enum class Kind { kPolynomial, kSlowerThanPolynomial, kNone } kind = Kind::kNone;
  double slope = 0.0;  // kPolynomial only
  std::string text;    // "n^-1/2", "slower than any polynomial", "none"
  std::string source;  // "docs/theory.md §4.1 ([Demyst] Thm 1-2)"
};

// The rate of `column` (see the table) in `setting`.
TheoryRate TheoryFor(const std::string& column, const TheorySetting& setting);

enum class Verdict {
  kConsistent,
  kConsistentUpToLogs,
  kFasterThanTheory,
  kSlowerThanTheory,
  kNoTheory,
  kNoFit,
};

const char* ToString(Verdict verdict);

// The verdict above. ci_lower/ci_upper may be NaN (no bootstrap): then the
// point slope stands for the interval.
Verdict Judge(const TheoryRate& theory, bool fitted, double slope, double ci_lower,
              double ci_upper);

}  // namespace moelab
