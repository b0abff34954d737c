#include "moelab/routing/token_stream.hpp"

#include <cmath>
#include <string>

#include "moelab/core/check.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

double GumbelDraw(Rng& rng) {
  // U = (k + 0.5) / 2^53 with k the top 53 bits: never 0 or 1.
  const double u = (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;
  return -std::log(-std::log(u));
}

void TokenStreamOptions::Validate() const {
  constexpr const char* kFn = "TokenStreamOptions::Validate";
  design.Validate();
  if (num_experts < 2) ThrowInvalid(kFn, "num_experts must be >= 2, got " + std::to_string(num_experts));
  if (batch_size < 1) ThrowInvalid(kFn, "batch_size must be >= 1, got " + std::to_string(batch_size));
  if (num_microbatches < 1 || batch_size % num_microbatches != 0) {
    ThrowInvalid(kFn, "num_microbatches (" + std::to_string(num_microbatches) +
                          ") must be >= 1 and divide batch_size (" + std::to_string(batch_size) + ")");
  }
  if (sequence_length < 0 || (sequence_length > 0 && microbatch_size() % sequence_length != 0)) {
    ThrowInvalid(kFn, "sequence_length (" + std::to_string(sequence_length) +
                          ") must be 0 or divide the micro-batch size (" +
                          std::to_string(microbatch_size()) + ")");
  }
  CheckNonNegative(kFn, "slope_scale", slope_scale);
  CheckFinite(kFn, "offset_scale", offset_scale);
  CheckNonNegative(kFn, "gumbel_scale", gumbel_scale);
  CheckNonNegative(kFn, "domain_spread", domain_spread);
  CheckFinite(kFn, "drift_per_step", drift_per_step);
  if (pool_size < 0) ThrowInvalid(kFn, "pool_size must be >= 0");
  if (num_domains < 1) ThrowInvalid(kFn, "num_domains must be >= 1");
  if (pool_size > 0 && (num_domains > 1 || drift_per_step != 0.0)) {
    ThrowInvalid(kFn, "pool_size > 0 cannot be combined with num_domains > 1 or drift_per_step");
  }
  if (gate.bias.size() > 0) {
    gate.Validate();
    if (gate.num_experts() != num_experts) {
      ThrowInvalid(kFn, "gate has " + std::to_string(gate.num_experts()) +
                            " experts, num_experts is " + std::to_string(num_experts));
    }
    if (gate.dim() != design.dim) {
      ThrowInvalid(kFn, "gate dim " + std::to_string(gate.dim()) + " != design.dim " +
                            std::to_string(design.dim));
    }
  }
}

TokenStream::TokenStream(const TokenStreamOptions& options, Rng& setup) : options_(options) {
  options_.Validate();
  const Index e = options_.num_experts, q = options_.design.dim;
  if (options_.gate.bias.size() > 0) {
    gate_ = options_.gate;
  } else {
    gate_.kind = GateKind::kSoftmax;
    gate_.slope.resize(e, q);
    for (Index i = 0; i < e; ++i)
      for (Index c = 0; c < q; ++c) gate_.slope(i, c) = options_.slope_scale * StandardNormal(setup);
    gate_.bias = Vector::LinSpaced(e, -options_.offset_scale, options_.offset_scale);
  }
  if (options_.pool_size > 0) pool_ = DrawCovariates(options_.design, options_.pool_size, setup);
  domain_means_ = Matrix::Zero(options_.num_domains, q);
  if (options_.num_domains > 1) {
    for (Index d = 0; d < options_.num_domains; ++d)
      for (Index c = 0; c < q; ++c) domain_means_(d, c) = options_.domain_spread * StandardNormal(setup);
  }
  drift_direction_ = Vector::Zero(q);
  if (options_.drift_per_step != 0.0) {
    for (Index c = 0; c < q; ++c) drift_direction_[c] = StandardNormal(setup);
    drift_direction_ /= drift_direction_.norm();
  }
}

Matrix TokenStream::Logits(const Eigen::Ref<const Matrix>& X) const {
  return GateFor(GateKind::kSoftmax).SelectedLogits(gate_, X);
}

Matrix TokenStream::PoolLogits() const {
  if (pool_.rows() == 0) return Matrix();
  return Logits(pool_);
}

TokenBatch TokenStream::Draw(Index n, Index step, Index tokens_per_domain_draw, Rng& rng) const {
  const Index q = options_.design.dim;
  TokenBatch batch;
  batch.step = step;
  batch.domain = IntVector::Zero(n);
  if (options_.num_domains > 1) {
    for (Index start = 0; start < n; start += tokens_per_domain_draw) {
      const Index d = static_cast<Index>(rng() % static_cast<std::uint64_t>(options_.num_domains));
      batch.domain.segment(start, std::min(tokens_per_domain_draw, n - start)).setConstant(static_cast<int>(d));
    }
  }
  if (options_.pool_size > 0) {
    batch.X.resize(n, q);
    for (Index r = 0; r < n; ++r) {
      batch.X.row(r) = pool_.row(static_cast<Index>(rng() % static_cast<std::uint64_t>(options_.pool_size)));
    }
  } else {
    batch.X = DrawCovariates(options_.design, n, rng);
    if (options_.num_domains > 1) {
      for (Index r = 0; r < n; ++r) batch.X.row(r) += domain_means_.row(batch.domain[r]);
    }
    if (options_.drift_per_step != 0.0) {
      const Eigen::RowVectorXd shift =
          (options_.drift_per_step * static_cast<double>(step)) * drift_direction_.transpose();
      batch.X.rowwise() += shift;
    }
  }
  batch.logits = Logits(batch.X);
  batch.scores = ApplyScoreFunction(options_.score_function, batch.logits);
  if (options_.gumbel_scale > 0.0) {
    batch.noise.resize(n, batch.scores.cols());
    for (Index r = 0; r < n; ++r)
      for (Index j = 0; j < batch.scores.cols(); ++j)
        batch.noise(r, j) = options_.gumbel_scale * GumbelDraw(rng);
    batch.scores += batch.noise;
  }
  return batch;
}

Matrix RescoreWithOffsets(const TokenBatch& batch, ScoreFunction f,
                          const Eigen::Ref<const Vector>& theta) {
  CheckSize("RescoreWithOffsets", "theta", theta.size(), batch.logits.cols());
  Matrix z = batch.logits;
  z.rowwise() += theta.transpose();
  Matrix s = ApplyScoreFunction(f, z);
  if (batch.noise.size() > 0) s += batch.noise;
  return s;
}

TokenBatch TokenStream::Next(Rng& rng) {
  const Index per_draw = options_.domain_per_microbatch ? options_.microbatch_size()
                                                        : options_.resolved_sequence_length();
  TokenBatch batch = Draw(options_.batch_size, step_, per_draw, rng);
  batch.microbatch_size = options_.microbatch_size();
  batch.sequence_length = options_.resolved_sequence_length();
  ++step_;
  return batch;
}

TokenBatch TokenStream::Sample(Index n, Index step, Rng& rng) const {
  if (n < 1) ThrowInvalid("TokenStream::Sample", "n must be >= 1, got " + std::to_string(n));
  TokenBatch batch = Draw(n, step, 1, rng);
  batch.microbatch_size = n;
  batch.sequence_length = n;
  return batch;
}

}  // namespace moelab
