#include "moelab/routing/balancers.hpp"

#include <gtest/gtest.h>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

TEST(Balancer, AlfLbSignRuleMovesPricesAgainstTheLoad) {
  // Wang et al. Alg. 1 with b = -p: overloaded experts get p += u, under-
  // loaded p -= u, balanced unchanged.
  BalancerOptions o;
  o.kind = BalancerKind::kDualSubgradient;
  o.rate = 0.01;
  Balancer b(o, 3, 3);
  Vector c(3);
  c << 5, 3, 1;  // L = 3
  b.EndStep(c, nullptr);
  EXPECT_DOUBLE_EQ(b.bias()[0], 0.01);
  EXPECT_DOUBLE_EQ(b.bias()[1], 0.0);
  EXPECT_DOUBLE_EQ(b.bias()[2], -0.01);
}

TEST(Balancer, SchedulesAndLinearUpdate) {
  BalancerOptions o;
  o.kind = BalancerKind::kDualSubgradient;
  o.update = DualUpdate::kLinear;
  o.schedule = StepSchedule::kInverse;
  o.rate = 2.0;
  o.offset = 1.0;
  Balancer b(o, 2, 2);
  EXPECT_DOUBLE_EQ(b.StepSize(1), 1.0);
  EXPECT_DOUBLE_EQ(b.StepSize(3), 0.5);
  Vector c(2);
  c << 4, 2;  // L = 3, excess (1, -1), eta_1 = 1
  b.EndStep(c, nullptr);
  EXPECT_DOUBLE_EQ(b.bias()[0], 1.0);
  EXPECT_DOUBLE_EQ(b.bias()[1], -1.0);
  o.schedule = StepSchedule::kInverseSqrt;
  EXPECT_DOUBLE_EQ(Balancer(o, 2, 2).StepSize(3), 1.0);
}

TEST(Balancer, PerMicroBatchUpdatesAndNullExpertsKeepZeroPrice) {
  BalancerOptions o;
  o.kind = BalancerKind::kDualSubgradient;
  o.per_microbatch = true;
  o.rate = 1.0;
  Balancer b(o, 3, 2);  // expert 2 is a null expert
  Vector c(3);
  c << 2, 0, 7;
  b.ObserveMicroBatch(c);
  b.ObserveMicroBatch(c);
  b.EndStep(c, nullptr);  // ignored: updates are per micro-batch
  EXPECT_DOUBLE_EQ(b.bias()[0], 2.0);
  EXPECT_DOUBLE_EQ(b.bias()[1], -2.0);
  EXPECT_DOUBLE_EQ(b.bias()[2], 0.0);
  EXPECT_EQ(b.updates(), 2);
}

TEST(Balancer, NegativeOrNonFiniteStepsFail) {
  using testing::ThrowsInvalidArgument;
  BalancerOptions o;
  o.rate = -1e-3;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"rate", ">= 0"}));
  o = BalancerOptions{};
  o.aux_coeff = -1.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"aux_coeff"}));
  o = BalancerOptions{};
  o.offset = std::nan("");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { o.Validate(); }, {"offset"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseStepSchedule("cosine"); }, {"cosine", "isqrt"}));
}

}  // namespace
}  // namespace moelab
