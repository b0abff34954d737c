// Tests of FitEm (estimators/em.hpp): closed forms, monotonicity, recovery of
// every preset, label switching, determinism across threads, bad input and
// degenerate data.
#include "moelab/estimators/em.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/detail/simd_level.hpp"
#include "moelab/estimators/free_parameters.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

Dataset SimulatePreset(const Preset& preset, Index n, std::uint64_t seed) {
  Rng rng(seed);
  return Simulate(preset.truth, preset.design, n, rng);
}

ModelShape FittedShape(const Preset& preset) {
  ModelShape shape = ShapeOf(preset.truth);
  shape.num_experts = preset.fitted_experts;
  if (preset.fitted_top_k > 0) shape.top_k = preset.fitted_top_k;
  return shape;
}

// ---- Free-parameter vector (gauge fixed, tau fixed) -------------------------

Vector PackFree(const MoeParams& params) {
  const std::vector<Index> free = FreeGateEntries(params.gate, false);
  const Vector gate = PackGate(params.gate, false);
  const Index k = params.num_experts(), d = params.dim();
  Vector theta(static_cast<Index>(free.size()) + k * (d + 2));
  Index j = 0;
  for (Index f : free) theta[j++] = gate[f];
  for (Index i = 0; i < k; ++i) {
    theta[j++] = params.experts.intercept[i];
    for (Index c = 0; c < d; ++c) theta[j++] = params.experts.slope(i, c);
    theta[j++] = params.experts.variance[i];
  }
  return theta;
}

MoeParams UnpackFree(const Vector& theta, const MoeParams& like) {
  MoeParams params = like;
  const std::vector<Index> free = FreeGateEntries(params.gate, false);
  Vector gate = PackGate(params.gate, false);
  const Index k = params.num_experts(), d = params.dim();
  Index j = 0;
  for (Index f : free) gate[f] = theta[j++];
  UnpackGate(gate, false, &params.gate);
  for (Index i = 0; i < k; ++i) {
    params.experts.intercept[i] = theta[j++];
    for (Index c = 0; c < d; ++c) params.experts.slope(i, c) = theta[j++];
    params.experts.variance[i] = theta[j++];
  }
  return params;
}

// Asymptotic standard errors from the outer product of the per-sample scores
// (OPG estimate of the Fisher information, consistent under a correct model),
// the scores by central differences of log p(y_n | x_n).
Vector OpgStandardErrors(const MoeParams& at, const Dataset& data) {
  const Vector theta = PackFree(at);
  const Index P = theta.size(), n = data.size();
  Matrix scores(n, P);
  for (Index j = 0; j < P; ++j) {
    const double h = 1e-6 * std::max(1.0, std::abs(theta[j]));
    Vector up = theta, down = theta;
    up[j] += h;
    down[j] -= h;
    scores.col(j) = (GaussianMoe(UnpackFree(up, at)).LogDensities(data.X, data.y) -
                     GaussianMoe(UnpackFree(down, at)).LogDensities(data.X, data.y)) /
                    (2.0 * h);
  }
  const Matrix information = scores.transpose() * scores;
  const Matrix covariance = information.ldlt().solve(Matrix::Identity(P, P));
  return covariance.diagonal().cwiseSqrt();
}

