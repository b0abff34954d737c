// The little the Python module does beyond forwarding to the library: the
// multi-start fit behind moelab.MixtureOfExperts. It lives here, not in the
// bindings, so the C++ reference program of the agreement test
// (python/tests/reference.cpp) runs exactly the same code.
#pragma once

#include <cstdint>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/estimators/lse_ceres.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/rates/rate_study.hpp"  // EstimatorKind

namespace moelab::python {

struct MultiStartOptions {
  int num_starts = 10;               // >= 1
  std::uint64_t seed = 0;            // Rng(seed) draws every start
  EstimatorKind estimator = EstimatorKind::kEm;
  EmOptions em;                      // used when estimator == kEm
  MleNloptOptions mle;               // kMleNlopt
  LseCeresOptions lse;               // kLseCeres

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

// Fits `shape` to `data` from num_starts starts and keeps the best
// log-likelihood (BestOfStarts). Starts alternate data-driven (even index,
// k-means based) and random (odd index), as the tone-data experiment does, so
// one start is always a sensible data-driven one and the others explore.
// Throws std::invalid_argument for bad options, data or shape (including n
// below the number of free parameters); numerical trouble is in the result.
FitResult FitMultiStart(const Dataset& data, const ModelShape& shape,
                        const MultiStartOptions& options);

// One fit from `start` with the chosen estimator.
FitResult FitFrom(const Dataset& data, const MoeParams& start, const MultiStartOptions& options);

}  // namespace moelab::python
