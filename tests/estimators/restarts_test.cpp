// BestOfStarts: draw order, choice of the best usable fit, ties, all-unusable.
#include "moelab/estimators/restarts.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "moelab/estimators/em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

// A start that carries its index in the first expert intercept.
MoeParams Tagged(double tag) {
  MoeParams p = GetPreset("softmax-exact").truth;
  p.experts.intercept[0] = tag;
  return p;
}

// Fake fits: log-likelihood and termination looked up by the start's tag.
struct FakeFits {
  std::vector<double> log_likelihood;
  std::vector<TerminationType> termination;
  FitResult operator()(const MoeParams& start) const {
    const auto s = static_cast<std::size_t>(start.experts.intercept[0]);
    FitResult r;
    r.estimator = "fake";
    r.params = start;
    r.log_likelihood = log_likelihood[s];
    r.termination = termination[s];
    r.message = "fake " + std::to_string(s);
    return r;
  }
};

std::function<MoeParams(Rng&)> Counter() {
  auto next = std::make_shared<int>(0);
  return [next](Rng&) { return Tagged((*next)++); };
}

TEST(BestOfStartsTest, KeepsTheHighestUsableLikelihoodWithEarliestTies) {
  using T = TerminationType;
  const FakeFits fits{{-10.0, -3.0, 5.0, -3.0, 5.0},
                      {T::kConverged, T::kMaxIterations, T::kNumericalFailure, T::kConverged,
                       T::kConverged}};
  Rng rng(1);
  const FitResult best = BestOfStarts(5, Counter(), fits, rng);
  // Start 2 has 5.0 but failed numerically; starts 4 (5.0, usable) wins.
  EXPECT_EQ(best.best_restart, 4);
  EXPECT_EQ(best.log_likelihood, 5.0);
  EXPECT_EQ(best.restarts, 5);
  const FakeFits tied{{-1.0, 2.0, 2.0}, {T::kConverged, T::kConverged, T::kConverged}};
  EXPECT_EQ(BestOfStarts(3, Counter(), tied, rng).best_restart, 1);
}

TEST(BestOfStartsTest, AllUnusableReturnsTheBestUnusableWithItsTermination) {
  using T = TerminationType;
  const FakeFits fits{{std::nan(""), -7.0, -9.0},
                      {T::kNumericalFailure, T::kNumericalFailure, T::kNumericalFailure}};
  Rng rng(1);
  const FitResult best = BestOfStarts(3, Counter(), fits, rng);
  EXPECT_EQ(best.best_restart, 1);
  EXPECT_EQ(best.termination, T::kNumericalFailure);
  EXPECT_NE(best.message.find("no usable start"), std::string::npos);
}

TEST(BestOfStartsTest, StartsComeFromTheRngInOrderBeforeAnyFit) {
  // make_start sees the rng in sequence; fits never touch it, so the starts
  // equal those drawn by hand from the same seed.
  std::vector<double> drawn;
  auto make_start = [&](Rng& rng) {
    drawn.push_back(UniformReal(rng, 0.0, 1.0));
    return Tagged(0);
  };
  int fits_before_all_starts = 0;
  auto fit = [&](const MoeParams& start) {
    if (drawn.size() < 4) ++fits_before_all_starts;
    FitResult r;
    r.params = start;
    r.termination = TerminationType::kConverged;
    return r;
  };
  Rng rng(99), reference(99);
  BestOfStarts(4, make_start, fit, rng);
  ASSERT_EQ(drawn.size(), 4u);
  for (double d : drawn) EXPECT_EQ(d, UniformReal(reference, 0.0, 1.0));
  EXPECT_EQ(fits_before_all_starts, 0);
}

TEST(BestOfStartsTest, BadArgumentsThrow) {
  Rng rng(1);
  const FakeFits fits{{0.0}, {TerminationType::kConverged}};
  EXPECT_THROW(BestOfStarts(0, Counter(), fits, rng), std::invalid_argument);
  EXPECT_THROW(BestOfStarts(1, nullptr, fits, rng), std::invalid_argument);
  EXPECT_THROW(BestOfStarts(1, Counter(), nullptr, rng), std::invalid_argument);
}

TEST(BestOfStartsTest, RandomRestartsOfEmFindTheOverFittedMaximum) {
  // End to end: 5 random starts of EM on the over-fitted [Demyst] model
  // (the published protocol's n_tries = 5) never do worse than the first
  // start alone, and the kept fit is the best of the five by construction.
  const Preset preset = GetPreset("softmax-over");
  Rng data_rng(50);
  const Dataset data = Simulate(preset.truth, preset.design, 1500, data_rng);
  ModelShape shape = ShapeOf(preset.truth);
  shape.num_experts = 3;
  EmOptions options;
  options.max_iterations = 300;
  std::vector<double> all;
  auto fit = [&](const MoeParams& start) {
    FitResult r = FitEm(data, start, options);
    all.push_back(r.log_likelihood);
    return r;
  };
  Rng rng(51);
  const FitResult best = BestOfStarts(
      5, [&](Rng& r) { return InitRandom(data, shape, r); }, fit, rng);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(best.log_likelihood, *std::max_element(all.begin(), all.end()));
  EXPECT_EQ(best.log_likelihood, all[best.best_restart]);
  EXPECT_GT(best.seconds, 0.0);
}

}  // namespace
}  // namespace moelab
