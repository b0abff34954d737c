#include "moelab/routing/balancing_policy.hpp"

#include <gtest/gtest.h>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

TEST(BalancingPolicy, NamesMapToTheDocumentedArms) {
  PolicyConstants c;
  c.alf_rate = 0.002;
  c.inv_c0 = 0.5;
  c.isqrt_c0 = 0.25;
  c.sign_inv_c0 = 0.2;
  c.aux_coeff = 0.03;
  auto one = [&](const std::string& s) { return ResolvePolicy(ParseBalancingPolicy(s), c).terms.at(0).options; };
  EXPECT_EQ(one("none").kind, BalancerKind::kNone);
  const BalancerOptions alf = one("alf-const");
  EXPECT_EQ(alf.kind, BalancerKind::kDualSubgradient);
  EXPECT_EQ(alf.update, DualUpdate::kSign);
  EXPECT_EQ(alf.schedule, StepSchedule::kConstant);
  EXPECT_DOUBLE_EQ(alf.rate, 0.002);
  EXPECT_TRUE(one("alf-const-micro").per_microbatch);
  EXPECT_EQ(one("alf-lin-const").update, DualUpdate::kLinear);
  EXPECT_DOUBLE_EQ(one("alf-inv").rate, 0.5);
  EXPECT_EQ(one("alf-inv").schedule, StepSchedule::kInverse);
  EXPECT_DOUBLE_EQ(one("alf-isqrt").rate, 0.25);
  EXPECT_EQ(one("alf-sign-isqrt").update, DualUpdate::kSign);
  EXPECT_DOUBLE_EQ(one("alf-sign-inv").rate, 0.2);
  EXPECT_EQ(one("aux-seq").level, CountingLevel::kSequence);
  EXPECT_EQ(one("aux-micro").level, CountingLevel::kMicroBatch);
  EXPECT_DOUBLE_EQ(one("aux-global").aux_coeff, 0.03);
  EXPECT_DOUBLE_EQ(one("aux-global@1e-4").aux_coeff, 1e-4);  // @value wins
  EXPECT_DOUBLE_EQ(one("alf-inv@3").rate, 3.0);
}

TEST(BalancingPolicy, CombinedTerms) {
  const BalancingPolicy p = ResolvePolicy(ParseBalancingPolicy("aux-global@0.01+aux-micro@1e-4"), {});
  ASSERT_EQ(p.terms.size(), 2u);
  EXPECT_EQ(p.terms[1].options.level, CountingLevel::kMicroBatch);
  EXPECT_DOUBLE_EQ(p.terms[1].options.aux_coeff, 1e-4);
  EXPECT_EQ(p.name, "aux-global@0.01+aux-micro@1e-4");
}

TEST(BalancingPolicy, BadSpecsNameThePolicy) {
  using testing::ThrowsInvalidArgument;
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("alf-cnst"); }, {"alf-cnst", "valid:"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("alf-const@x"); }, {"alf-const@x", "'x'"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("alf-const@1e-3z"); }, {"1e-3z"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("alf-const@-1"); }, {">= 0"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("alf-const@"); }, {"not a finite"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("alf-const@nan"); }, {"not a finite"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("none@1"); }, {"no @value"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("aux-global+"); }, {"empty term"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("none+aux-seq"); }, {"combined"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseBalancingPolicy("alf-const+alf-inv"); }, {"at most one"}));
}

}  // namespace
}  // namespace moelab
