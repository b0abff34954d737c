#include "moelab/rates/study_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace moelab {
namespace {

// Issue 14: floor hits are reported in every output, the summary included.
TEST(DescribeCellsTest, ReportsVarianceFloorHits) {
  CellRecord a, b;
  a.key = {100, 0, 1};
  a.status = "converged";
  a.values = {0.5, 3.0};
  b.key = {100, 1, 2};
  b.status = "converged";
  b.values = {0.25, 0.0};
  const StudyFacts facts = DescribeCells("s", {"loss", "variance_floor_hits"}, {a, b}, {});
  const bool found = std::any_of(facts.lines.begin(), facts.lines.end(), [](const std::string& line) {
    return line.find("variance-floor hits") != std::string::npos &&
           line.find("1 of 2 cells (3 hits)") != std::string::npos;
  });
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace moelab
