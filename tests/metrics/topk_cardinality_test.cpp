#include "moelab/metrics/topk_cardinality.hpp"

#include <gtest/gtest.h>

#include "metrics/metrics_test_util.hpp"
#include "moelab/simulation/presets.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

Matrix Support(const CovariateDesign& design, Index m = 1000) {
  Rng rng(1);  // unused for d = 1
  return SelectionSupportPoints(design, m, rng);
}

// topk-over: top-2 of 3 with beta1* = (8, 4, 0) on U[-1, 1] selects {0, 1}
// on x > 0 and {1, 2} on x < 0, each of mass 1/2.
TEST(TopKCardinalityTest, RegionsOfTheTopKPreset) {
  const Preset preset = GetPreset("topk-over");
  const auto regions = SelectionRegions(preset.truth.gate, Support(preset.design));
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].selected, (std::vector<Index>{1, 2}));  // x < 0 comes first
  EXPECT_EQ(regions[1].selected, (std::vector<Index>{0, 1}));
  EXPECT_DOUBLE_EQ(regions[0].mass, 0.5);
  EXPECT_DOUBLE_EQ(regions[1].mass, 0.5);
}

TEST(TopKCardinalityTest, FeasibilityBeforeAFit) {
  const Preset preset = GetPreset("topk-over");
  const Matrix X = Support(preset.design);
  // k = 4, Kbar = 3 works only with two atoms in the always-selected cell.
  const FeasibilityReport over = CheckTopKFeasibility(preset.truth.gate, 4, 3, X);
  EXPECT_TRUE(over.feasible);
  EXPECT_EQ(over.satisfying_sizes, (std::vector<std::vector<Index>>{{1, 2, 1}}));
  // k = 3, Kbar = 2: the exact-specified case.
  EXPECT_TRUE(CheckTopKFeasibility(preset.truth.gate, 3, 2, X).feasible);
  // k = 4, Kbar = 2: every spread puts 3 atoms in some region.
  const FeasibilityReport bad = CheckTopKFeasibility(preset.truth.gate, 4, 2, X);
  EXPECT_FALSE(bad.feasible);
  EXPECT_EQ(bad.message.rfind("WARNING:", 0), 0u) << bad.message;
}

// docs/theory.md §4.3 example: k* = 2, K = 1, k = 3: the regions need |A_0| and
// |A_1|, one of which is 2 and the other 1, so no Kbar works.
TEST(TopKCardinalityTest, SpecExampleIsInfeasibleForEveryKbar) {
  MoeParams truth = testing::Moe1d({0, 0}, {1, 0}, {1, -1}, {0, 0}, {1, 1}, GateKind::kTopK);
  truth.gate.top_k = 1;
  const Matrix X = Support(CovariateDesign{});  // U[-1, 1]
  for (int kbar : {1, 2, 3}) {
    EXPECT_FALSE(CheckTopKFeasibility(truth.gate, 3, kbar, X).feasible) << "Kbar " << kbar;
  }
  // On [0, 1] only the region {0} has mass: (2, 1) with Kbar = 2 works.
  CovariateDesign positive;
  positive.lower = 0.0;
  const FeasibilityReport r = CheckTopKFeasibility(truth.gate, 3, 2, Support(positive));
  EXPECT_TRUE(r.feasible);
  EXPECT_EQ(r.satisfying_sizes, (std::vector<std::vector<Index>>{{2, 1}}));
}

TEST(TopKCardinalityTest, CheckOfGivenCellSizesReportsEachRegion) {
  const Preset preset = GetPreset("topk-over");
  const Matrix X = Support(preset.design);
  const CardinalityReport good = CheckTopKCardinality(preset.truth.gate, {1, 2, 1}, 3, X);
  EXPECT_TRUE(good.satisfied);
  EXPECT_EQ(good.message.find("WARNING"), std::string::npos);
  const CardinalityReport bad =
      CheckTopKCardinality(preset.truth.gate, CellSizesFromAssignment({0, 0, 1, 2}, 3), 3, X);
  EXPECT_FALSE(bad.satisfied);
  EXPECT_EQ(bad.message.rfind("WARNING:", 0), 0u);
  EXPECT_NE(bad.message.find("region {1, 2} (mass 0.5) needs 2"), std::string::npos)
      << bad.message;
  EXPECT_NE(bad.ToString().find("!= Kbar 3"), std::string::npos);
}

TEST(TopKCardinalityTest, DenseTruthHasOneRegionWithEveryExpert) {
  const Preset preset = GetPreset("softmax-exact");
  const auto regions = SelectionRegions(preset.truth.gate, Support(preset.design, 10));
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].selected, (std::vector<Index>{0, 1}));
  EXPECT_DOUBLE_EQ(regions[0].mass, 1.0);
}

TEST(TopKCardinalityTest, OneDimensionalSupportAvoidsTheTieAtZero) {
  for (DesignKind kind : {DesignKind::kUniform, DesignKind::kNormal}) {
    CovariateDesign design;
    design.kind = kind;
    for (Index m : {9, 10}) {
      const Matrix X = Support(design, m);
      ASSERT_EQ(X.rows(), 10);  // 9 is raised to 10
      for (Index i = 0; i < X.rows(); ++i) {
        EXPECT_NE(X(i, 0), 0.0);
        EXPECT_NEAR(X(i, 0), -X(X.rows() - 1 - i, 0), 1e-12);  // symmetric designs
        if (i > 0) {
          EXPECT_GT(X(i, 0), X(i - 1, 0));
        }
      }
    }
  }
}

TEST(TopKCardinalityTest, BadInputThrows) {
  const Preset preset = GetPreset("topk-over");
  const Matrix X = Support(preset.design, 10);
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { CheckTopKCardinality(preset.truth.gate, {1, 2}, 3, X); }, {"cell_sizes"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { CheckTopKCardinality(preset.truth.gate, {1, 2, 1}, 5, X); }, {"fitted_top_k = 5"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { CheckTopKFeasibility(preset.truth.gate, 2, 1, X); }, {"fitted_experts = 2"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { SelectionRegions(preset.truth.gate, Matrix::Zero(3, 2)); }, {"X columns"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { CellSizesFromAssignment({0, 3}, 3); }, {"entry 3"}));
  Rng rng(2);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { SelectionSupportPoints(preset.design, 0, rng); },
                                    {"num_points"}));
}

}  // namespace
}  // namespace moelab