// The permutation of the fitted experts (reference fixed last) closest to the
// truth in the free parameters.
MoeParams MatchToTruth(const MoeParams& fit, const MoeParams& truth) {
  const Index k = fit.num_experts();
  std::vector<Index> perm(k);
  std::iota(perm.begin(), perm.end(), Index{0});
  MoeParams best = fit;
  double best_distance = std::numeric_limits<double>::infinity();
  do {
    if (perm[k - 1] != k - 1) continue;
    const MoeParams candidate = NormaliseGauge(PermuteExperts(fit, perm));
    const double distance = (PackFree(candidate) - PackFree(truth)).cwiseAbs().maxCoeff();
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// ---- Closed form: k = 1 is ordinary least squares ---------------------------

TEST(FitEmTest, SingleExpertEqualsOrdinaryLeastSquares) {
  Rng rng(11);
  const Index n = 500, d = 3;
  Dataset data;
  data.X.resize(n, d);
  data.y.resize(n);
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < d; ++c) data.X(r, c) = UniformReal(rng, -2.0, 2.0);
    data.y[r] = 1.0 + data.X(r, 0) - 2.0 * data.X(r, 2) + 0.7 * StandardNormal(rng);
  }
  MoeParams init;
  init.gate.kind = GateKind::kSoftmax;
  init.gate.bias = Vector::Zero(1);
  init.gate.slope = Matrix::Zero(1, d);
  init.experts.slope = Matrix::Zero(1, d);
  init.experts.intercept = Vector::Zero(1);
  init.experts.variance = Vector::Ones(1);
  EmOptions options;
  const FitResult fit = FitEm(data, init, options);
  ASSERT_TRUE(fit.IsUsable()) << fit.message;

  Matrix Z(n, d + 1);
  Z.col(0).setOnes();
  Z.rightCols(d) = data.X;
  const Vector gamma = Z.colPivHouseholderQr().solve(data.y);
  const double mle_variance = (data.y - Z * gamma).squaredNorm() / static_cast<double>(n);
  // With k = 1 the responsibilities are exactly 1: one M-step is the closed
  // form, so agreement is limited only by the normal equations' round-off
  // (condition number of Z'Z ~ 10 here, so 1e-10 is generous).
  EXPECT_NEAR(fit.params.experts.intercept[0], gamma[0], 1e-10);
  for (Index c = 0; c < d; ++c) EXPECT_NEAR(fit.params.experts.slope(0, c), gamma[c + 1], 1e-10);
  EXPECT_NEAR(fit.params.experts.variance[0], mle_variance, 1e-10);
  const double closed_form_ll =
      -0.5 * static_cast<double>(n) * (std::log(2.0 * M_PI * mle_variance) + 1.0);
  EXPECT_NEAR(fit.log_likelihood, closed_form_ll, 1e-8 * std::abs(closed_form_ll));
  EXPECT_EQ(fit.termination, TerminationType::kConverged);
}

// ---- Monotonicity ------------------------------------------------------------

// Generalised EM cannot lower the likelihood; allow summation round-off (1e-10
// relative, the library's own threshold).
// `label` and `seed` name the fit in failure messages.
void ExpectMonotone(const FitResult& fit, const std::string& label, std::uint64_t seed) {
  for (std::size_t t = 1; t < fit.history.size(); ++t) {
    const double previous = fit.history[t - 1].log_likelihood;
    EXPECT_GE(fit.history[t].log_likelihood, previous - 1e-10 * std::abs(previous))
        << label << " seed " << seed << " iteration " << t;
  }
  EXPECT_EQ(fit.likelihood_decreases, 0) << label << " seed " << seed;
}

TEST(FitEmTest, SoftmaxLogLikelihoodNeverDecreasesOnSeveralSeeds) {
  const Preset preset = GetPreset("softmax-over");  // k = 3 > k* = 2: slow, curved EM paths
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    const Dataset data = SimulatePreset(preset, 2000, seed);
    Rng init_rng(100 + seed);
    const MoeParams init = InitRandom(data, FittedShape(preset), init_rng);
    EmOptions options;
    options.record_history = true;
    options.max_iterations = 300;
    options.relative_tolerance = 1e-12;
    const FitResult fit = FitEm(data, init, options);
    ASSERT_TRUE(fit.IsUsable()) << fit.message;
    ASSERT_GE(fit.history.size(), 2u);
    ExpectMonotone(fit, "softmax-over", seed);
    // The reported log-likelihood is the model's at the returned parameters.
    EXPECT_NEAR(fit.log_likelihood, GaussianMoe(fit.params).LogLikelihood(data),
                1e-9 * std::abs(fit.log_likelihood));
  }
}

