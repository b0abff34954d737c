#include "glue.hpp"

#include <stdexcept>
#include <string>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/restarts.hpp"

namespace moelab::python {

void MultiStartOptions::Validate() const {
  if (num_starts < 1)
    throw std::invalid_argument("MultiStartOptions.num_starts must be >= 1 (got " +
                                std::to_string(num_starts) + ")");
  switch (estimator) {
    case EstimatorKind::kEm: em.Validate(); break;
    case EstimatorKind::kMleNlopt: mle.Validate(); break;
    case EstimatorKind::kLseCeres: lse.Validate(); break;
  }
}

FitResult FitFrom(const Dataset& data, const MoeParams& start, const MultiStartOptions& options) {
  switch (options.estimator) {
    case EstimatorKind::kEm: return FitEm(data, start, options.em);
    case EstimatorKind::kMleNlopt: return FitMleNlopt(data, start, options.mle);
    case EstimatorKind::kLseCeres: return FitLseCeres(data, start, options.lse);
  }
  throw std::invalid_argument("MultiStartOptions.estimator: unknown value");
}

FitResult FitMultiStart(const Dataset& data, const ModelShape& shape,
                        const MultiStartOptions& options) {
  options.Validate();
  shape.Validate();
  data.Validate();
  Rng rng(options.seed);
  int start_index = 0;
  return BestOfStarts(
      options.num_starts,
      [&](Rng& r) {
        return (start_index++ % 2 == 0) ? InitDataDriven(data, shape, r) : InitRandom(data, shape, r);
      },
      [&](const MoeParams& start) { return FitFrom(data, start, options); }, rng);
}

}  // namespace moelab::python
