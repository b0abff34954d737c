// Token streams for the load-balancing lab: batches of B tokens whose routing
// scores come from a frozen gate ("frozen-router mode", docs/theory.md §7.5).
//
// One token t of step n:
//   domain  d      ~ Uniform{0..D-1}, one draw per sequence (or per micro-batch
//                    when domain_per_microbatch: Demons' packed micro-batches)
//   x_t            ~ design (simulation/design.hpp) + m_d + n * drift_per_step * v
//                    or, when pool_size > 0, a uniform draw from a fixed pool of
//                    pool_size covariates drawn once (G2/G3 of docs/theory.md §7.5: the law of
//                    the scores is then a finite mixture and F(p) is exact)
//   logits z_t     = beta1 x_t + beta0        (the model's softmax-gate logits,
//                    model/gates; beta0 = c creates systematic imbalance)
//   scores s_t     = score_fn(z_t) + gumbel_scale * G_t,   G_t i.i.d. Gumbel(0, 1)
//
// When `gate` is not given, the constructor draws beta1 ~ N(0, slope_scale^2)
// entry-wise and sets beta0 linearly spaced on [-offset_scale, offset_scale]
// (the pilot G1 configuration, docs/theory.md §7.5). Domain means m_d ~ N(0, domain_spread^2) per
// coordinate and the drift direction v (a uniform unit vector) are drawn there
// too, all from the `setup` generator; batches draw only from the Rng passed to
// Next(). Draw order in Next(): per sequence its domain (when D > 1 and not per
// micro-batch; per micro-batch otherwise), then the covariates (pool indices
// or DrawCovariates, row by row), then the Gumbel noise row by row. Gumbel
// draws use -log(-log U) with U built from the top 53 bits of one engine
// output, U in (0, 1), so they are identical on every platform.
#pragma once

#include <vector>

#include "moelab/core/rng.hpp"
#include "moelab/core/types.hpp"
#include "moelab/model/gate_params.hpp"
#include "moelab/routing/score_function.hpp"
#include "moelab/simulation/design.hpp"

namespace moelab {

struct TokenStreamOptions {
  // Number of scored experts (routed experts plus any null experts, which the
  // router treats as the last columns).
  Index num_experts = 8;
  // Covariate law; dim is the covariate dimension q.
  CovariateDesign design{DesignKind::kNormal, 4, -1.0, 1.0};
  // Logit map. Empty bias => drawn by the constructor (see header comment).
  GateParams gate;
  double slope_scale = 1.0;
  double offset_scale = 1.0;
  ScoreFunction score_function = ScoreFunction::kSoftmax;
  // Scale of the Gumbel perturbation added to the scores; 0 = none.
  double gumbel_scale = 0.0;
  // > 0: covariates come from a fixed pool of this many draws (exact F).
  Index pool_size = 0;
  // Tokens per step B = num_microbatches * micro-batch size.
  Index batch_size = 128;
  Index num_microbatches = 1;
  // Tokens per sequence; 0 = one sequence per micro-batch. Must divide the
  // micro-batch size.
  Index sequence_length = 0;
  Index num_domains = 1;
  double domain_spread = 1.0;
  bool domain_per_microbatch = false;
  // Covariate mean moves by this much per step along a fixed unit direction.
  double drift_per_step = 0.0;

  Index microbatch_size() const { return batch_size / num_microbatches; }
  Index resolved_sequence_length() const {
    return sequence_length > 0 ? sequence_length : microbatch_size();
  }

  // Throws std::invalid_argument naming the field: num_experts < 2, B < 1,
  // micro-batches not dividing B, sequences not dividing a micro-batch,
  // negative scales, pool combined with domains or drift, a gate whose sizes
  // do not match (num_experts, design.dim), an invalid design.
  void Validate() const;
};

struct TokenBatch {
  Index step = 0;
  Matrix X;        // B x q
  Matrix logits;   // B x E
  Matrix scores;   // B x E (after score function and noise)
  Matrix noise;    // B x E Gumbel perturbation (scaled); empty when gumbel_scale = 0
  IntVector domain;  // B
  Index microbatch_size = 0;
  Index sequence_length = 0;
};

class TokenStream {
 public:
  // Validates `options`; draws the gate (if absent), the pool, the domain
  // means and the drift direction from `setup`.
  TokenStream(const TokenStreamOptions& options, Rng& setup);

  // The batch of the next step (step counter starts at 0).
  TokenBatch Next(Rng& rng);

  // n i.i.d. tokens from the law of step `step` (no micro-batch structure;
  // a domain per token). For the held-out evaluation set of MaxVio_global and
  // for Monte-Carlo regret references.
  TokenBatch Sample(Index n, Index step, Rng& rng) const;

  const TokenStreamOptions& options() const { return options_; }
  const GateParams& gate() const { return gate_; }
  // Pool covariates (pool_size x q) and their noise-free logits; empty
  // without a pool.
  const Matrix& pool() const { return pool_; }
  Matrix PoolLogits() const;
  Index step() const { return step_; }

  // Logits of arbitrary covariates through the stream's gate.
  Matrix Logits(const Eigen::Ref<const Matrix>& X) const;

 private:
  TokenBatch Draw(Index n, Index step, Index tokens_per_domain_draw, Rng& rng) const;

  TokenStreamOptions options_;
  GateParams gate_;
  Matrix pool_;
  Matrix domain_means_;  // D x q
  Vector drift_direction_;
  Index step_ = 0;
};

// Scores of `batch` when the router adds learnable offsets theta to the
// logits: score_fn(z + theta) + noise (the aux-loss stand-in, balancers.hpp).
Matrix RescoreWithOffsets(const TokenBatch& batch, ScoreFunction f,
                          const Eigen::Ref<const Vector>& theta);

// One Gumbel(0, 1) draw, portable (see header comment).
double GumbelDraw(Rng& rng);

}  // namespace moelab
