#include "moelab/routing/token_stream.hpp"

#include <gtest/gtest.h>

#include <set>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

TEST(TokenStream, SameSeedsSameBatches) {
  TokenStreamOptions o;
  o.gumbel_scale = 0.5;
  o.num_domains = 3;
  o.num_microbatches = 4;
  Rng s1(1), s2(1), r1(2), r2(2);
  TokenStream a(o, s1), b(o, s2);
  for (int t = 0; t < 3; ++t) {
    const TokenBatch x = a.Next(r1), y = b.Next(r2);
    EXPECT_EQ(x.scores, y.scores);
    EXPECT_EQ(x.domain, y.domain);
    EXPECT_EQ(x.step, t);
  }
}

TEST(TokenStream, ScoresAreScoreFunctionOfGateLogitsPlusNoise) {
  TokenStreamOptions o;
  o.score_function = ScoreFunction::kSigmoid;
  o.gumbel_scale = 0.3;
  Rng setup(3), rng(4);
  TokenStream stream(o, setup);
  const TokenBatch b = stream.Next(rng);
  const Matrix expect_logits = (b.X * stream.gate().slope.transpose()).rowwise() +
                               stream.gate().bias.transpose();
  EXPECT_LT((b.logits - expect_logits).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((b.scores - ApplyScoreFunction(o.score_function, b.logits) - b.noise).cwiseAbs().maxCoeff(), 1e-15);
  // Default gate: offsets linearly spaced on [-1, 1].
  EXPECT_DOUBLE_EQ(stream.gate().bias[0], -1.0);
  EXPECT_DOUBLE_EQ(stream.gate().bias[7], 1.0);
}

TEST(TokenStream, PoolStreamsDrawOnlyPoolCovariates) {
  TokenStreamOptions o;
  o.pool_size = 5;
  Rng setup(5), rng(6);
  TokenStream stream(o, setup);
  const TokenBatch b = stream.Next(rng);
  for (Index t = 0; t < b.X.rows(); ++t) {
    bool found = false;
    for (Index m = 0; m < 5; ++m) found = found || b.X.row(t) == stream.pool().row(m);
    EXPECT_TRUE(found);
  }
}

TEST(TokenStream, DomainPerMicroBatch) {
  // Demons' packing: one domain per micro-batch of 32 tokens.
  TokenStreamOptions o;
  o.num_domains = 4;
  o.num_microbatches = 4;
  o.domain_per_microbatch = true;
  Rng setup(7), rng(8);
  TokenStream stream(o, setup);
  const TokenBatch b = stream.Next(rng);
  for (Index m = 0; m < 4; ++m) {
    const auto seg = b.domain.segment(32 * m, 32);
    EXPECT_EQ(seg.minCoeff(), seg.maxCoeff());
  }
}

TEST(TokenStream, ValidateNamesTheField) {
  using testing::ThrowsInvalidArgument;
  TokenStreamOptions o;
  o.num_microbatches = 3;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"num_microbatches (3)"}));
  o = TokenStreamOptions{};
  o.gumbel_scale = -1.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"gumbel_scale"}));
  o = TokenStreamOptions{};
  o.pool_size = 10;
  o.drift_per_step = 0.1;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"pool_size"}));
}

}  // namespace
}  // namespace moelab
