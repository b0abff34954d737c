// Starting points for the estimators (EM, MLE, LSE), by strategy.
//
//   near-truth  the [Demyst] protocol (docs/theory.md §5.1, CRPE-SGaME code): needs
//               the true parameters; for simulation studies only.
//   random      atoms at random data points with random coefficients scaled to
//               the data; needs no truth. Meant for several restarts.
//   data        k-means on standardised (x, y), per-cluster least squares and
//               residual variance, gate from the cluster labels by a few IRLS
//               steps; needs no truth.
//
// Every strategy draws only from the `rng` it is given (deterministic for a
// seed) and returns valid, gauge-normalised parameters of the given shape.
#pragma once

#include <string>

#include "moelab/core/dataset.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

enum class InitStrategy { kNearTruth, kRandom, kDataDriven };  // "near-truth", "random", "data"

const char* ToString(InitStrategy strategy);
// Throws std::invalid_argument listing the valid names.
InitStrategy ParseInitStrategy(const std::string& name);

// [Demyst] near-truth start for a fit with shape.num_experts = k >= k* atoms
// (k* = truth.num_experts(); the gate family is the shape's, which should be
// the truth's).
//
//  1. Map fitted atom i to true atom s(i): s(k-1) = k*-1 (the fitted reference
//     expert starts at the true reference expert, so both share the gauge);
//     s(0..k-2) uniform on {0..k*-1}, redrawn as a whole until every true atom
//     is covered.
//  2. For i = 0..k-1 in order: gate (beta0, beta1) = truth's of s(i) + one
//     scalar eps ~ N(0, (0.005 n^-0.083)^2) added to the intercept and to every
//     slope entry (no draw and no noise for the reference i = k-1); experts
//     (b, a) = truth's + one scalar eps' ~ N(0, (0.05 n^-0.083)^2) added to b and
//     every entry of a; variance = true variance + |N(0, (0.005 n^-0.25)^2)|.
//     (The published code started from the standard deviation by mistake -
//     docs/theory.md §5.1, "start"; moelab uses the variance, as the model does.)
//     n^-0.083 ~ n^-1/12 is the slowest theoretical parameter rate.
//  3. Over-specified fits: the m_j fitted atoms mapped to true atom j share its
//     weight, so each gets intercept beta0*_j + log(1/m_j) and the cell's total
//     weight exp(beta0*_j) starts right.
//  4. Temperature/activation gates take the truth's tau when the truth has one
//     (beta is only meaningful with its own tau); top-K takes the shape's K.
// Throws if k < k*, the dimensions differ, or n < 1.
MoeParams InitNearTruth(const MoeParams& truth, const ModelShape& shape, Index n, Rng& rng);

// Random start: expert i is anchored at a data point (x_j, y_j) drawn uniformly:
// slopes a_i ~ N(0, (sd_y / sd_x)^2) entry-wise, b_i = y_j - a_i' x_j, variance =
// var(y) (wide, so that EM starts from overlapping experts); gate slopes
// beta1_i ~ N(0, 1 / sd_x^2) entry-wise and beta0_i = -beta1_i' x_j, so expert
// i's logit is 0 at its anchor. (sd of zero-variance columns is taken as 1.)
MoeParams InitRandom(const Dataset& data, const ModelShape& shape, Rng& rng);

// Data-driven start: k-means (k-means++ seeding from rng, then Lloyd
// iterations to a fixed point, at most 100) on (x, y) standardised column by
// column; per cluster, least squares of y on (1, x) and the residual variance
// (a cluster with fewer than d + 2 points, or a singular design, gets the
// pooled least-squares fit; variances are floored at 1e-6 var(y)); gate: 5
// IRLS steps of a softmax on the hard cluster labels from zero (few steps keep
// it finite when the clusters are separable in x). Temperature gates get beta =
// tau w; activation gates use the same logits as a first-order guess
// (act(z) ~ z near 0): beta1 = tau w1, beta0 = w0.
MoeParams InitDataDriven(const Dataset& data, const ModelShape& shape, Rng& rng);

// Dispatch; `truth` may be null except for kNearTruth (throws if null), where
// n = data.size().
MoeParams MakeInitialParams(InitStrategy strategy, const Dataset& data, const ModelShape& shape,
                            const MoeParams* truth, Rng& rng);

}  // namespace moelab
