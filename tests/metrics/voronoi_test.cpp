#include "moelab/metrics/voronoi.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

Matrix Rows(std::initializer_list<std::initializer_list<double>> rows) {
  Matrix m(static_cast<Index>(rows.size()), static_cast<Index>(rows.begin()->size()));
  Index r = 0;
  for (const auto& row : rows) {
    Index c = 0;
    for (double x : row) m(r, c++) = x;
    ++r;
  }
  return m;
}

TEST(VoronoiTest, EachFittedAtomJoinsItsNearestTrueAtomAndCellsMayBeEmpty) {
  const Matrix truth = Rows({{0, 0}, {10, 0}, {0, 10}});
  const Matrix fitted = Rows({{1, 0}, {9, 1}, {0.5, -0.5}, {11, 0}});
  const VoronoiCells cells = AssignVoronoiCells(fitted, truth);
  EXPECT_EQ(cells.assignment, (IntVector(4) << 0, 1, 0, 1).finished());
  EXPECT_EQ(cells.members[0], (std::vector<Index>{0, 2}));
  EXPECT_EQ(cells.members[1], (std::vector<Index>{1, 3}));
  EXPECT_TRUE(cells.members[2].empty());
  EXPECT_EQ(cells.sizes(), (std::vector<Index>{2, 2, 0}));
  EXPECT_EQ(cells.num_empty(), 1);
  EXPECT_EQ(cells.largest(), 2);
  EXPECT_DOUBLE_EQ(cells.distance(1, 1), 1.0 + 1.0);  // L1
}

TEST(VoronoiTest, ExactTiesGoToTheLowerTrueIndexAndCountOnce) {
  const Matrix truth = Rows({{-1}, {1}});
  const Matrix fitted = Rows({{0}, {0}});
  const VoronoiCells cells = AssignVoronoiCells(fitted, truth);
  EXPECT_EQ(cells.sizes(), (std::vector<Index>{2, 0}));
  // Deterministic: the same answer with the true atoms listed the other way.
  const VoronoiCells swapped = AssignVoronoiCells(fitted, Rows({{1}, {-1}}));
  EXPECT_EQ(swapped.sizes(), (std::vector<Index>{2, 0}));
}

TEST(VoronoiTest, NormChoiceCanChangeTheCell) {
  // (0, 0) to (1.5, 0): L1 1.5, Euclidean 1.5; to (1, 1): L1 2, Euclidean 1.414.
  const Matrix truth = Rows({{1.5, 0}, {1, 1}});
  const Matrix fitted = Rows({{0, 0}});
  EXPECT_EQ(AssignVoronoiCells(fitted, truth, VoronoiNorm::kL1).assignment[0], 0);
  EXPECT_EQ(AssignVoronoiCells(fitted, truth, VoronoiNorm::kEuclidean).assignment[0], 1);
}

TEST(VoronoiTest, CellsPrintAsAValue) {
  const VoronoiCells cells = AssignVoronoiCells(Rows({{0}, {5}, {4}}), Rows({{0}, {5}, {100}}));
  EXPECT_EQ(cells.ToString(), "cells: A0 = {0} (1), A1 = {1, 2} (2), A2 = {} (0)");
  std::ostringstream os;
  os << cells;
  EXPECT_EQ(os.str(), cells.ToString());
}

TEST(VoronoiTest, BadInputThrows) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { AssignVoronoiCells(Rows({{0, 1}}), Rows({{0}})); },
                                    {"AssignVoronoiCells", "atom length"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { AssignVoronoiCells(Rows({{std::nan("")}}), Rows({{0}})); }, {"fitted_atoms"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { AssignVoronoiCells(Matrix(0, 1), Rows({{0}})); },
                                    {"no fitted atoms"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseVoronoiNorm("l2"); }, {"l1, euclidean"}));
  EXPECT_EQ(ParseVoronoiNorm(ToString(VoronoiNorm::kEuclidean)), VoronoiNorm::kEuclidean);
}

}  // namespace
}  // namespace moelab