// Generalised EM (EmOptions::gate_newton_steps = 1): one gate Newton step per
// iteration while the log-likelihood still moves. It must stay monotone, and
// on the well-specified softmax preset reach the same maximum as the full gate
// solve with fewer passes over the data. Elsewhere only monotonicity is
// checked: over-fitted EM (softmax-over) crawls along flat directions, so two
// monotone paths stop at different points of the ridge, and top-K likelihoods
// have selection-made local maxima that two paths may reach differently.
TEST(FitEmTest, GeneralisedEmIsMonotoneReachesTheSameFitWithFewerPasses) {
  long long passes_full = 0, passes_generalised = 0;
  for (const char* name : {"softmax-exact", "softmax-over", "topk-exact"}) {
    const bool same_maximum = std::string(name) == "softmax-exact";
    const Preset preset = GetPreset(name);
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      const Dataset data = SimulatePreset(preset, 3000, seed);
      Rng init_rng(300 + seed);
      const MoeParams init = InitRandom(data, FittedShape(preset), init_rng);
      EmOptions options;
      options.record_history = true;
      options.max_iterations = 2000;
      options.relative_tolerance = 1e-10;
      const FitResult full = FitEm(data, init, options);
      options.gate_newton_steps = 1;
      const FitResult generalised = FitEm(data, init, options);
      ASSERT_TRUE(generalised.IsUsable()) << name << " seed " << seed << ": " << generalised.message;
      ExpectMonotone(generalised, name, seed);
      if (!same_maximum) continue;
      ASSERT_EQ(full.termination, TerminationType::kConverged) << name << " seed " << seed;
      ASSERT_EQ(generalised.termination, TerminationType::kConverged) << name << " seed " << seed;
      {
        // Same start, same fixed-point equations: the same local maximum. A
        // relative change of 1e-10 per iteration leaves the fits well within
        // 1e-6 relative of it; a different maximum differs by far more
        // (>= 1e-4 here).
        EXPECT_NEAR(generalised.log_likelihood, full.log_likelihood,
                    1e-6 * std::abs(full.log_likelihood))
            << name << " seed " << seed;
      }
      passes_full += full.data_passes;
      passes_generalised += generalised.data_passes;
    }
  }
  EXPECT_LT(passes_generalised, passes_full);
}

TEST(FitEmTest, TopKLogLikelihoodNeverDecreasesAndSwitchesAreRecorded) {
  const Preset preset = GetPreset("topk-exact");
  int iterations_with_switches = 0;
  for (std::uint64_t seed : {7u, 8u, 9u}) {
    const Dataset data = SimulatePreset(preset, 2000, seed);
    Rng init_rng(200 + seed);
    const MoeParams init = InitRandom(data, FittedShape(preset), init_rng);
    EmOptions options;
    options.record_history = true;
    options.max_iterations = 200;
    const FitResult fit = FitEm(data, init, options);
    ASSERT_TRUE(fit.IsUsable()) << fit.message;
    ExpectMonotone(fit, "topk-exact", seed);
    EXPECT_NEAR(fit.log_likelihood, GaussianMoe(fit.params).LogLikelihood(data),
                1e-9 * std::abs(fit.log_likelihood));
    for (const auto& s : fit.history) iterations_with_switches += s.selection_changed ? 1 : 0;
  }
  // Random starts rank the gate slopes differently from the truth (8, 4, 0),
  // so reaching it needs selection switches, and the history must show them.
  EXPECT_GT(iterations_with_switches, 0);
}

// ---- Recovery of every preset at n = 20,000 ----------------------------------

class PresetRecoveryTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PresetRecoveryTest, NearTruthStartRecoversEveryParameter) {
  const Preset preset = GetPreset(GetParam());
  const Index n = 20000;
  const Dataset data = SimulatePreset(preset, n, 2024);
  Rng init_rng(4048);
  const MoeParams init = InitNearTruth(preset.truth, FittedShape(preset), n, init_rng);
  EmOptions options;
  options.relative_tolerance = 1e-11;  // optimisation error << statistical error
  options.max_iterations = 5000;
  const FitResult fit = FitEm(data, init, options);
  ASSERT_TRUE(fit.IsUsable()) << fit.message;
  EXPECT_EQ(fit.termination, TerminationType::kConverged) << fit.message;

  const MoeParams truth = NormaliseGauge(preset.truth);
  const MoeParams matched = MatchToTruth(fit.params, truth);
  const Vector estimate = PackFree(matched), target = PackFree(truth);
  const Vector se = OpgStandardErrors(matched, data);
  // The MLE is asymptotically normal with covariance I(theta)^-1 / n, i.e.
  // errors of order n^-1/2, estimated here per parameter by the OPG standard
  // error at the fit. A 5-SE band has a two-sided normal tail of 5.7e-7 per
  // parameter, so the ~60 checks across the four presets fail by chance with
  // probability < 1e-4; a biased or non-converged estimator misses it.
  for (Index j = 0; j < estimate.size(); ++j) {
    ASSERT_TRUE(std::isfinite(se[j]) && se[j] > 0.0) << "parameter " << j;
    EXPECT_LE(std::abs(estimate[j] - target[j]), 5.0 * se[j])
        << GetParam() << " parameter " << j << ": estimate " << estimate[j] << ", truth "
        << target[j] << ", SE " << se[j];
    // And the SE itself scales like n^-1/2: it is small at n = 20,000.
    EXPECT_LT(se[j], 0.1 * std::max(1.0, std::abs(target[j]))) << GetParam() << " " << j;
  }
}

