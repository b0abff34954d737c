// Learning mode of the load-balancing lab (issue 17): a top-K Gaussian MoE is
// TRAINED on the token stream while a balancing policy acts, so the
// balance/quality trade-off can be measured against a known truth.
//
// Data. Covariates x come from the token stream (token_stream.hpp: design,
// micro-batches, sequences, domains, drift). The truth is a Gaussian MoE with
// the stream's gate (logits beta1 x + beta0, beta0 evenly spaced on
// [-offset_scale, offset_scale]: systematic imbalance) as a top-K gate with
// full-logit ranking (K = E: softmax), experts a_i ~ N(0, expert_slope_scale^2
// I), b_i evenly spaced on [-expert_intercept_spread, expert_intercept_spread],
// nu_i = noise_variance; y ~ truth(x). The model is the truth's family with as
// many experts, so the exact-fitted Voronoi loss D1 applies.
//
// Training (moelab's choice): Adam (Kingma & Ba 2015; beta 0.9, 0.999, eps
// 1e-8) on the mini-batch loss of learning_loss.hpp (mean NLL + aux terms),
// one step per batch, learning rate constant, linearly decayed to
// final_rate_fraction of its start at the last step, or rate / sqrt(1 + t/100).
// Start: InitDataDriven (estimators/initialization.hpp) on init_tokens tokens
// drawn apart from the stream (a data-driven start, as EM's).
//
// Policies (balancing_policy.hpp): aux terms add coeff * LBL to the loss;
// an alf-* term keeps prices p that select (never weigh) and updates them
// from the step's loads (or after every micro-batch: alf-const-micro, which
// cannot be combined with aux terms). The routing at inference is the one of
// training: TopK(z - p) (biased selection for ALF-LB).
//
// Per step t (record after the step's updates, i.e. with theta_{t+1}, p_{t+1}
// for the held-out quantities):
//   train_nll, aux_loss      the batch's loss terms before the update
//   maxvio_batch / _micro    loads of the batch's routing
//   drop_rate, dropped_tokens  token-choice routing with capacity factor
//                            (capacity.hpp), share of assignments / tokens
//                            dropped in each micro-batch (metric only: the
//                            model is trained on the undropped routing)
//   ec_unrouted              share of tokens expert-choice routing of the
//                            batch's softmax scores would leave without an
//                            expert at the same capacity (reference)
//   every eval_every steps, on a fixed held-out set of eval_tokens tokens of
//   the step-0 law: heldout_nll with the inference routing (prices),
//   heldout_nll_unbiased (p = 0), maxvio_global, domain_mi
//   (I(domain; expert) of the held-out selections, load_metrics.hpp)
//   every metrics_every steps and at the last: d1 (LearningD1 below) and
//   hellinger (E_X h under the stream's design, Monte Carlo) - both of the
//   model's own density (p = 0); the prices are not part of the parameters.
//   with dynamic_every > 0, every dynamic_every steps (before the step's
//   update): dynamic_increment F_t(p_t) - F_t(p*_t), the dynamic regret of
//   dynamic_regret.hpp for the router of step t: F_t the expected batch dual
//   (dual_objective.hpp) of the current gate's logits z (the scores the
//   selection ranks) under the step-t law, estimated on dynamic_tokens
//   tokens drawn with the same generator at every evaluated step (common
//   random numbers), p*_t its exact LP optimum (best_fixed_bias.hpp), p_t
//   the prices the step selects with (0 for aux-only policies);
//   cumulative_dynamic_regret its left Riemann sum (every step, once on).
//   The comparator moves with the drift and with the learned gate. Needs
//   K < E.
// Fields not computed at a step are NaN.
//
// Seeds: stream and truth from DeriveSeed(seed, 0, 0) and (seed, 0, 1); the
// batch of step t (x, then y) from (seed, 1, t); held-out set (seed, 2, 0) and
// (seed, 2, 1); start (seed, 4, 0); Hellinger draws (seed, 5, t); dynamic-regret
// sample (seed, 6, 0) at every evaluated step. Every policy
// sees identical tokens and the same start.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/core/types.hpp"
#include "moelab/model/moe_params.hpp"
#include "moelab/routing/balancing_policy.hpp"
#include "moelab/routing/token_stream.hpp"

