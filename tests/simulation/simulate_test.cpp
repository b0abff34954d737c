#include "moelab/simulation/simulate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "moelab/model/gates/gate.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"
#include "support/statistics.hpp"

namespace moelab {
namespace {

using testing::ChiSquareUpperQuantile;
using testing::PearsonChiSquare;
using testing::ThrowsInvalidArgument;

// Significance level of every goodness-of-fit test below. The seeds are
// fixed, so each test is deterministic; 1e-6 is the probability that a
// correct simulator would have produced a failing data set for that seed.
// A wrong simulator (labels from the wrong row, std used as variance, a
// skipped draw) moves the statistic by hundreds of standard deviations at
// these sample sizes.
constexpr double kAlpha = 1e-6;

struct Truth {
  std::string name;
  MoeParams params;
  CovariateDesign design;
};

// One truth per gate kind with gate probabilities bounded away from 0 and 1
// on the design (expected cell counts >= 5 for the chi-square
// approximation), plus the sparse top-K preset whose zero cells are checked
// exactly.
std::vector<Truth> GofTruths() {
  std::vector<Truth> truths;
  for (const char* name : {"topk-exact", "topk-over", "activation"}) {
    const Preset p = GetPreset(name);
    truths.push_back({name, p.truth, p.design});
  }
  // Dense gates on the topk-exact experts (k = 3, x ~ U[-1, 1]) with
  // moderate logits beta1 = (2, 1, 0), beta0 = (-0.5, 0.5, 0): every gate
  // probability exceeds e^-4 on the design.
  const Preset base = GetPreset("topk-exact");
  Truth softmax{"softmax k=3", base.truth, base.design};
  softmax.params.gate.kind = GateKind::kSoftmax;
  softmax.params.gate.slope << 2.0, 1.0, 0.0;
  softmax.params.gate.bias << -0.5, 0.5, 0.0;
  truths.push_back(softmax);
  Truth temperature = softmax;
  temperature.name = "temperature k=3 tau=2";
  temperature.params.gate.kind = GateKind::kTemperature;
  temperature.params.gate.temperature = 2.0;
  truths.push_back(temperature);
  Truth sigmoid = softmax;
  sigmoid.name = "activation sigmoid k=3";
  sigmoid.params.gate.kind = GateKind::kActivation;
  sigmoid.params.gate.activation = Activation::kSigmoid;
  truths.push_back(sigmoid);
  return truths;
}

TEST(SimulateTest, LabelFrequenciesMatchTheGateInCovariateBins) {
  // Rows are put in 10 equal-width bins of x. In bin b the count of label i
  // is a sum of independent Bernoulli(g_i(x_n)) over the bin's rows, with
  // expectation E_bi = sum_n g_i(x_n). Given the bin's rows the vector of
  // counts is a sum of independent one-draw multinomials; its Pearson
  // statistic is approximately chi2(#cells - 1) (exactly that when all g
  // are equal in the bin; heterogeneity within a bin only lowers the
  // variance, making the test conservative). Bins are independent, so the
  // total is compared with chi2(sum_b (#positive cells_b - 1)).
  const Index n = 50000;
  const int bins = 10;
  for (const Truth& truth : GofTruths()) {
    SCOPED_TRACE(truth.name);
    Rng rng(DeriveSeed(1301, n, 0));
    const Dataset data = Simulate(truth.params, truth.design, n, rng);
    const Matrix weights = ExpOfLog(GateLogWeights(truth.params.gate, data.X));
    const Index k = truth.params.num_experts();
    Matrix observed = Matrix::Zero(bins, k), expected = Matrix::Zero(bins, k);
    const double width = (truth.design.upper - truth.design.lower) / bins;
    for (Index r = 0; r < n; ++r) {
      const Index b = std::min<Index>(
          bins - 1, static_cast<Index>((data.X(r, 0) - truth.design.lower) / width));
      observed(b, (*data.labels)[r]) += 1.0;
      expected.row(b) += weights.row(r);
    }
    double statistic = 0.0;
    int df = 0;
    for (Index b = 0; b < bins; ++b) {
      int positive_cells = 0;
      for (Index i = 0; i < k; ++i) {
        if (expected(b, i) == 0.0) {
          // Experts the top-K gate never selects in this bin: never drawn.
          EXPECT_EQ(observed(b, i), 0.0) << "bin " << b << " expert " << i;
          continue;
        }
        ASSERT_GE(expected(b, i), 5.0) << "chi-square approximation invalid: bin " << b;
        ++positive_cells;
      }
      statistic += PearsonChiSquare(observed.row(b).transpose(), expected.row(b).transpose());
      df += positive_cells - 1;
    }
    ASSERT_GT(df, 0);
    EXPECT_LT(statistic, ChiSquareUpperQuantile(df, kAlpha)) << "df = " << df;
  }
}

TEST(SimulateTest, ResponsesGivenTheLabelFollowTheExpertNormal) {
  // Standardised residuals (y - a_z' x - b_z) / sqrt(variance_z) are i.i.d.
  // N(0, 1) for a correct simulator; 20 equiprobable bins at Boost.Math
  // normal quantiles give a chi2(19) Pearson statistic. Checked per preset
  // and per expert (so a swapped variance cannot hide in the pool).
  const Index n = 40000;
  const int bins = 20;
  for (const std::string& name : PresetNames()) {
    SCOPED_TRACE(name);
    const Preset p = GetPreset(name);
    Rng rng(DeriveSeed(1302, n, 0));
    const Dataset data = Simulate(p.truth, p.design, n, rng);
    const Matrix means = ExpertMeans(p.truth.experts, data.X);
    const Index k = p.truth.num_experts();
    std::vector<std::vector<double>> residuals(k);
    for (Index r = 0; r < n; ++r) {
      const int z = (*data.labels)[r];
      residuals[z].push_back((data.y[r] - means(r, z)) / std::sqrt(p.truth.experts.variance[z]));
    }
    for (Index i = 0; i < k; ++i) {
      const Vector z = Eigen::Map<const Vector>(residuals[i].data(),
                                                static_cast<Index>(residuals[i].size()));
      ASSERT_GE(z.size(), 20 * bins) << "too few draws for expert " << i;
      const Vector observed = testing::StandardNormalBinCounts(z, bins);
      const Vector expected = Vector::Constant(bins, double(z.size()) / bins);
      EXPECT_LT(PearsonChiSquare(observed, expected), ChiSquareUpperQuantile(bins - 1, kAlpha))
          << "expert " << i;
    }
  }
}

TEST(SimulateTest, SampleMomentsMatchTheConditionalMeanAndVariance) {
  // At fixed x, y is a Gaussian mixture with mean mu = ConditionalMean and
  // variance s2 = ConditionalVariance. With N = 40000 replicates the sample
  // mean has standard error sqrt(s2 / N) and the sample variance
  // sqrt((mu4 - s2^2) / N), mu4 = sum_i g_i (3 nu_i^2 + 6 nu_i d_i^2 + d_i^4),
  // d_i = m_i - mu. Both are checked at 5.3 standard errors (two-sided
  // normal tail 1.2e-7 per check, ~3e-6 over the 24 checks).
  const Index reps = 40000;
  for (const char* name : {"softmax-exact", "topk-exact", "activation"}) {
    SCOPED_TRACE(name);
    const Preset p = GetPreset(name);
    const GaussianMoe model(p.truth);
    const Vector points = Vector::LinSpaced(4, p.design.lower + 0.1, p.design.upper - 0.1);
    Matrix X(reps * points.size(), 1);
    for (Index j = 0; j < points.size(); ++j) X.block(j * reps, 0, reps, 1).setConstant(points[j]);
    Rng rng(DeriveSeed(1303, reps, 0));
    const Dataset data = SimulateAt(p.truth, X, rng);
    const Vector mu = model.ConditionalMean(points);
    const Vector s2 = model.ConditionalVariance(points);
    const Matrix g = ExpOfLog(GateLogWeights(p.truth.gate, points));
    const Matrix m = ExpertMeans(p.truth.experts, points);
    for (Index j = 0; j < points.size(); ++j) {
      const Vector y = data.y.segment(j * reps, reps);
      const double mean = y.mean();
      const double variance = (y.array() - mean).square().sum() / (reps - 1);
      double mu4 = 0.0;
      for (Index i = 0; i < p.truth.num_experts(); ++i) {
        const double nu = p.truth.experts.variance[i], d = m(j, i) - mu[j];
        mu4 += g(j, i) * (3 * nu * nu + 6 * nu * d * d + d * d * d * d);
      }
      EXPECT_NEAR(mean, mu[j], 5.3 * std::sqrt(s2[j] / reps)) << "x = " << points[j];
      EXPECT_NEAR(variance, s2[j], 5.3 * std::sqrt((mu4 - s2[j] * s2[j]) / reps))
          << "x = " << points[j];
    }
  }
}

TEST(SimulateTest, SameSeedGivesABitIdenticalDataSet) {
  const Preset p = GetPreset("topk-exact");
  Rng a(DeriveSeed(1304, 500, 7)), b(DeriveSeed(1304, 500, 7));
  const Dataset first = Simulate(p.truth, p.design, 500, a);
  const Dataset second = Simulate(p.truth, p.design, 500, b);
  EXPECT_EQ(first.X, second.X);
  EXPECT_EQ(first.y, second.y);
  EXPECT_EQ(*first.labels, *second.labels);
  // Simulate = DrawCovariates then SimulateAt on the same stream.
  Rng c(DeriveSeed(1304, 500, 7));
  const Matrix X = DrawCovariates(p.design, 500, c);
  const Dataset third = SimulateAt(p.truth, X, c);
  EXPECT_EQ(third.y, first.y);
  EXPECT_EQ(*third.labels, *first.labels);
}

TEST(SimulateTest, DifferentSeedsGiveDifferentDataSets) {
  const Preset p = GetPreset("softmax-exact");
  Rng a(DeriveSeed(1305, 500, 0)), b(DeriveSeed(1305, 500, 1));
  const Dataset first = Simulate(p.truth, p.design, 500, a);
  const Dataset second = Simulate(p.truth, p.design, 500, b);
  // Continuous draws from independent streams coincide with probability 0.
  EXPECT_EQ((first.X.array() == second.X.array()).count(), 0);
  EXPECT_EQ((first.y.array() == second.y.array()).count(), 0);
}

TEST(SimulateTest, LabelsOnlyFallOnSelectedExperts) {
  Rng rng(1306);
  const GateParams gate = testing::RandomGate(GateKind::kTopK, 5, 2, rng, 2);
  const MoeParams truth = testing::RandomMoe(gate, rng);
  const Matrix X = testing::RandomCovariates(3000, 2, rng);
  const Dataset data = SimulateAt(truth, X, rng);
  const Matrix log_w = GateLogWeights(gate, X);
  for (Index r = 0; r < X.rows(); ++r) ASSERT_NE(log_w(r, (*data.labels)[r]), -INFINITY);
}

TEST(SimulateTest, InvalidInputsThrowNamingTheProblem) {
  const Preset p = GetPreset("softmax-exact");
  Rng rng(1307);
  CovariateDesign wrong_dim = p.design;
  wrong_dim.dim = 2;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { Simulate(p.truth, wrong_dim, 10, rng); },
                                    {"Simulate", "design.dim"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { Simulate(p.truth, p.design, 0, rng); },
                                    {"n must be >= 1"}));
  MoeParams bad = p.truth;
  bad.experts.variance[0] = 0.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { Simulate(bad, p.design, 10, rng); },
                                    {"experts.variance[0]"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { SimulateAt(p.truth, Matrix::Zero(4, 2), rng); },
                                    {"SimulateAt", "X columns (d)"}));
  Matrix nan = Matrix::Zero(4, 1);
  nan(3, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(ThrowsInvalidArgument([&] { SimulateAt(p.truth, nan, rng); }, {"X(3, 0)"}));
}

}  // namespace
}  // namespace moelab
