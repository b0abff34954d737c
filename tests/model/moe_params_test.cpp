#include "moelab/model/moe_params.hpp"

#include <gtest/gtest.h>

#include "moelab/model/gaussian_moe.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::Describe;
using testing::EveryGate;
using testing::RandomCovariates;
using testing::RandomDataset;
using testing::RandomMoe;
using testing::ThrowsInvalidArgument;

// Log densities are O(10); two algebraically equal evaluations differ by a
// few roundings of the logits: 1e-12 absolute.
constexpr double kDensityTolerance = 1e-12;

TEST(MoeParamsTest, ValidateChecksAgreementOfGateAndExperts) {
  Rng rng(801);
  MoeParams params = RandomMoe(testing::RandomGate(GateKind::kSoftmax, 3, 2, rng), rng);
  EXPECT_NO_THROW(params.Validate());
  MoeParams k = params;
  k.experts = testing::RandomExperts(2, 2, rng);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { k.Validate(); },
                                    {"MoeParams::Validate", "(k)", "2", "3"}));
  MoeParams d = params;
  d.experts = testing::RandomExperts(3, 1, rng);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { d.Validate(); }, {"(d)"}));
  MoeParams gate = params;
  gate.gate.kind = GateKind::kTopK;
  gate.gate.top_k = 4;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { gate.Validate(); }, {"gate.top_k"}));
  MoeParams variance = params;
  variance.experts.variance[0] = -1.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { variance.Validate(); }, {"experts.variance[0]"}));
}

TEST(PermuteExpertsTest, MovesGateAndExpertsTogetherAndKeepsTheDensity) {
  Rng rng(802);
  const std::vector<Index> perm = {2, 0, 3, 1};
  for (const GateParams& gate : EveryGate(4, 2, rng)) {
    const MoeParams params = RandomMoe(gate, rng);
    const MoeParams permuted = PermuteExperts(params, perm);
    for (Index j = 0; j < 4; ++j) {
      EXPECT_EQ(permuted.gate.bias[j], params.gate.bias[perm[j]]);
      EXPECT_EQ(permuted.gate.slope.row(j), params.gate.slope.row(perm[j]));
      EXPECT_EQ(permuted.experts.slope.row(j), params.experts.slope.row(perm[j]));
      EXPECT_EQ(permuted.experts.intercept[j], params.experts.intercept[perm[j]]);
      EXPECT_EQ(permuted.experts.variance[j], params.experts.variance[perm[j]]);
    }
    const Dataset data = RandomDataset(40, 2, rng);
    const Matrix& X = data.X;
    const Vector& y = data.y;
    // Random X has no top-K ranking ties, so the selection moves with the labels.
    const Vector before = GaussianMoe(params).LogDensities(X, y);
    const Vector after = GaussianMoe(permuted).LogDensities(X, y);
    EXPECT_LT((before - after).cwiseAbs().maxCoeff(), kDensityTolerance) << Describe(gate);
  }
}

TEST(PermuteExpertsTest, RejectsNonPermutations) {
  Rng rng(803);
  const MoeParams params = RandomMoe(testing::RandomGate(GateKind::kSoftmax, 3, 1, rng), rng);
  for (const std::vector<Index>& bad :
       {std::vector<Index>{0, 1}, std::vector<Index>{0, 1, 1}, std::vector<Index>{0, 1, 3},
        std::vector<Index>{0, 1, 2, 3}}) {
    EXPECT_TRUE(ThrowsInvalidArgument([&] { PermuteExperts(params, bad); },
                                      {"PermuteExperts", "permutation"}));
  }
}

TEST(NormaliseGaugeTest, FixesTheReferenceExpertAndKeepsTheDensity) {
  Rng rng(804);
  for (const GateParams& gate : EveryGate(3, 2, rng)) {
    const MoeParams params = RandomMoe(gate, rng);
    const MoeParams normalised = NormaliseGauge(params);
    EXPECT_EQ(normalised.gate.bias[2], 0.0) << Describe(gate);
    if (HasSlopeTranslationSymmetry(gate)) {
      EXPECT_TRUE(normalised.gate.slope.row(2).isZero(0.0)) << Describe(gate);
    } else {
      EXPECT_EQ(normalised.gate.slope, params.gate.slope) << Describe(gate);
    }
    EXPECT_EQ(normalised.experts.slope, params.experts.slope);
    EXPECT_EQ(normalised.experts.variance, params.experts.variance);
    const Dataset data = RandomDataset(40, 2, rng);
    const Matrix& X = data.X;
    const Vector& y = data.y;
    const Vector before = GaussianMoe(params).LogDensities(X, y);
    const Vector after = GaussianMoe(normalised).LogDensities(X, y);
    EXPECT_LT((before - after).cwiseAbs().maxCoeff(), kDensityTolerance) << Describe(gate);
    // Normalising twice changes nothing more.
    const MoeParams twice = NormaliseGauge(normalised);
    EXPECT_EQ(twice.gate.bias, normalised.gate.bias);
    EXPECT_EQ(twice.gate.slope, normalised.gate.slope);
  }
}

TEST(NormaliseGaugeTest, SlopeTranslationIsASymmetryExactlyWhereItIsClaimed) {
  // The premise of NormaliseGauge: translating every gate slope by t1 keeps
  // the density for all gates but the non-linear activation gates, for which
  // it must change (so the gauge may not remove it).
  Rng rng(805);
  for (const GateParams& gate : EveryGate(3, 1, rng)) {
    const MoeParams params = RandomMoe(gate, rng);
    MoeParams shifted = params;
    shifted.gate.slope.array() += 1.5;
    const Dataset data = RandomDataset(40, 1, rng);
    const Matrix& X = data.X;
    const Vector& y = data.y;
    const double change = (GaussianMoe(params).LogDensities(X, y) -
                           GaussianMoe(shifted).LogDensities(X, y)).cwiseAbs().maxCoeff();
    if (HasSlopeTranslationSymmetry(gate)) {
      EXPECT_LT(change, kDensityTolerance) << Describe(gate);
    } else {
      // A shift of 1.5 in tanh/sigmoid arguments moves the weights by O(0.1).
      EXPECT_GT(change, 1e-3) << Describe(gate);
    }
  }
}

}  // namespace
}  // namespace moelab
