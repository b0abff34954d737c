// ALF-LB dual regret (moelab definition).
//
// The arXiv 2512.03915 body (Han & Zhong) was not available, so this is OUR
// definition (docs/theory.md §7.4), not the paper's:
//
//   R_T = sum_{t <= T} [ F(p_t) - F(p*) ],   F(p) = E_batch[ D_batch(p) ],
//
// the expected (pseudo) regret of the prices p_t used at step t against the
// best fixed price p* = argmin F. D is the batch dual of dual_objective.hpp,
// so the definition applies to plain top-K routing (no null experts); for
// other routers regret is not defined and not reported.
//
// How F and p* are obtained (RegretReference::kind):
//   kGumbelPoolExact  pool stream, logit scores, Gumbel noise, K = 1:
//                     closed-form smooth F and Newton p*
//                     (gumbel_pool_objective.hpp). Exact: the reference for
//                     log-T shape studies (G2, docs/theory.md §7.5).
//   kPoolLp           pool stream without noise: F(p) = (B/M) D_pool(p) is
//                     exact; p* from the transportation LP (best_fixed_bias.hpp,
//                     exact up to the reported duality gap). G3, docs/theory.md §7.5.
//   kHeldOutLp        any other stationary stream: F estimated by
//                     F_S(p) = (B/N) D_S(p) on N held-out tokens, p* the exact
//                     minimiser of F_S. The estimate carries a comparator bias
//                     eps = F_S(p_true*) - F_S(p*_S) > 0 per step, which adds a
//                     spurious linear term eps T to R_T (docs/theory.md §7.5, G1); the
//                     reference reports the LP duality gap but cannot know eps.
//                     Use N >> T B / E or a pool stream for shape claims.
// Streams with drift have no fixed F; regret is then not reported.
//
// Doubling ratio rho(T) = [R(4T) - R(2T)] / [R(2T) - R(T)]: 1 for a + b ln T,
// sqrt(2) for sqrt(T), 2 for linear regret. The growth exponent
// alpha = log2(rho) is the exponent of R_T ~ T^alpha implied by rho.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "moelab/core/rng.hpp"
#include "moelab/core/types.hpp"
#include "moelab/routing/routers.hpp"
#include "moelab/routing/token_stream.hpp"

namespace moelab {

enum class RegretReferenceKind { kNone, kAuto, kGumbelPoolExact, kPoolLp, kHeldOutLp };

const char* ToString(RegretReferenceKind kind);
// none, auto, gumbel-exact, pool-lp, held-out-lp
RegretReferenceKind ParseRegretReferenceKind(const std::string& name);

struct RegretOptions {
  RegretReferenceKind kind = RegretReferenceKind::kAuto;
  // Held-out sample size for kHeldOutLp (rounded up to a multiple of E so
  // that N K / E is integral).
  Index held_out_tokens = 8192;
  // Evaluate F(p_t) every this many steps; R_T adds every * (F(p_t) - F*)
  // (a left Riemann sum; exact when 1).
  Index every = 1;

  void Validate() const;
};

struct RegretReference {
  RegretReferenceKind kind = RegretReferenceKind::kNone;
  std::string description;            // human-readable method and accuracy
  std::function<double(const Vector&)> objective;  // F(p), p of length E
  double optimum = 0.0;               // F(p*)
  Vector best_bias;                   // p*, centred
  double accuracy = 0.0;              // certified error bound on F(p*) (0 for Newton to round-off)
  double strong_convexity = 0.0;      // mu_sc on 1-perp (Gumbel pool only; else 0)
  bool defined() const { return kind != RegretReferenceKind::kNone; }
};

// Builds the reference for a stream and router. With kAuto: gumbel-exact when
// its conditions hold, else pool-lp for a noise-free pool, else held-out-lp;
// kNone when the router is not plain top-K, null experts are present, or the
// stream drifts. An explicit kind whose conditions fail throws
// std::invalid_argument. `rng` draws the held-out sample (kHeldOutLp only).
RegretReference MakeRegretReference(const TokenStream& stream, const RouterOptions& router,
                                    const RegretOptions& options, Rng& rng);

// rho for cumulative regret values at T, 2T, 4T; NaN when R(2T) == R(T).
double DoublingRatio(double r_t, double r_2t, double r_4t);

// Growth exponent of cumulative regret: the least-squares slope
// (rates/slope_fit.hpp FitLine) of log R_t on log t over 41 log-spaced t in
// [from, to] (R_t = cumulative[t - 1]); points with R_t <= 0 are skipped.
// NaN with fewer than 3 usable points or a bad range.
double RegretGrowthExponent(const std::vector<double>& cumulative, Index from, Index to);

}  // namespace moelab
