// Simulation of Gaussian MoE regression data.
#pragma once

#include "moelab/core/dataset.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/model/moe_params.hpp"
#include "moelab/simulation/design.hpp"

namespace moelab {

// Draws n pairs (x, y): X from the design; then, row by row, the latent
// label z_n ~ Categorical(g(x_n)) and y_n ~ N(a_z' x_n + b_z, variance_z).
// Every draw comes from `rng`, in that order, so a seed fixes the data set.
// The returned Dataset carries the labels.
Dataset Simulate(const MoeParams& truth, const CovariateDesign& design, Index n, Rng& rng);

// Same, at given covariates (n = X.rows()).
Dataset SimulateAt(const MoeParams& truth, const Matrix& X, Rng& rng);

}  // namespace moelab
