// A regression data set: covariates X (n x d), responses y (n), and, for
// simulated data, the latent expert labels z (n, 0-based).
#pragma once

#include <optional>

#include "moelab/core/types.hpp"

namespace moelab {

struct Dataset {
  Matrix X;
  Vector y;
  std::optional<IntVector> labels;

  Index size() const { return y.size(); }
  Index dim() const { return X.cols(); }

  // Throws std::invalid_argument when the shapes disagree, n == 0, or any
  // covariate or response is NaN/Inf (the message names row and column).
  void Validate() const;
};

}  // namespace moelab
