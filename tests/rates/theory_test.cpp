#include "moelab/rates/theory.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace moelab {
namespace {

TheorySetting Setting(GateKind gate, Index k_true, Index k_fit, bool tau = false) {
  TheorySetting s;
  s.gate = gate;
  s.true_experts = k_true;
  s.fitted_experts = k_fit;
  s.temperature_fitted = tau;
  return s;
}

TEST(TheoryTest, TableOfStatSpec25) {
  const auto exact = Setting(GateKind::kSoftmax, 2, 2);
  EXPECT_EQ(TheoryFor("loss_d1", exact).slope, -0.5);
  EXPECT_EQ(TheoryFor("single_a", exact).slope, -0.5);
  EXPECT_EQ(TheoryFor("hellinger", exact).slope, -0.5);
  EXPECT_EQ(TheoryFor("loglik_excess", exact).slope, -1.0);
  EXPECT_EQ(TheoryFor("iterations", exact).kind, TheoryRate::Kind::kNone);
  const auto over3 = Setting(GateKind::kSoftmax, 2, 3);  // cells of 2: rbar 4
  EXPECT_EQ(over3.largest_cell(), 2);
  EXPECT_EQ(TheoryFor("loss_d2", over3).slope, -0.5);
  EXPECT_EQ(TheoryFor("multi_beta1", over3).slope, -1.0 / 8);
  EXPECT_EQ(TheoryFor("multi_b", over3).slope, -1.0 / 8);
  EXPECT_EQ(TheoryFor("multi_a", over3).slope, -1.0 / 4);
  EXPECT_EQ(TheoryFor("multi_var", over3).text, "n^-1/4");
  EXPECT_EQ(TheoryFor("loglik_excess", over3).kind, TheoryRate::Kind::kNone);
  const auto over4 = Setting(GateKind::kSoftmax, 2, 4);  // up to 3 atoms: rbar 6
  EXPECT_EQ(TheoryFor("multi_beta1", over4).slope, -1.0 / 12);
  EXPECT_EQ(TheoryFor("multi_var", over4).slope, -1.0 / 6);
  const auto topk = Setting(GateKind::kTopK, 3, 4);
  EXPECT_EQ(TheoryFor("multi_b", topk).slope, -1.0 / 8);
  EXPECT_NE(TheoryFor("multi_b", topk).source.find("TopK"), std::string::npos);
}

// One shared tau: the identifiable quotient is the softmax case. Quantities
// the model identifies get the softmax rates, raw gate coordinates none - and
// nothing is labelled "slower than any polynomial".
TEST(TheoryTest, SharedTauTemperatureGateHasTheSoftmaxRatesOnItsQuotient) {
  const auto t = Setting(GateKind::kTemperature, 2, 2, true);
  EXPECT_EQ(TheoryFor("single_beta1", t).kind, TheoryRate::Kind::kNone);
  EXPECT_EQ(TheoryFor("loss_d1", t).kind, TheoryRate::Kind::kNone);
  EXPECT_NE(TheoryFor("loss_d1", t).text.find("not identifiable"), std::string::npos);
  EXPECT_EQ(TheoryFor("single_a", t).slope, -0.5);
  EXPECT_EQ(TheoryFor("single_var", t).slope, -0.5);
  for (const char* c : {"single_beta1", "single_tau", "loss_d1", "single_a", "weight_err"})
    EXPECT_NE(TheoryFor(c, t).kind, TheoryRate::Kind::kSlowerThanPolynomial) << c;
  EXPECT_EQ(TheoryFor("hellinger", t).slope, -0.5);
  EXPECT_EQ(TheoryFor("loss_ratio", t).slope, -0.5);
  const auto a = Setting(GateKind::kActivation, 2, 2, true);
  EXPECT_EQ(TheoryFor("single_tau", a).slope, -0.5);
}

TEST(TheoryTest, Verdicts) {
  TheoryRate half;
  half.kind = TheoryRate::Kind::kPolynomial;
  half.slope = -0.5;
  EXPECT_EQ(Judge(half, true, -0.55, -0.6, -0.45), Verdict::kConsistent);
  // The published -0.638 with a tight interval: consistent up to log factors.
  EXPECT_EQ(Judge(half, true, -0.638, -0.66, -0.62), Verdict::kConsistentUpToLogs);
  EXPECT_EQ(Judge(half, true, -1.0, -1.1, -0.9), Verdict::kFasterThanTheory);
  EXPECT_EQ(Judge(half, true, -0.1, -0.15, -0.05), Verdict::kSlowerThanTheory);
  EXPECT_EQ(Judge(half, true, -0.5, NAN, NAN), Verdict::kConsistent);
  EXPECT_EQ(Judge(half, false, -0.5, -0.6, -0.4), Verdict::kNoFit);
  EXPECT_EQ(Judge(TheoryRate{}, true, -0.5, -0.6, -0.4), Verdict::kNoTheory);
}

}  // namespace
}  // namespace moelab
