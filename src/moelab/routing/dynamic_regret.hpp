// Dynamic regret of a balancing policy on a drifting stream (moelab's
// definition, not taken from a paper; see docs/load_balancing.md):
//
//   R^dyn_T = sum_{t <= T} [ F_t(p_t) - F_t(p*_t) ],   p*_t = argmin_p F_t(p),
//
// F_t(p) = E[D_batch(p)] under the law of step t (token_stream.hpp: the
// covariate mean has moved by t * drift_per_step), D the batch dual of
// dual_objective.hpp. The comparator is the per-step best price, not one
// fixed price: a policy must TRACK the moving optimum. Without drift it
// equals the static regret of regret.hpp against a held-out reference.
//
// Estimation: F_t is estimated on N tokens drawn from the step-t law with the
// SAME generator for every t (common random numbers: the sample moves with
// the drift, so successive F_t differ by the drift, not by resampling), p*_t
// by the exact transportation LP on that sample (best_fixed_bias.hpp). The
// increment is then >= 0 up to the LP's duality gap. As with the static
// held-out reference, the sample's own optimum adds a small positive bias
// per evaluation; compare policies on the same reference.
//
// Evaluations happen every `every` steps and count for `every` steps (left
// Riemann sum). The LP of step t is solved once and cached, so all policies
// of a run share it. Plain top-K routing without null experts only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "moelab/core/types.hpp"
#include "moelab/routing/routers.hpp"
#include "moelab/routing/token_stream.hpp"

namespace moelab {

struct DynamicRegretOptions {
  Index held_out_tokens = 2048;  // N per evaluated step (rounded up to a multiple of E)
  Index every = 10;              // steps between evaluations (>= 1)
  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

class DynamicRegret {
 public:
  // Throws std::invalid_argument unless the router is plain top-K without
  // null experts and K < E.
  DynamicRegret(const TokenStream& stream, const RouterOptions& router, const DynamicRegretOptions& options,
                std::uint64_t seed);

  struct Optimum {
    double value = 0.0;  // F_t(p*_t)
    Vector bias;         // p*_t, centred
    double gap = 0.0;    // LP duality gap, scaled to one batch
  };
  const Optimum& OptimumAt(Index step) const;
  // F_t(p) - F_t(p*_t) on the step-t sample.
  double Increment(Index step, const Eigen::Ref<const Vector>& p) const;
  const DynamicRegretOptions& options() const { return options_; }

 private:
  Matrix SampleScores(Index step) const;

  TokenStream stream_;
  int top_k_;
  Index batch_size_;
  Index n_;
  DynamicRegretOptions options_;
  std::uint64_t seed_;
  mutable std::mutex mutex_;
  mutable std::map<Index, Optimum> cache_;
};

}  // namespace moelab
