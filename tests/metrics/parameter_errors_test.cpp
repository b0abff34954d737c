#include "moelab/metrics/parameter_errors.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "metrics/metrics_test_util.hpp"
#include "moelab/metrics/voronoi_loss.hpp"

namespace moelab {
namespace {

using testing::Moe1d;

// Truth: two atoms; fit: a singleton cell for true atom 1 (the reference) and
// a cell of two for true atom 0.
TEST(ParameterErrorsTest, PerAtomPerCellAndSummaryValues) {
  const MoeParams truth = Moe1d({0.5, 0}, {2, 0}, {1, -1}, {3, -3}, {1, 1});
  const MoeParams fit =
      Moe1d({0.0, -0.2, 0}, {2.1, 1.7, 0}, {1.2, 0.9, -1.05}, {3.1, 2.6, -3.2}, {1.1, 0.8, 0.95});
  const VoronoiLossResult r = ComputeVoronoiLoss(truth, fit);
  const ParameterErrors& e = r.errors;
  ASSERT_EQ(e.atoms.size(), 3u);
  ASSERT_EQ(e.cells.size(), 2u);
  EXPECT_EQ(e.atoms[1].cell, 0);
  EXPECT_EQ(e.atoms[1].cell_size, 2);
  EXPECT_NEAR(e.atoms[1].gate_slope, 0.3, 1e-12);
  EXPECT_NEAR(e.atoms[1].expert_slope, 0.1, 1e-12);
  EXPECT_NEAR(e.atoms[1].intercept, 0.4, 1e-12);
  EXPECT_NEAR(e.atoms[1].variance, 0.2, 1e-12);
  EXPECT_NEAR(e.atoms[1].weight, std::exp(-0.2), 1e-15);
  EXPECT_NEAR(e.cells[0].fitted_weight, 1.0 + std::exp(-0.2), 1e-12);
  EXPECT_NEAR(e.cells[0].weight_error, std::abs(1.0 + std::exp(-0.2) - std::exp(0.5)), 1e-12);
  EXPECT_NEAR(e.cells[1].weight_error, 0.0, 1e-15);
  const ParameterErrorSummary& s = e.summary;
  EXPECT_EQ(s.num_single_atoms, 1);
  EXPECT_EQ(s.num_multi_atoms, 2);
  EXPECT_NEAR(s.multi_gate_slope_max, 0.3, 1e-12);     // max(0.1, 0.3)
  EXPECT_NEAR(s.multi_expert_slope_max, 0.2, 1e-12);   // max(0.2, 0.1)
  EXPECT_NEAR(s.multi_intercept_max, 0.4, 1e-12);      // max(0.1, 0.4)
  EXPECT_NEAR(s.multi_variance_max, 0.2, 1e-12);       // max(0.1, 0.2)
  EXPECT_NEAR(s.single_expert_slope_max, 0.05, 1e-12);
  EXPECT_NEAR(s.single_intercept_max, 0.2, 1e-12);
  EXPECT_NEAR(s.single_variance_max, 0.05, 1e-12);
  EXPECT_NEAR(s.weight_error_sum, r.weight_term, 1e-15);
}

TEST(ParameterErrorsTest, ColumnsHaveStableNamesAndOrder) {
  ParameterErrorSummary s;
  s.multi_intercept_max = 0.25;
  s.num_empty_cells = 1;
  const auto columns = s.Columns();
  ASSERT_EQ(columns.size(), 15u);
  EXPECT_EQ(columns.front().first, "weight_err_max");
  EXPECT_EQ(columns[9].first, "multi_b_max");
  EXPECT_EQ(columns[9].second, 0.25);
  EXPECT_EQ(columns.back().first, "n_empty_cells");
  EXPECT_EQ(columns.back().second, 1.0);
}

}  // namespace
}  // namespace moelab
