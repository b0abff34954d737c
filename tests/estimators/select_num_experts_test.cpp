#include "moelab/estimators/select_num_experts.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "moelab/io/fit_report.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

Dataset SoftmaxData(Index n, std::uint64_t seed) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(seed);
  return Simulate(preset.truth, preset.design, n, rng);
}

// The truth has two well-separated experts: at n = 500 BIC picks k = 2, and
// every row equals the single FitMoe call with the same options.
TEST(SelectNumExpertsTest, BicFindsTheTrueNumberAndRowsEqualSingleFits) {
  const Dataset data = SoftmaxData(500, 4);
  ModelShape shape;
  FitOptions options;
  options.num_starts = 4;
  const ModelSelectionTable table = SelectNumExperts(data, shape, {1, 2, 3}, options);
  ASSERT_EQ(table.rows.size(), 3u);
  for (const ModelSelectionRow& row : table.rows) ASSERT_TRUE(row.usable()) << row.skip_reason;
  ASSERT_TRUE(table.Best(SelectionCriterion::kBic).has_value());
  EXPECT_EQ(table.rows[*table.Best(SelectionCriterion::kBic)].shape.num_experts, 2);
  ModelShape k2 = shape;
  k2.num_experts = 2;
  const MoeFit single = FitMoe(data, k2, options);
  EXPECT_EQ(table.rows[1].fit.log_likelihood(), single.log_likelihood());
  EXPECT_EQ(table.rows[1].fit.criteria.num_parameters, 8);
  EXPECT_EQ(table.rows[0].fit.criteria.num_parameters, 3);
  EXPECT_EQ(table.rows[2].fit.criteria.num_parameters, 13);
  // Nested models fitted by maximum likelihood: more experts never fit worse
  // by more than what a local optimum can lose (here they fit better).
  EXPECT_GT(table.rows[1].fit.log_likelihood(), table.rows[0].fit.log_likelihood());
}

// Issue 14 item 5: a k that n cannot support is skipped with the reason, the
// others are fitted and written.
TEST(SelectNumExpertsTest, SkipsWhatNCannotSupportAndKeepsTheRest) {
  const Dataset data = SoftmaxData(10, 2);
  ModelShape topk;
  topk.gate = GateKind::kTopK;
  topk.top_k = 2;
  topk.num_experts = 1;  // K = 2 > k = 1: invalid shape
  ModelShape softmax;
  std::vector<ModelShape> shapes;
  for (Index k : {1, 2, 3}) {
    softmax.num_experts = k;
    shapes.push_back(softmax);
  }
  shapes.push_back(topk);
  FitOptions options;
  options.num_starts = 2;
  const ModelSelectionTable table = SelectNumExperts(data, shapes, options);
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_TRUE(table.rows[0].usable());
  EXPECT_TRUE(table.rows[1].fitted);  // 10 >= 8
  EXPECT_FALSE(table.rows[2].fitted);
  EXPECT_NE(table.rows[2].skip_reason.find("n = 10 < 13 free parameters"), std::string::npos)
      << table.rows[2].skip_reason;
  EXPECT_FALSE(table.rows[3].fitted);
  EXPECT_NE(table.rows[3].skip_reason.find("top_k"), std::string::npos)
      << table.rows[3].skip_reason;
  const std::string csv = ModelSelectionCsv(table);
  std::istringstream lines(csv);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) ++count;
  EXPECT_EQ(count, 5);  // header + one row per shape, skipped ones included
  EXPECT_NE(csv.find("softmax,3,0,skipped,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("softmax,1,0,fitted,"), std::string::npos) << csv;
  ASSERT_TRUE(table.Best(SelectionCriterion::kAic).has_value());
  EXPECT_LT(*table.Best(SelectionCriterion::kAic), 2u);
  EXPECT_FALSE(table.Best(SelectionCriterion::kAic, GateKind::kTopK).has_value());
}

TEST(SelectNumExpertsTest, RejectsAnEmptyList) {
  const Dataset data = SoftmaxData(50, 2);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { SelectNumExperts(data, {}, FitOptions()); },
                                    {"empty"}));
}

}  // namespace
}  // namespace moelab
