#include "moelab/estimators/select_num_experts.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "moelab/core/check.hpp"

namespace moelab {

const char* ToString(SelectionCriterion criterion) {
  switch (criterion) {
    case SelectionCriterion::kAic: return "aic";
    case SelectionCriterion::kBic: return "bic";
    case SelectionCriterion::kIcl: return "icl";
  }
  return "?";
}

double ModelSelectionRow::Criterion(SelectionCriterion criterion) const {
  if (!usable()) return std::numeric_limits<double>::quiet_NaN();
  switch (criterion) {
    case SelectionCriterion::kAic: return fit.criteria.aic;
    case SelectionCriterion::kBic: return fit.criteria.bic;
    case SelectionCriterion::kIcl: return fit.criteria.icl;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

std::optional<std::size_t> ModelSelectionTable::Best(SelectionCriterion criterion,
                                                     std::optional<GateKind> gate) const {
  std::optional<std::size_t> best;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const ModelSelectionRow& row = rows[r];
    if (!row.usable() || (gate && row.shape.gate != *gate)) continue;
    const double value = row.Criterion(criterion);
    if (std::isnan(value)) continue;
    if (!best || value < rows[*best].Criterion(criterion)) best = r;
  }
  return best;
}

ModelSelectionTable SelectNumExperts(const Dataset& data, const std::vector<ModelShape>& shapes,
                                     const FitOptions& options) {
  constexpr const char* kFn = "SelectNumExperts";
  options.Validate();
  data.Validate();
  if (shapes.empty()) ThrowInvalid(kFn, "the list of shapes is empty");
  ModelSelectionTable table;
  for (const ModelShape& shape : shapes) {
    ModelSelectionRow row;
    row.shape = shape;
    try {
      shape.Validate();
      if (shape.dim != data.dim()) {
        throw std::invalid_argument("shape.dim = " + std::to_string(shape.dim) +
                                    " but the data have d = " + std::to_string(data.dim()));
      }
      const Index p = NumModelParameters(shape, options.fit_temperature);
      if (data.size() < p) {
        throw std::invalid_argument("n = " + std::to_string(data.size()) + " < " +
                                    std::to_string(p) + " free parameters");
      }
      row.fit = FitMoe(data, shape, options);
      row.fitted = true;
      if (!row.fit.IsUsable()) {
        row.skip_reason = std::string("no usable start: ") + ToString(row.fit.result.termination);
      }
    } catch (const std::invalid_argument& error) {
      row.fitted = false;
      row.skip_reason = error.what();
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

ModelSelectionTable SelectNumExperts(const Dataset& data, const ModelShape& shape,
                                     const std::vector<Index>& num_experts,
                                     const FitOptions& options) {
  std::vector<ModelShape> shapes;
  for (Index k : num_experts) {
    ModelShape s = shape;
    s.num_experts = k;
    s.dim = data.dim();
    shapes.push_back(s);
  }
  return SelectNumExperts(data, shapes, options);
}

}  // namespace moelab
