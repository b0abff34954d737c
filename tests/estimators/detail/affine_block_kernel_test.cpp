// The fused per-chunk kernel against the column-wise block code it replaces
// (itself checked against the model and finite differences in
// em_engine_test / softmax_irls_test), for every specialised p = d + 1 and
// the generic one, with and without a top-K mask; its AVX2 and portable
// copies agreeing to round-off; and a plain per-row loop for k = 3 (where
// only the two exp arguments after each row's maximum are exponentiated)
// and NaN inputs.
#include "moelab/estimators/detail/affine_block_kernel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/detail/em_engine.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/random_params.hpp"

namespace moelab::detail {
namespace {

struct Case {
  std::string name;
  MoeParams truth;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  // (softmax-over and topk-over share these truths; they differ in the fitted k.)
  for (const char* name : {"softmax-exact", "topk-exact", "temperature"}) {
    cases.push_back({name, GetPreset(name).truth});
  }
  // p = 3, 4, 5 (specialised) and 6, 7 (generic loop).
  for (Index d : {2, 3, 4, 5, 6}) {
    std::string name = "softmax d=";
    name += std::to_string(d);
    Rng rng(40 + static_cast<std::uint64_t>(d));
    cases.push_back({name, testing::RandomMoe(testing::RandomGate(GateKind::kSoftmax, 3, d, rng), rng)});
  }
  return cases;
}

// The kernel's E-step input over all rows of Z (rows x p, column 0 ones):
// logits from the affine gate W, or - with `logits` given - those
// (masked: they may hold -inf); responsibilities out to *R (resized).
AffineBlockInput EStepInput(const Matrix& Z, const Matrix& W, const Matrix* logits,
                            const Vector& y, const Matrix& means, const Vector& constant,
                            const Vector& inv_two_var, Matrix* R) {
  const Index rows = Z.rows();
  AffineBlockInput in;
  in.rows = rows;
  in.p = Z.cols();
  in.k = means.cols();
  in.z = Z.data();
  in.z_stride = rows;
  if (logits != nullptr) {
    in.logits = logits->data();
    in.logits_stride = rows;
    in.masked = true;
  } else {
    in.w = W.data();
  }
  in.y = y.data();
  in.means = means.data();
  in.constant = constant.data();
  in.inv_two_var = inv_two_var.data();
  R->resize(rows, means.cols());
  in.r = R->data();
  in.r_stride = rows;
  return in;
}

// Zeroed output buffers of one E-step call, wired into AffineBlockSums
// (Q_old and its gradient too, for calls with r_old).
struct EStepSums {
  EStepSums(Index k, Index p)
      : gradient(Vector::Zero((k - 1) * p)),
        gradient_old(Vector::Zero((k - 1) * p)),
        experts(Vector::Zero(k * ExpertSumsSize(p))),
        information(Matrix::Zero((k - 1) * p, (k - 1) * p)) {}
  AffineBlockSums Out() {
    AffineBlockSums out;
    out.log_likelihood = &log_likelihood;
    out.q = &q;
    out.gradient = gradient.data();
    out.information = information.data();
    out.q_old = &q_old;
    out.gradient_old = gradient_old.data();
    out.experts = experts.data();
    return out;
  }
  double log_likelihood = 0.0, q = 0.0, q_old = 0.0;
  Vector gradient, gradient_old, experts;
  Matrix information;
};

// E-step and five EM iterations with the fused kernel and with the column-wise
// code, from a start away from the truth (so IRLS takes several Newton steps,
// exercising SoftmaxIrls::Evaluate through both). n = 2999 leaves a partial
// block, a partial chunk and a partial 4-row group.
TEST(AffineBlockKernelTest, MatchesTheColumnwiseCodeUpToRoundoff) {
  for (const Case& c : Cases()) {
    CovariateDesign design;
    design.dim = c.truth.gate.dim();
    Rng rng(5);
    const Dataset data = Simulate(c.truth, design, 2999, rng);
    MoeParams start = NormaliseGauge(c.truth);
    start.gate.slope *= 0.5;
    start.gate.bias.array() += 0.3;
    start.experts.intercept.array() += 0.2;
    start = NormaliseGauge(start);
    const EmOptions options;
    EmEngine fused(data, start, options, true);
    EmEngine columnwise(data, start, options, false);
    ASSERT_TRUE(fused.uses_irls()) << c.name;
    // Same formulas, other summation order: a few ulps of the sums (measured
    // <= 4e-16 relative).
    EXPECT_NEAR(fused.log_likelihood(), columnwise.log_likelihood(),
                1e-14 * std::abs(columnwise.log_likelihood()))
        << c.name;
    EXPECT_LT((fused.responsibilities() - columnwise.responsibilities()).cwiseAbs().maxCoeff(),
              1e-14)
        << c.name;
    for (int iteration = 0; iteration < 5; ++iteration) {
      const EmEngine::StepReport a = fused.Step();
      const EmEngine::StepReport b = columnwise.Step();
      ASSERT_TRUE(a.finite && b.finite) << c.name;
      EXPECT_EQ(a.selection_changes, b.selection_changes) << c.name;
      // Round-off in the gradient / information moves each Newton step by
      // ~1e-16 times the condition number (measured <= 2.2e-16 relative in
      // the log-likelihood after 5 iterations); 1e-12 is far above that and far
      // below any formula error (a wrong Gram entry or weight moves the
      // log-likelihood by > 1e-4 relative here).
      EXPECT_NEAR(a.log_likelihood, b.log_likelihood, 1e-12 * std::abs(b.log_likelihood))
          << c.name << " iteration " << iteration;
    }
    const double change =
        std::max({(PackGate(fused.params().gate, false) - PackGate(columnwise.params().gate, false))
                      .cwiseAbs()
                      .maxCoeff(),
                  (fused.params().experts.slope - columnwise.params().experts.slope)
                      .cwiseAbs()
                      .maxCoeff(),
                  (fused.params().experts.variance - columnwise.params().experts.variance)
                      .cwiseAbs()
                      .maxCoeff()});
    EXPECT_LT(change, 1e-8) << c.name;
  }
}

// Every SIMD level against the portable copy: the AVX2 copy runs the same
// formulas in the same order with fused multiply-adds, the AVX-512 copy
// sums in 8 lanes and has another exp, so they agree to round-off: sums to
// < 1e-11 absolute (each adds ~1000 terms of size <= ~10, a few ulps per
// term; measured <= 2e-13), responsibilities to a few ulps of their exp
// arguments (joint log densities up to ~30 in size here, so ~30 x 1.1e-16
// each; measured <= 3.4e-15, bound 2e-14). A wrong weight, Gram entry or
// lane in any copy moves a sum by far more (terms are O(1)). k = 2, 3
// (specialised) and 4 (generic) for every specialised p and a generic one;
// 1000 rows (no padding at 4 or 8 lanes) and 1003 (padding rows in the last
// chunk at both).
TEST(AffineBlockKernelTest, SimdLevelsAgreeToRoundoff) {
  for (Index rows : {1000, 1003}) {
    for (Index k : {2, 3, 4}) {
      for (Index p : {2, 3, 4, 5, 7}) {
        for (bool masked : {false, true}) {
          const Index m = (k - 1) * p;
          Rng rng(70 + static_cast<std::uint64_t>(p) + 10 * static_cast<std::uint64_t>(k));
          Matrix Z(rows, p), W(p, k), means(p, k), R_old(rows, k);
          Vector y(rows), constant(k), inv_two_var(k);
          Z.col(0).setOnes();
          for (Index r = 0; r < rows; ++r) {
            for (Index j = 1; j < p; ++j) Z(r, j) = UniformReal(rng, -1.0, 1.0);
            y[r] = StandardNormal(rng);
            for (Index i = 0; i < k; ++i) R_old(r, i) = UniformReal(rng, 0.0, 1.0);
          }
          for (Index i = 0; i < k; ++i) {
            for (Index j = 0; j < p; ++j) {
              W(j, i) = i + 1 < k ? StandardNormal(rng) : 0.0;
              means(j, i) = StandardNormal(rng);
            }
            constant[i] = -0.5 * std::log(2.0 * 3.14159 * (0.2 + 0.1 * i));
            inv_two_var[i] = 0.5 / (0.2 + 0.1 * i);
          }
          Matrix logits = Z * W;
          if (masked) {
            for (Index r = 0; r < rows; ++r) {
              // Unselected: log g = -inf and (previous) responsibility 0.
              logits(r, r % k) = -std::numeric_limits<double>::infinity();
              R_old(r, r % k) = 0.0;
            }
          }
          auto run = [&](SimdLevel level, Matrix* R, Vector* sums) {
            const Index size = 2 + m + m * m + 1 + m + k * ExpertSumsSize(p);
            *sums = Vector::Zero(size);
            AffineBlockInput in = EStepInput(Z, W, masked ? &logits : nullptr, y, means,
                                             constant, inv_two_var, R);
            in.r_old = R_old.data();
            in.r_old_stride = rows;
            double* s = sums->data();
            AffineBlockSums out;
            out.log_likelihood = s;
            out.q = s + 1;
            out.gradient = s + 2;
            out.information = s + 2 + m;
            out.q_old = s + 2 + m + m * m;
            out.gradient_old = s + 3 + m + m * m;
            out.experts = s + 3 + 2 * m + m * m;
            AccumulateAffineBlock(in, out, level);
          };
          Matrix R_portable;
          Vector portable;
          run(SimdLevel::kPortable, &R_portable, &portable);
          for (SimdLevel level : RunningSimdLevels()) {
            const std::string where = std::string(SimdLevelName(level)) + ": rows = " +
                                      std::to_string(rows) + " k = " + std::to_string(k) +
                                      " p = " + std::to_string(p) +
                                      (masked ? " masked" : "");
            Matrix R;
            Vector sums;
            run(level, &R, &sums);
            ASSERT_TRUE(sums.allFinite()) << where << "\n" << sums.transpose();
            EXPECT_LT((sums - portable).cwiseAbs().maxCoeff(), 1e-11) << where;
            EXPECT_LT((R - R_portable).cwiseAbs().maxCoeff(), 2e-14) << where;
            if (masked) {
              // Unselected experts: responsibility exactly 0.
              for (Index r = 0; r < rows; ++r) EXPECT_EQ(R(r, r % k), 0.0) << where;
            }
            // Rows of R sum to 1 (round-off).
            EXPECT_LT((R.rowwise().sum().array() - 1.0).abs().maxCoeff(), 1e-14) << where;
          }
        }
      }
    }
  }
}

// The kernel's gate softmax, responsibilities, log-likelihood and Q against
// a plain per-row loop (std::exp, std::log), for k = 3 - where the kernel
// exps only the two arguments after each row's maximum and puts them back -
// on rows that stress that matching: ties (a zero gate: all logits equal;
// two equal experts), a top-1-of-3 mask (two -inf logits per row), and
// otherwise random rows; and with given responsibilities whose rows do not
// sum to 1 (Q then takes the exact sum_n R_n log S_n, not the product of
// S_n). Tolerances: the per-row values are a few ulps of numbers in [0, 1]
// (bound 1e-14); the sums add 203 terms of size <= ~20 (bound 1e-11
// absolute). A wrong match (an exp given to the wrong column) moves a gate
// probability by O(1).
TEST(AffineBlockKernelTest, ThreeExpertExpMatchingAgainstAPlainLoop) {
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    const Index rows = 203, p = 2, k = 3;
    for (int variant = 0; variant < 4; ++variant) {
      Rng rng(500 + static_cast<std::uint64_t>(variant));
      Matrix Z(rows, p), W = Matrix::Zero(p, k), means(p, k), R_given(rows, k);
      Vector y(rows), constant(k), inv_two_var(k);
      Z.col(0).setOnes();
      for (Index r = 0; r < rows; ++r) {
        Z(r, 1) = UniformReal(rng, -1.0, 1.0);
        y[r] = StandardNormal(rng);
        for (Index i = 0; i < k; ++i) R_given(r, i) = UniformReal(rng, 0.0, 1.0);
      }
      for (Index i = 0; i < k; ++i) {
        means.col(i) << StandardNormal(rng), StandardNormal(rng);
        if (variant != 0 && i + 1 < k) W.col(i) << StandardNormal(rng), 2.0 * StandardNormal(rng);
        constant[i] = -0.5 * std::log(2.0 * 3.14159 * (0.3 + 0.2 * i));
        inv_two_var[i] = 0.5 / (0.3 + 0.2 * i);
      }
      if (variant == 1) {  // experts 0 and 1 equal: tied gate and joint arguments
        W.col(1) = W.col(0);
        means.col(1) = means.col(0);
        constant[1] = constant[0];
        inv_two_var[1] = inv_two_var[0];
      }
      Matrix logits = Z * W;
      const bool masked = variant == 3;
      if (masked) {
        for (Index r = 0; r < rows; ++r) {
          for (Index i = 0; i < k; ++i) {
            if (i != r % k) {
              logits(r, i) = -std::numeric_limits<double>::infinity();
              R_given(r, i) = 0.0;  // unselected: no responsibility
            }
          }
        }
      }
      // The plain loop.
      Matrix g(rows, k), R(rows, k);
      double ll = 0.0, q = 0.0, q_given = 0.0;
      for (Index r = 0; r < rows; ++r) {
        const double lmax = logits.row(r).maxCoeff();
        double s = 0.0, t = 0.0;
        Vector joint(k);
        for (Index i = 0; i < k; ++i) s += std::exp(logits(r, i) - lmax);
        for (Index i = 0; i < k; ++i) {
          g(r, i) = std::exp(logits(r, i) - lmax) / s;
          const double residual = y[r] - Z.row(r).dot(means.col(i));
          joint[i] = std::log(g(r, i)) + constant[i] - residual * residual * inv_two_var[i];
        }
        const double jmax = joint.maxCoeff();
        for (Index i = 0; i < k; ++i) t += std::exp(joint[i] - jmax);
        ll += jmax + std::log(t);
        for (Index i = 0; i < k; ++i) {
          R(r, i) = std::exp(joint[i] - jmax) / t;
          if (R(r, i) > 0.0) q += R(r, i) * std::log(g(r, i));
          if (R_given(r, i) > 0.0) q_given += R_given(r, i) * std::log(g(r, i));
        }
      }
      Matrix R_kernel;
      AffineBlockInput in = EStepInput(Z, W, masked ? &logits : nullptr, y, means, constant,
                                       inv_two_var, &R_kernel);
      in.r_old = R_given.data();
      in.r_old_stride = rows;
      EStepSums sums(k, p);
      AccumulateAffineBlock(in, sums.Out(), level);
      const double ll_kernel = sums.log_likelihood, q_kernel = sums.q, q_old = sums.q_old;
      const Vector& gradient_old = sums.gradient_old;
      EXPECT_LT((R_kernel - R).cwiseAbs().maxCoeff(), 1e-14) << "variant " << variant;
      EXPECT_NEAR(ll_kernel, ll, 1e-11) << "variant " << variant;
      EXPECT_NEAR(q_kernel, q, 1e-11) << "variant " << variant;
      EXPECT_NEAR(q_old, q_given, 1e-11) << "variant " << variant;
      // The gate gradient for the given responsibilities: sum_n (r_ni - R_n g_ni) z_n.
      for (Index i = 0; i + 1 < k; ++i) {
        for (Index j = 0; j < p; ++j) {
          double expected = 0.0;
          for (Index r = 0; r < rows; ++r) {
            expected += (R_given(r, i) - R_given.row(r).sum() * g(r, i)) * Z(r, j);
          }
          EXPECT_NEAR(gradient_old[i * p + j], expected, 1e-11) << "variant " << variant;
        }
      }
    }
  }
}

// A NaN in the data or in one logit (each column in turn: with k = 3 the
// kernel exps only the two arguments after the row maximum) must reach the
// log-likelihood (the engine rejects a non-finite step).
TEST(AffineBlockKernelTest, NanDataGiveANonFiniteLogLikelihood) {
  for (SimdLevel level : RunningSimdLevels()) {
    SCOPED_TRACE(SimdLevelName(level));
    for (Index k : {2, 3, 4}) {
      for (Index nan_column = -1; nan_column < k; ++nan_column) {
        const Index rows = 67, p = 2;
        Matrix Z(rows, p), W = Matrix::Zero(p, k), means = Matrix::Zero(p, k), R(rows, k);
        Vector y = Vector::Zero(rows), constant = Vector::Zero(k), inv_two_var = Vector::Ones(k);
        Z.col(0).setOnes();
        Z.col(1).setLinSpaced(rows, -1.0, 1.0);
        for (Index i = 0; i < k; ++i) W(1, i) = static_cast<double>(i);
        Matrix logits = Z * W;
        if (nan_column < 0) {
          y[40] = std::numeric_limits<double>::quiet_NaN();
        } else {
          logits(40, nan_column) = std::numeric_limits<double>::quiet_NaN();
        }
        const AffineBlockInput in =
            EStepInput(Z, W, &logits, y, means, constant, inv_two_var, &R);
        EStepSums sums(k, p);
        AccumulateAffineBlock(in, sums.Out(), level);
        EXPECT_FALSE(std::isfinite(sums.log_likelihood))
            << "k = " << k << ", NaN in logit column " << nan_column;
      }
    }
  }
}

// The M-step's RSS kernel against a plain loop, for the specialised and
// generic (p, k) and a row count that leaves a partial group of W lanes.
// Tolerance: each sum adds 1003 non-negative terms of size <= ~20, so
// round-off is < 1e-12 relative; a wrong mean coefficient or a dropped row
// changes a sum by > 1e-3 relative.
TEST(AffineBlockKernelTest, ExpertRssMatchesAPlainLoop) {
  for (Index k : {2, 3, 4}) {
    for (Index p : {2, 3, 5, 7}) {
      const Index rows = 1003;
      Rng rng(90 + static_cast<std::uint64_t>(p) + 10 * static_cast<std::uint64_t>(k));
      Matrix Z(rows, p), means(p, k), R(rows, k);
      Vector y(rows);
      Z.col(0).setOnes();
      for (Index r = 0; r < rows; ++r) {
        for (Index j = 1; j < p; ++j) Z(r, j) = UniformReal(rng, -1.0, 1.0);
        y[r] = StandardNormal(rng);
        for (Index i = 0; i < k; ++i) R(r, i) = UniformReal(rng, 0.0, 1.0);
      }
      for (Index i = 0; i < k; ++i) {
        for (Index j = 0; j < p; ++j) means(j, i) = StandardNormal(rng);
      }
      AffineBlockInput in;
      in.rows = rows;
      in.p = p;
      in.k = k;
      in.z = Z.data();
      in.z_stride = rows;
      in.y = y.data();
      in.means = means.data();
      in.r = R.data();
      in.r_stride = rows;
      for (SimdLevel level : RunningSimdLevels()) {
        Vector rss = Vector::Zero(k);
        AccumulateExpertRss(in, rss.data(), level);
        for (Index i = 0; i < k; ++i) {
          double expected = 0.0;
          for (Index r = 0; r < rows; ++r) {
            const double residual = y[r] - Z.row(r).dot(means.col(i));
            expected += R(r, i) * residual * residual;
          }
          EXPECT_NEAR(rss[i], expected, 1e-12 * expected)
              << "k = " << k << " p = " << p << " " << SimdLevelName(level);
        }
      }
    }
  }
}

}  // namespace
}  // namespace moelab::detail
