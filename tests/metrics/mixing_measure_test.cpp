#include "moelab/metrics/mixing_measure.hpp"

#include <gtest/gtest.h>

#include "metrics/metrics_test_util.hpp"
#include "moelab/simulation/presets.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

TEST(MixingMeasureTest, SoftmaxAtomsAreGateSlopeExpertSlopeInterceptVariance) {
  const MoeParams p = GetPreset("softmax-exact").truth;
  const MixingMeasure m = ToMixingMeasure(p);
  EXPECT_EQ(m.log_weight, p.gate.bias);
  EXPECT_FALSE(m.temperature.has_value());
  EXPECT_TRUE(m.slope_translation);
  const Matrix atoms = m.AtomCoordinates();
  ASSERT_EQ(atoms.cols(), 4);
  EXPECT_EQ(atoms.row(0), (Eigen::RowVector4d(25, -20, 15, 0.09)));
}

TEST(MixingMeasureTest, TemperatureGateRatioAndRaw) {
  const MoeParams p = GetPreset("temperature").truth;  // beta1 2.5, beta0 -0.8, tau 0.1
  const MixingMeasure ratio = ToMixingMeasure(p);
  EXPECT_NEAR(ratio.log_weight[0], -8.0, 1e-12);
  EXPECT_NEAR(ratio.gate_slope(0, 0), 25.0, 1e-12);
  EXPECT_FALSE(ratio.temperature.has_value());
  const MixingMeasure raw = ToMixingMeasure(p, TemperatureHandling::kRaw);
  EXPECT_NEAR(raw.log_weight[0], -8.0, 1e-12);
  EXPECT_EQ(raw.gate_slope(0, 0), 2.5);
  ASSERT_TRUE(raw.temperature.has_value());
  EXPECT_EQ(*raw.temperature, 0.1);
  EXPECT_EQ(raw.atom_size(), 5);
}

TEST(MixingMeasureTest, ActivationGateKeepsTauAndHasNoSlopeTranslation) {
  const MoeParams p = GetPreset("activation").truth;
  const MixingMeasure m = ToMixingMeasure(p);
  ASSERT_TRUE(m.temperature.has_value());
  EXPECT_EQ(*m.temperature, 0.5);
  EXPECT_FALSE(m.slope_translation);
  MoeParams identity = p;
  identity.gate.activation = Activation::kIdentity;  // scale symmetry in (beta1, tau)
  const MixingMeasure mi = ToMixingMeasure(identity);
  EXPECT_FALSE(mi.temperature.has_value());
  EXPECT_TRUE(mi.slope_translation);
  EXPECT_NEAR(mi.gate_slope(0, 0), 3.0 / 0.5, 1e-12);
}

TEST(MixingMeasureTest, ReferenceNormalisationMatchesNormaliseGauge) {
  Rng rng(7);
  for (const GateParams& gate : testing::EveryGate(3, 2, rng)) {
    const MoeParams p = testing::RandomMoe(gate, rng);
    const MixingMeasure a = NormaliseToReference(ToMixingMeasure(p), 2);
    const MixingMeasure b = ToMixingMeasure(NormaliseGauge(p));
    // Same subtractions in another order (temperature: divide then subtract).
    EXPECT_LT((a.log_weight - b.log_weight).norm(), 1e-12) << testing::Describe(gate);
    EXPECT_LT((a.gate_slope - b.gate_slope).norm(), 1e-12) << testing::Describe(gate);
  }
  EXPECT_TRUE(testing::ThrowsInvalidArgument(
      [] { NormaliseToReference(ToMixingMeasure(GetPreset("softmax-exact").truth), 2); },
      {"reference atom 2"}));
}

}  // namespace
}  // namespace moelab