INSTANTIATE_TEST_SUITE_P(Presets, PresetRecoveryTest,
                         ::testing::Values("softmax-exact", "topk-exact", "temperature",
                                           "activation"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// ---- Label switching ----------------------------------------------------------

TEST(FitEmTest, PermutedStartGivesTheSameFitUpToPermutation) {
  // Three well-separated experts (the topk-exact truth) fitted with a dense
  // softmax gate from the truth: a well-identified optimum that EM reaches fast.
  const Preset preset = GetPreset("topk-exact");
  const Dataset data = SimulatePreset(preset, 3000, 31);
  MoeParams init = preset.truth;
  init.gate.kind = GateKind::kSoftmax;
  init.gate.top_k = 0;
  EmOptions options;
  options.relative_tolerance = 1e-14;
  options.max_iterations = 3000;
  const FitResult a = FitEm(data, init, options);
  const std::vector<Index> perm = {2, 0, 1};  // moves the reference expert
  const FitResult b = FitEm(data, PermuteExperts(init, perm), options);
  ASSERT_TRUE(a.IsUsable() && b.IsUsable());
  ASSERT_EQ(a.termination, TerminationType::kConverged) << a.message;
  // Undo the relabelling: expert j of b is expert perm[j] of a.
  std::vector<Index> inverse(3);
  for (Index j = 0; j < 3; ++j) inverse[perm[j]] = j;
  const MoeParams b_back = NormaliseGauge(PermuteExperts(b.params, inverse));
  EXPECT_NEAR(a.log_likelihood, b.log_likelihood, 1e-10 * std::abs(a.log_likelihood));
  // EM is equivariant under relabelling (the IRLS reference expert changes,
  // but Q's maximiser is gauge-invariant), so both runs reach the same fixed
  // point; at a relative likelihood change of 1e-14 the remaining distance to
  // it is far below 1e-6 in every coordinate (a contraction's step ~ distance).
  EXPECT_LT((PackGate(a.params.gate, false) - PackGate(b_back.gate, false)).cwiseAbs().maxCoeff(),
            1e-6);
  EXPECT_LT((a.params.experts.intercept - b_back.experts.intercept).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_LT((a.params.experts.slope - b_back.experts.slope).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_LT((a.params.experts.variance - b_back.experts.variance).cwiseAbs().maxCoeff(), 1e-6);
}

// ---- Threads, callback, history, stopping -------------------------------------

// At every SIMD level this CPU runs (each has its own bits, simd_level.hpp).
TEST(FitEmTest, ResultsAreIdenticalForOneAndTwoThreads) {
  for (detail::SimdLevel level : detail::RunningSimdLevels()) {
    SCOPED_TRACE(detail::SimdLevelName(level));
    const detail::ScopedSimdLevelCap cap(level);
    for (const std::string name : {"softmax-exact", "topk-exact", "activation"}) {
      const Preset preset = GetPreset(name);
      const Dataset data = SimulatePreset(preset, 5000, 77);  // several 1024-row blocks
      Rng init_rng(78);
      const MoeParams init = InitRandom(data, FittedShape(preset), init_rng);
      for (int newton_steps : {0, 1}) {  // full gate solve and generalised EM
        EmOptions options;
        options.max_iterations = 50;
        options.gate_newton_steps = newton_steps;
        options.num_threads = 1;
        const FitResult one = FitEm(data, init, options);
        options.num_threads = 2;
        const FitResult two = FitEm(data, init, options);
        // Blocks are fixed and reduced in order: bit-identical, not merely close.
        EXPECT_EQ(one.log_likelihood, two.log_likelihood) << name;
        EXPECT_EQ(one.iterations, two.iterations) << name;
        EXPECT_EQ(PackGate(one.params.gate, false), PackGate(two.params.gate, false)) << name;
        EXPECT_EQ(one.params.experts.variance, two.params.experts.variance) << name;
      }
    }
  }
}

// The SIMD levels differ in round-off only (lane counts, FMA, the exp), so EM
// from one start reaches the same maximum at each: log-likelihoods to 1e-10
// relative and parameters to 1e-6 (tolerance 1e-12 on a well-specified
// model, where the maximum is isolated; a wrong lane, weight or exp would
// move the fit by far more).
TEST(FitEmTest, EverySimdLevelReachesTheSameFit) {
  const Preset preset = GetPreset("softmax-exact");
  const Dataset data = SimulatePreset(preset, 5000, 81);
  Rng init_rng(82);
  const MoeParams init = InitRandom(data, FittedShape(preset), init_rng);
  EmOptions options;
  options.relative_tolerance = 1e-12;
  options.max_iterations = 5000;
  const FitResult reference = [&] {
    const detail::ScopedSimdLevelCap cap(detail::SimdLevel::kPortable);
    return FitEm(data, init, options);
  }();
  ASSERT_EQ(reference.termination, TerminationType::kConverged) << reference.message;
  // A random start: a path of several exact-M-step iterations (10 here).
  EXPECT_GE(reference.iterations, 5);
  for (detail::SimdLevel level : detail::RunningSimdLevels()) {
    SCOPED_TRACE(detail::SimdLevelName(level));
    const detail::ScopedSimdLevelCap cap(level);
    const FitResult fit = FitEm(data, init, options);
    ASSERT_EQ(fit.termination, TerminationType::kConverged) << fit.message;
    EXPECT_NEAR(fit.log_likelihood, reference.log_likelihood,
                1e-10 * std::abs(reference.log_likelihood));
    const MoeParams& back = fit.params;  // same start: same labels
    EXPECT_LT((PackGate(back.gate, false) - PackGate(reference.params.gate, false))
                  .cwiseAbs()
                  .maxCoeff(),
              1e-6);
    EXPECT_LT((back.experts.slope - reference.params.experts.slope).cwiseAbs().maxCoeff(), 1e-6);
    EXPECT_LT((back.experts.variance - reference.params.experts.variance).cwiseAbs().maxCoeff(),
              1e-6);
  }
}

TEST(FitEmTest, CallbackCanStopTheFit) {
  const Preset preset = GetPreset("softmax-exact");
  const Dataset data = SimulatePreset(preset, 1000, 5);
  Rng init_rng(6);
  const MoeParams init = InitRandom(data, FittedShape(preset), init_rng);
  EmOptions options;
  options.relative_tolerance = 0.0;
  options.record_history = true;
  int calls = 0;
  options.callback = [&](const IterationSummary& s) {
    ++calls;
    EXPECT_EQ(s.iteration, calls);
    return s.iteration == 3 ? CallbackReturn::kStop : CallbackReturn::kContinue;
  };
  const FitResult fit = FitEm(data, init, options);
  EXPECT_EQ(fit.termination, TerminationType::kUserStopped);
  EXPECT_EQ(fit.iterations, 3);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(fit.history.size(), 4u);  // iteration 0 (the start) + 3
  EXPECT_EQ(fit.history.back().log_likelihood, fit.log_likelihood);
}

TEST(FitEmTest, StopsAtMaxIterationsAndOnParameterTolerance) {
  const Preset preset = GetPreset("softmax-exact");
  const Dataset data = SimulatePreset(preset, 1000, 8);
  Rng init_rng(9);
  const MoeParams init = InitRandom(data, FittedShape(preset), init_rng);
  EmOptions options;
  options.relative_tolerance = 0.0;
  options.max_iterations = 4;
  const FitResult capped = FitEm(data, init, options);
  EXPECT_EQ(capped.termination, TerminationType::kMaxIterations);
  EXPECT_EQ(capped.iterations, 4);
  EXPECT_NE(capped.message.find("max_iterations"), std::string::npos);

  options.max_iterations = 5000;
  options.parameter_tolerance = 1e-6;
  options.record_history = true;
  const FitResult converged = FitEm(data, init, options);
  EXPECT_EQ(converged.termination, TerminationType::kConverged);
  EXPECT_LE(converged.history.back().parameter_change, 1e-6);
  EXPECT_GT(converged.history[1].parameter_change, 1e-6);
}

// ---- Bad input: clear exceptions ----------------------------------------------

class FitEmInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    preset_ = GetPreset("softmax-exact");
    data_ = SimulatePreset(preset_, 200, 1);
    init_ = preset_.truth;
  }
  Preset preset_;
  Dataset data_;
  MoeParams init_;
  EmOptions options_;
};

TEST_F(FitEmInputTest, NanOrInfInDataThrows) {
  Dataset bad = data_;
  bad.y[17] = std::nan("");
  EXPECT_THROW(FitEm(bad, init_, options_), std::invalid_argument);
  bad = data_;
  bad.X(3, 0) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(FitEm(bad, init_, options_), std::invalid_argument);
}

TEST_F(FitEmInputTest, TooFewSamplesForTheParametersThrows) {
  // softmax, k = 2, d = 1: 2 free gate + 2 x 3 expert parameters = 8.
  Dataset small;
  small.X = data_.X.topRows(7);
  small.y = data_.y.head(7);
  try {
    FitEm(small, init_, options_);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("free parameters (8)"), std::string::npos) << e.what();
  }
  small.X = data_.X.topRows(8);
  small.y = data_.y.head(8);
  EXPECT_NO_THROW(FitEm(small, init_, options_));
}

TEST_F(FitEmInputTest, NoExpertsOrTopKLargerThanKThrows) {
  MoeParams empty = init_;
  empty.gate.bias.resize(0);
  empty.gate.slope.resize(0, 1);
  empty.experts.slope.resize(0, 1);
  empty.experts.intercept.resize(0);
  empty.experts.variance.resize(0);
  EXPECT_THROW(FitEm(data_, empty, options_), std::invalid_argument);
  MoeParams topk = init_;
  topk.gate.kind = GateKind::kTopK;
  topk.gate.top_k = 3;  // K > k = 2
  EXPECT_THROW(FitEm(data_, topk, options_), std::invalid_argument);
}

TEST_F(FitEmInputTest, MismatchedDimensionsThrow) {
  Dataset wide = data_;
  wide.X = Matrix::Ones(data_.size(), 2);
  EXPECT_THROW(FitEm(wide, init_, options_), std::invalid_argument);
  Dataset short_y = data_;
  short_y.y.conservativeResize(data_.size() - 1);
  EXPECT_THROW(FitEm(short_y, init_, options_), std::invalid_argument);
  MoeParams mismatched = init_;
  mismatched.experts.variance = Vector::Ones(3);
  EXPECT_THROW(FitEm(data_, mismatched, options_), std::invalid_argument);
}

TEST(EmOptionsTest, EachBadFieldThrowsNamingIt) {
  auto expect_field = [](EmOptions options, const std::string& field) {
    try {
      options.Validate();
      ADD_FAILURE() << "no exception for " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  EmOptions o;
  EXPECT_NO_THROW(o.Validate());
  o = {}; o.max_iterations = 0; expect_field(o, "max_iterations");
  o = {}; o.relative_tolerance = -1e-6; expect_field(o, "relative_tolerance");
  o = {}; o.relative_tolerance = std::nan(""); expect_field(o, "relative_tolerance");
  o = {}; o.parameter_tolerance = -1.0; expect_field(o, "parameter_tolerance");
  o = {}; o.variance_floor = 0.0; expect_field(o, "variance_floor");
  o = {}; o.min_expert_mass = -1.0; expect_field(o, "min_expert_mass");
  o = {}; o.min_expert_mass = 1.0; expect_field(o, "min_expert_mass");
  o = {}; o.gate_max_iterations = 0; expect_field(o, "gate_max_iterations");
  o = {}; o.gate_tolerance = -1.0; expect_field(o, "gate_tolerance");
  o = {}; o.gate_newton_steps = -1; expect_field(o, "gate_newton_steps");
  o = {}; o.num_threads = 0; expect_field(o, "num_threads");
}

TEST(FitEmTest, NegativeToleranceIsRejectedByFitEm) {
  const Preset preset = GetPreset("softmax-exact");
  const Dataset data = SimulatePreset(preset, 100, 3);
  EmOptions options;
  options.relative_tolerance = -1.0;
  EXPECT_THROW(FitEm(data, preset.truth, options), std::invalid_argument);
}

// ---- Degenerate data: reported, never thrown, never NaN -----------------------

bool AllFinite(const MoeParams& p) {
  return p.gate.bias.allFinite() && p.gate.slope.allFinite() && p.experts.slope.allFinite() &&
         p.experts.intercept.allFinite() && p.experts.variance.allFinite() &&
         (p.experts.variance.array() > 0.0).all();
}

TEST(FitEmTest, ExpertThatIsNeverSelectedIsReportedAsEmpty) {
  // Top-1 of 3 ranked by beta1 x on x in [0, 1]: the expert with the smallest
  // slope is never selected (docs/theory.md §2.2.2), so it never gets mass.
  Preset preset = GetPreset("topk-exact");
  preset.design.lower = 0.0;
  const Dataset data = SimulatePreset(preset, 500, 12);
  MoeParams init = preset.truth;
  init.gate.top_k = 1;
  EmOptions options;
  options.max_iterations = 50;
  const FitResult fit = FitEm(data, init, options);
  EXPECT_TRUE(fit.IsUsable()) << fit.message;
  EXPECT_GT(fit.empty_expert_events, 0);
  EXPECT_NE(fit.message.find("empty-expert"), std::string::npos) << fit.message;
  EXPECT_TRUE(AllFinite(fit.params));
  EXPECT_TRUE(std::isfinite(fit.log_likelihood));
  // The unselected expert kept its starting parameters (up to the round trip
  // through the standardised units, a few ulps).
  EXPECT_NEAR(fit.params.experts.intercept[2], init.experts.intercept[2],
              1e-13 * std::abs(init.experts.intercept[2]));
}

TEST(FitEmTest, CollapsingVarianceHitsTheFloorAndFinishes) {
  // 300 points on a noisy line plus one point repeated 5 times far away; the
  // start puts expert 1 on the repeated point, so its weighted residual
  // variance collapses to 0 and must be floored.
  Rng rng(21);
  const Index n = 305;
  Dataset data;
  data.X.resize(n, 1);
  data.y.resize(n);
  for (Index r = 0; r < 300; ++r) {
    data.X(r, 0) = UniformReal(rng, 0.0, 1.0);
    data.y[r] = 2.0 * data.X(r, 0) + 0.3 * StandardNormal(rng);
  }
  for (Index r = 300; r < n; ++r) {
    data.X(r, 0) = 0.5;
    data.y[r] = 50.0;
  }
  MoeParams init;
  init.gate.kind = GateKind::kSoftmax;
  init.gate.bias = Vector::Zero(2);
  init.gate.slope = Matrix::Zero(2, 1);
  init.experts.slope = Matrix::Zero(2, 1);
  init.experts.slope(0, 0) = 2.0;
  init.experts.intercept = Vector::Zero(2);
  init.experts.intercept[1] = 50.0;
  init.experts.variance = Vector::Constant(2, 0.1);
  EmOptions options;
  options.max_iterations = 100;
  const FitResult fit = FitEm(data, init, options);
  EXPECT_TRUE(fit.IsUsable()) << fit.message;
  EXPECT_GT(fit.variance_floor_hits, 0);
  EXPECT_NE(fit.message.find("variance-floor"), std::string::npos) << fit.message;
  EXPECT_TRUE(AllFinite(fit.params));
  // The floor is relative to Var(y) (variance_floor.hpp).
  const double floor = AbsoluteVarianceFloor(options.variance_floor, data.y);
  EXPECT_NEAR(fit.params.experts.variance.minCoeff(), floor, 1e-12 * floor);
  EXPECT_TRUE(std::isfinite(fit.log_likelihood));
}

TEST(FitEmTest, ExpertOnTwoPointsFitsThemExactlyWithoutNaN) {
  // Expert 1 starts on two distinct points far from the rest: its weighted
  // least squares fits the two points exactly (rank-2 system, zero residual).
  Rng rng(22);
  const Index n = 202;
  Dataset data;
  data.X.resize(n, 1);
  data.y.resize(n);
  for (Index r = 0; r < 200; ++r) {
    data.X(r, 0) = UniformReal(rng, 0.0, 1.0);
    data.y[r] = -data.X(r, 0) + 0.2 * StandardNormal(rng);
  }
  data.X(200, 0) = 0.2;
  data.y[200] = 40.0;
  data.X(201, 0) = 0.8;
  data.y[201] = 41.0;
  MoeParams init;
  init.gate.kind = GateKind::kSoftmax;
  init.gate.bias = Vector::Zero(2);
  init.gate.slope = Matrix::Zero(2, 1);
  init.experts.slope = Matrix::Constant(2, 1, -1.0);
  init.experts.intercept = Vector::Zero(2);
  init.experts.intercept[1] = 40.0;
  init.experts.variance = Vector::Constant(2, 0.5);
  EmOptions options;
  options.max_iterations = 100;
  const FitResult fit = FitEm(data, init, options);
  EXPECT_TRUE(fit.IsUsable()) << fit.message;
  EXPECT_TRUE(AllFinite(fit.params));
  EXPECT_GT(fit.variance_floor_hits, 0);
  EXPECT_FALSE(fit.message.empty());
}

}  // namespace
}  // namespace moelab
