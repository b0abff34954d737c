// Covariate designs: how X is drawn (or laid out) for a simulated data set.
#pragma once

#include <string>

#include "moelab/core/rng.hpp"
#include "moelab/core/types.hpp"

namespace moelab {

enum class DesignKind {
  kUniform,  // i.i.d. Uniform[lower, upper]^d  (default [-1, 1])
  kNormal,   // i.i.d. N(0, 1)^d
  kGrid,     // deterministic linspace(lower, upper, n); d = 1 only. This is
             // the [Demyst] run script's design (X = linspace(0, 1, n)).
};

const char* ToString(DesignKind kind);
DesignKind ParseDesignKind(const std::string& name);

struct CovariateDesign {
  DesignKind kind = DesignKind::kUniform;
  Index dim = 1;
  double lower = -1.0;  // kUniform and kGrid
  double upper = 1.0;

  // Throws std::invalid_argument: dim < 1, lower >= upper or non-finite,
  // kGrid with dim != 1.
  void Validate() const;
};

// n x d covariates. Draw order: row by row, column by column within a row.
// A grid draws nothing from the generator.
Matrix DrawCovariates(const CovariateDesign& design, Index n, Rng& rng);

// The m x 1 midpoints x_i = F^{-1}((i + 1/2) / m), i = 0..m-1, of a
// one-dimensional design's distribution F (standard normal for kNormal,
// Uniform[lower, upper] otherwise, the grid's limit): a deterministic
// midpoint rule for integrals over x, used by the metrics instead of Monte
// Carlo when d = 1. Throws for d != 1 or m < 1.
Matrix MidpointCovariates(const CovariateDesign& design, Index m);

}  // namespace moelab
