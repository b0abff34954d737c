// One run of the load-balancing lab: a token stream, a router and a balancer
// for T steps, with the per-step metrics of docs/theory.md §7.8 and the
// regret of §7.4.
//
// Step t: draw the batch (its own generator, seeded DeriveSeed(seed, 1, t),
// so every policy sees the same tokens whatever it does and whatever order
// the runs take); if the balancer has logit offsets, rescore with them; for
// each micro-batch route with the current bias, count, and let a
// per-micro-batch balancer update; then metrics; then the end-of-step update.
// The biases used at step t depend on batches < t only (causal, Wang et al.).
//
// Metrics (load_metrics.hpp; loads of routed experts only):
//   maxvio_batch   MaxVio of the step's loads
//   maxvio_micro   mean over micro-batches of their MaxVio
//   maxvio_global  MaxVio of a fixed held-out set of eval_tokens tokens
//                  routed with the current prices (every eval_every steps)
//   imbalance      Pangu IS over num_devices equal expert groups
//   dual           D_batch(p_t) (top-K without null experts), dual_objective.hpp
//   regret         F(p_t) - F(p*) and its running sum (regret.hpp), with
//                  p_t the effective price: p - theta for logit scores (the
//                  offsets of the aux arm shift logits), p otherwise; the aux
//                  arm with other score functions has no price and no regret.
//   bias_distance  ||centre(p_t) - p*||_2
//   dynamic        with options.dynamic.every > 0: F_t(p_t) - F_t(p*_t) every
//                  `every` steps and its running sum (dynamic_regret.hpp),
//                  p_t the effective price as for the static regret
//   real_per_token mean number of real experts per token (top-p, null)
//   shared_load    B * num_shared_experts (always-on experts, counted apart)
//   aux_loss       LBL of the step at the configured level (aux arm)
//   drop_rate      with capacity_factor > 0: share of the step's assignments
//                  dropped by expert capacity, per micro-batch in position
//                  order (capacity.hpp); dropped_tokens the share of tokens
//                  that lost all their selections; ec_unrouted the share of
//                  tokens expert-choice routing of the same scores would
//                  leave without an expert (plain top-K only). Metrics only:
//                  the routing itself is not truncated.
// Fields that a run cannot compute hold NaN in the record and are written as
// empty CSV cells; they never feed back into the run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "moelab/core/types.hpp"
#include "moelab/routing/balancers.hpp"
#include "moelab/routing/dynamic_regret.hpp"
#include "moelab/routing/regret.hpp"
#include "moelab/routing/routers.hpp"
#include "moelab/routing/token_stream.hpp"

namespace moelab {

struct LoadBalanceOptions {
  TokenStreamOptions stream;
  RouterOptions router;
  Index num_steps = 1000;
  std::uint64_t seed = 1;
  Index eval_tokens = 0;   // held-out set for maxvio_global; 0 = off
  Index eval_every = 10;
  Index num_devices = 0;   // IS groups; 0 = router.num_groups
  RegretOptions regret;
  double capacity_factor = 0.0;  // > 0: drop-rate metrics at this factor (0 = off)
  // Dynamic regret against the per-step best price (dynamic_regret.hpp) on
  // drifting streams; every = 0 turns it off.
  DynamicRegretOptions dynamic{2048, 0};

  // Validates the stream, router and the fields here (throws
  // std::invalid_argument naming the field).
  void Validate() const;
};

struct StepRecord {
  Index step = 0;
  Vector loads;  // routed experts
  double maxvio_batch = 0.0;
  double maxvio_micro = 0.0;
  double maxvio_global = 0.0;
  double minvio = 0.0;
  double cv = 0.0;
  Index idle = 0;
  double imbalance = 0.0;
  double dual = 0.0;
  double regret_increment = 0.0;
  double cumulative_regret = 0.0;
  double bias_distance = 0.0;
  double real_per_token = 0.0;
  double shared_load = 0.0;
  double aux_loss = 0.0;
  double drop_rate = 0.0;
  double dropped_tokens = 0.0;
  double ec_unrouted = 0.0;
  double dynamic_increment = 0.0;           // F_t(p_t) - F_t(p*_t) (evaluated steps)
  double cumulative_dynamic_regret = 0.0;   // running sum (NaN when off)
  Vector bias;  // centred selection price p_t (routed experts)
};

struct LoadBalanceResult {
  std::string policy;
  Index steps = 0;
  std::vector<double> cumulative_regret;  // R_1..R_T (empty when undefined)
  std::vector<double> maxvio_batch;       // per step
  double final_maxvio_batch = 0.0;        // mean over the last 10% of steps
  double final_maxvio_global = 0.0;       // last evaluation (NaN if none)
  double final_drop_rate = 0.0;           // mean over the last 10% of steps (NaN when off)
  std::vector<double> cumulative_dynamic_regret;  // per step (empty when off)
  double seconds = 0.0;
};

// The context shared by all policies of one configuration: the stream's
// frozen gate and pool, the held-out evaluation set and the regret reference.
struct LoadBalanceSetup {
  explicit LoadBalanceSetup(const LoadBalanceOptions& options);
  LoadBalanceOptions options;
  TokenStream stream_template;
  TokenBatch eval_batch;  // eval_tokens held-out tokens (empty when off)
  RegretReference regret;
  std::shared_ptr<const DynamicRegret> dynamic;  // null when off
};

using StepObserver = std::function<void(const StepRecord&)>;

LoadBalanceResult RunLoadBalance(const LoadBalanceSetup& setup, const BalancerOptions& balancer,
                                 const std::string& policy_name, const StepObserver& observer);

}  // namespace moelab
