// Random parameter sets for property tests (every gate kind, moderate
// values so that weights and densities stay well inside double range).
#pragma once

#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab::testing {

// A gate of `kind` with k experts in dimension d: bias, slope ~ U[-2, 2],
// temperature ~ U[0.5, 2] (temperature / activation gates), top_k = K for
// kTopK (K = max(1, k - 1) when top_k is 0). Ranking and activation as given.
GateParams RandomGate(GateKind kind, Index k, Index d, Rng& rng, int top_k = 0,
                      TopKRanking ranking = TopKRanking::kSlopeOnly,
                      Activation activation = Activation::kTanh);

// Experts with slope, intercept ~ U[-2, 2] and variance ~ U[0.2, 1.5].
ExpertParams RandomExperts(Index k, Index d, Rng& rng);

// A gate from RandomGate together with RandomExperts.
MoeParams RandomMoe(const GateParams& gate, Rng& rng);

// n x d covariates ~ U[lower, upper].
Matrix RandomCovariates(Index n, Index d, Rng& rng, double lower = -2.0, double upper = 2.0);

// RandomCovariates(n, d) then y ~ U[-y_range, y_range] (drawn in that order):
// (x, y) pairs around the random experts' range.
Dataset RandomDataset(Index n, Index d, Rng& rng, double y_range = 5.0);

// One representative gate of each kind and option (softmax, top-K with both
// rankings, temperature, activation with tanh / sigmoid / identity): the list
// the "every gate" tests loop over.
std::vector<GateParams> EveryGate(Index k, Index d, Rng& rng);

// "softmax", "topk/slope K=2", "activation/tanh", ... for failure messages.
std::string Describe(const GateParams& gate);

}  // namespace moelab::testing
