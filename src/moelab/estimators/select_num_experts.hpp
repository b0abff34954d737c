// Choosing the number of experts: fit a list of shapes (usually k = 1..K of
// one gate) with FitMoe and tabulate log-likelihood, parameter count, AIC,
// BIC and ICL (flexmix's stepFlexmix, mclust's mclustBIC).
//
// A shape that cannot be fitted does not end the sweep: its row says why
// and the other rows are still fitted, reported and written. Reasons:
//   - the shape is invalid (e.g. top-K with K > k);
//   - n is smaller than NumModelParameters(shape): the likelihood is then
//     unbounded or the fit not identified ("n = 5 < 7 free parameters");
//   - the estimator rejected the input (its message);
//   - no start gave a usable fit (the row keeps the fit with its termination).
// Rows with a usable fit take part in Best(); the others never do.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/fit_moe.hpp"
#include "moelab/model/model_shape.hpp"

namespace moelab {

enum class SelectionCriterion { kAic, kBic, kIcl };

const char* ToString(SelectionCriterion criterion);  // "aic", "bic", "icl"

struct ModelSelectionRow {
  ModelShape shape;
  bool fitted = false;      // FitMoe ran (fit holds its result)
  std::string skip_reason;  // why the shape was not fitted, or why its fit is unusable
  MoeFit fit;

  // Fitted and usable: the only rows a criterion may select.
  bool usable() const { return fitted && fit.IsUsable(); }
  // The criterion's value (NaN when not usable).
  double Criterion(SelectionCriterion criterion) const;
};

struct ModelSelectionTable {
  std::vector<ModelSelectionRow> rows;  // in the order of the shapes asked for

  // Index of the usable row with the smallest criterion (ties: the earlier
  // row), optionally among rows of one gate kind; nullopt when none.
  std::optional<std::size_t> Best(SelectionCriterion criterion,
                                  std::optional<GateKind> gate = std::nullopt) const;
};

// Fits every shape with FitMoe(data, shape, options). Throws
// std::invalid_argument only for invalid options or data (NaN/Inf) or an
// empty list; a shape's own trouble goes into its row.
ModelSelectionTable SelectNumExperts(const Dataset& data, const std::vector<ModelShape>& shapes,
                                     const FitOptions& options);

// The shapes `shape` with num_experts = each entry of `num_experts` (and
// dim = data.dim()).
ModelSelectionTable SelectNumExperts(const Dataset& data, const ModelShape& shape,
                                     const std::vector<Index>& num_experts,
                                     const FitOptions& options);

}  // namespace moelab