namespace moelab {

enum class LearningRateSchedule { kConstant, kLinearDecay, kInverseSqrt };
const char* ToString(LearningRateSchedule s);
LearningRateSchedule ParseLearningRateSchedule(const std::string& name);  // const, linear, isqrt

struct LearningRunOptions {
  TokenStreamOptions stream;      // covariate law, batch structure; its gate is the truth's
  int top_k = 2;                  // truth's and model's K (= num_experts: softmax)
  double expert_slope_scale = 1.0;
  double expert_intercept_spread = 2.0;
  double noise_variance = 0.25;   // nu of every true expert
  Index num_steps = 1000;
  std::uint64_t seed = 1;
  double learning_rate = 0.05;    // Adam's step at t = 0
  LearningRateSchedule schedule = LearningRateSchedule::kLinearDecay;
  double final_rate_fraction = 0.01;  // kLinearDecay: rate at the last step / rate at 0
  Index init_tokens = 2048;       // data for the data-driven start (>= 10 E (d + 2))
  Index eval_tokens = 4096;       // held-out set (>= 1)
  Index eval_every = 10;
  Index metrics_every = 100;      // D1 and Hellinger; 0 = only at the last step
  double capacity_factor = 1.25;  // for drop_rate / ec_unrouted
  Index hellinger_max_x = 1024;   // Monte Carlo cap of E_X h (relative target 5%)
  Index dynamic_every = 0;        // steps between dynamic-regret evaluations; 0 = off
  Index dynamic_tokens = 2048;    // tokens of its per-step sample (rounded up so that N K / E is whole)

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

struct LearningStepRecord {
  Index step = 0;
  double learning_rate = 0.0;
  double train_nll = 0.0, aux_loss = 0.0;
  double heldout_nll = 0.0, heldout_nll_unbiased = 0.0;
  double maxvio_batch = 0.0, maxvio_micro = 0.0, maxvio_global = 0.0;
  double drop_rate = 0.0, dropped_tokens = 0.0, ec_unrouted = 0.0;
  double domain_mi = 0.0;
  double d1 = 0.0, hellinger = 0.0, hellinger_se = 0.0;
  double dynamic_increment = 0.0, cumulative_dynamic_regret = 0.0;
  Vector loads;
};

struct LearningResult {
  std::string policy;
  Index steps = 0;
  MoeParams final_params;
  Vector final_prices;
  double final_heldout_nll = 0.0;       // last evaluation (inference routing)
  double final_heldout_nll_unbiased = 0.0;
  double final_maxvio_batch = 0.0;      // mean over the last 10% of steps
  double final_maxvio_micro = 0.0;      // same
  double final_maxvio_global = 0.0;     // last evaluation
  double final_drop_rate = 0.0;         // mean over the last 10% of steps
  double final_ec_unrouted = 0.0;       // same
  double final_domain_mi = 0.0;         // last evaluation
  double final_d1 = 0.0, final_hellinger = 0.0;
  double final_dynamic_regret = 0.0;    // cumulative at the end (NaN when off)
  bool finite = true;                   // false: the loss became non-finite (run stopped)
  double seconds = 0.0;
};

struct LearningSetup {
  explicit LearningSetup(const LearningRunOptions& options);
  LearningRunOptions options;
  TokenStream stream_template;
  MoeParams truth;
  MoeParams start;
  TokenBatch eval_batch;     // held-out covariates and domains
  Vector eval_y;
  double truth_heldout_nll;  // the truth's held-out NLL (the floor)
  double truth_maxvio_global;  // MaxVio of the truth's own routing of the held-out set
};

// Voronoi D1 (metrics/voronoi_loss.hpp) of `fit` to `truth` after matching
// the fit's labels to the truth's: the permutation minimising the summed
// L1 distance of the expert parameters (a, b, nu; gauge-free), exhaustive for
// E <= 8, greedy above; then the reference-expert gauge with both last atoms
// matched. (The translation-infimum gauge saturates at sum_j e^{w*_j} for
// fits far from the truth, e.g. the data-driven start, hiding progress.)
double LearningD1(const MoeParams& truth, const MoeParams& fit);

// Held-out NLL of `params` (p = 0) on the setup's held-out set.
double HeldOutNll(const LearningSetup& setup, const MoeParams& params);

// The training tokens of steps [0, steps) exactly as RunLearning draws them.
Dataset DrawTrainingTokens(const LearningSetup& setup, Index steps);

using LearningObserver = std::function<void(const LearningStepRecord&)>;

// Throws std::invalid_argument naming the policy when the learning mode
// cannot run it (a per-micro-batch price update combined with aux terms).
// Needs no run context: binaries call it before writing anything.
void CheckLearningPolicy(const BalancingPolicy& policy);

// `policy` must be resolved (ResolvePolicy); it is checked as above.
LearningResult RunLearning(const LearningSetup& setup, const BalancingPolicy& policy,
                           const LearningObserver& observer);

}  // namespace moelab
