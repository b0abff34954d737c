#include "moelab/estimators/model_selection.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

TEST(ModelSelectionTest, CriteriaFollowTheirDefinitions) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(11);
  const Dataset data = Simulate(preset.truth, preset.design, 500, rng);
  const InformationCriteria ic = ComputeInformationCriteria(data, preset.truth, 8);
  const double l = GaussianMoe(preset.truth).LogLikelihood(data);
  // Entropy recomputed independently from the responsibilities.
  const Matrix r = GaussianMoe(preset.truth).Responsibilities(data);
  double entropy = 0.0;
  for (Index n = 0; n < r.rows(); ++n)
    for (Index i = 0; i < r.cols(); ++i)
      if (r(n, i) > 0) entropy -= r(n, i) * std::log(r(n, i));
  EXPECT_DOUBLE_EQ(ic.log_likelihood, l);
  EXPECT_NEAR(ic.entropy, entropy, 1e-9 * std::max(1.0, entropy));
  EXPECT_DOUBLE_EQ(ic.aic, -2 * l + 16);
  EXPECT_DOUBLE_EQ(ic.bic, -2 * l + 8 * std::log(500.0));
  EXPECT_NEAR(ic.icl, ic.bic + 2 * entropy, 1e-9 * std::abs(ic.icl));
  EXPECT_GE(ic.entropy, 0.0);
}

TEST(ModelSelectionTest, OneExpertHasZeroEntropy) {
  MoeParams one;
  one.gate.bias = Vector::Zero(1);
  one.gate.slope = Matrix::Zero(1, 1);
  one.experts.intercept = Vector::Constant(1, 0.5);
  one.experts.slope = Matrix::Constant(1, 1, 2.0);
  one.experts.variance = Vector::Constant(1, 1.0);
  Dataset data;
  data.X = Matrix::Random(50, 1);
  data.y = Vector::Random(50);
  const InformationCriteria ic = ComputeInformationCriteria(data, one, 3);
  EXPECT_EQ(ic.entropy, 0.0);
  EXPECT_DOUBLE_EQ(ic.icl, ic.bic);
}

TEST(ModelSelectionTest, RejectsNonPositiveParameterCount) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(1);
  const Dataset data = Simulate(preset.truth, preset.design, 50, rng);
  EXPECT_THROW(ComputeInformationCriteria(data, preset.truth, 0), std::invalid_argument);
}

}  // namespace
}  // namespace moelab

namespace moelab {
namespace {

// Hard ICL (flexmix / mclust): BIC - 2 sum_n log r_{n, MAP(n)}, recomputed
// from the responsibilities; it never exceeds the soft (entropy) ICL.
TEST(ModelSelectionTest, HardIclUsesTheMapClassification) {
  const Preset preset = GetPreset("softmax-exact");
  Rng rng(12);
  const Dataset data = Simulate(preset.truth, preset.design, 400, rng);
  const InformationCriteria soft =
      ComputeInformationCriteria(data, preset.truth, 8, IclKind::kSoftEntropy);
  const InformationCriteria hard =
      ComputeInformationCriteria(data, preset.truth, 8, IclKind::kHardClassification);
  const Matrix r = GaussianMoe(preset.truth).Responsibilities(data);
  double penalty = 0.0;
  for (Index n = 0; n < r.rows(); ++n) penalty -= std::log(std::max(r(n, 0), r(n, 1)));
  EXPECT_DOUBLE_EQ(hard.bic, soft.bic);
  EXPECT_NEAR(hard.icl, soft.bic + 2 * penalty, 1e-9 * std::abs(hard.icl));
  EXPECT_LT(hard.icl, soft.icl);  // the truth's experts overlap near x = 0.32
  EXPECT_GT(hard.icl, hard.bic);
  EXPECT_EQ(ParseIclKind("hard"), IclKind::kHardClassification);
  EXPECT_THROW(ParseIclKind("medium"), std::invalid_argument);
}

}  // namespace
}  // namespace moelab
