// Tests of the input checks shared by the Fit* entry points
// (estimators/detail/fit_input.hpp): each estimator refuses the same bad
// inputs with the same words, naming itself.
#include "moelab/estimators/detail/fit_input.hpp"

#include <gtest/gtest.h>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/lse_ceres.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

TEST(FitInputTest, EveryEstimatorRefusesTooFewObservationsInTheSameWords) {
  // softmax-exact: k = 2, d = 1. Free parameters 2 (gate) + 2 x 3 (experts)
  // = 8; the least-squares fit has no variances: 2 + 2 x 2 = 6 mean parameters.
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(4);
  const Dataset data = Simulate(preset.truth, preset.design, 5, rng);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { FitEm(data, preset.truth, EmOptions{}); },
                                    {"FitEm", "n = 5", "number of free parameters (8)"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { FitMleNlopt(data, preset.truth, MleNloptOptions{}); },
      {"FitMleNlopt", "n = 5", "number of free parameters (8)"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { FitLseCeres(data, preset.truth, LseCeresOptions{}); },
      {"FitLseCeres", "n = 5", "number of free mean parameters (6)"}));
}

TEST(FitInputTest, DimensionMismatchNamesTheCaller) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(5);
  Dataset data = Simulate(preset.truth, preset.design, 50, rng);
  data.X = Matrix::Zero(50, 2);
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { detail::CheckFitInput("FitSomething", data, preset.truth); },
      {"FitSomething", "init dimension d"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { FitEm(data, preset.truth, EmOptions{}); },
                                    {"FitEm", "init dimension d"}));
}

TEST(FitInputTest, EnoughObservationsPassAtTheBoundary) {
  EXPECT_NO_THROW(detail::CheckEnoughObservations("F", 8, 8));
  EXPECT_TRUE(ThrowsInvalidArgument([] { detail::CheckEnoughObservations("F", 7, 8, "things"); },
                                    {"F", "n = 7", "number of things (8)"}));
}

}  // namespace
}  // namespace moelab
