#include "moelab/metrics/parameter_errors.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "moelab/core/check.hpp"

namespace moelab {

std::vector<std::pair<std::string, double>> ParameterErrorSummary::Columns() const {
  return {
      {"weight_err_max", weight_error_max},
      {"weight_err_sum", weight_error_sum},
      {"single_beta1_max", single_gate_slope_max},
      {"single_a_max", single_expert_slope_max},
      {"single_b_max", single_intercept_max},
      {"single_var_max", single_variance_max},
      {"single_tau_max", single_temperature_max},
      {"multi_beta1_max", multi_gate_slope_max},
      {"multi_a_max", multi_expert_slope_max},
      {"multi_b_max", multi_intercept_max},
      {"multi_var_max", multi_variance_max},
      {"multi_tau_max", multi_temperature_max},
      {"n_single_atoms", static_cast<double>(num_single_atoms)},
      {"n_multi_atoms", static_cast<double>(num_multi_atoms)},
      {"n_empty_cells", static_cast<double>(num_empty_cells)},
  };
}

std::string ParameterErrors::ToString() const {
  std::ostringstream os;
  os << std::setprecision(6);
  os << "atom cell |A| weight |dbeta1| |da| |db| |dvar| |dtau|\n";
  for (const AtomError& e : atoms) {
    os << e.atom << ' ' << e.cell << ' ' << e.cell_size << ' ' << e.weight << ' '
       << e.gate_slope << ' ' << e.expert_slope << ' ' << e.intercept << ' ' << e.variance
       << ' ' << e.temperature << '\n';
  }
  os << "cell |A| fitted_weight true_weight |error|\n";
  for (const CellError& c : cells) {
    os << c.cell << ' ' << c.size << ' ' << c.fitted_weight << ' ' << c.true_weight << ' '
       << c.weight_error << '\n';
  }
  return os.str();
}

ParameterErrors ComputeParameterErrors(const MixingMeasure& fitted, const MixingMeasure& truth,
                                       const VoronoiCells& cells, VoronoiNorm norm) {
  constexpr const char* kFn = "ComputeParameterErrors";
  CheckSize(kFn, "cells.num_fitted()", cells.num_fitted(), fitted.num_atoms());
  CheckSize(kFn, "cells.num_true()", cells.num_true(), truth.num_atoms());
  CheckSize(kFn, "fitted dimension", fitted.dim(), truth.dim());
  if (fitted.temperature.has_value() != truth.temperature.has_value()) {
    ThrowInvalid(kFn, "only one of the measures has a temperature coordinate");
  }
  ParameterErrors out;
  ParameterErrorSummary& s = out.summary;
  for (Index i = 0; i < fitted.num_atoms(); ++i) {
    const Index j = cells.assignment[i];
    AtomError e;
    e.atom = i;
    e.cell = j;
    e.cell_size = cells.size(j);
    e.weight = std::exp(fitted.log_weight[i]);
    e.gate_slope = NormOf(norm, (fitted.gate_slope.row(i) - truth.gate_slope.row(j)).transpose());
    e.expert_slope =
        NormOf(norm, (fitted.expert_slope.row(i) - truth.expert_slope.row(j)).transpose());
    e.intercept = std::abs(fitted.intercept[i] - truth.intercept[j]);
    e.variance = std::abs(fitted.variance[i] - truth.variance[j]);
    if (fitted.temperature) e.temperature = std::abs(*fitted.temperature - *truth.temperature);
    const bool single = e.cell_size == 1;
    auto bump = [](double& m, double v) { m = std::max(m, v); };
    bump(single ? s.single_gate_slope_max : s.multi_gate_slope_max, e.gate_slope);
    bump(single ? s.single_expert_slope_max : s.multi_expert_slope_max, e.expert_slope);
    bump(single ? s.single_intercept_max : s.multi_intercept_max, e.intercept);
    bump(single ? s.single_variance_max : s.multi_variance_max, e.variance);
    bump(single ? s.single_temperature_max : s.multi_temperature_max, e.temperature);
    ++(single ? s.num_single_atoms : s.num_multi_atoms);
    out.atoms.push_back(e);
  }
  for (Index j = 0; j < truth.num_atoms(); ++j) {
    CellError c;
    c.cell = j;
    c.size = cells.size(j);
    for (Index i : cells.members[j]) c.fitted_weight += std::exp(fitted.log_weight[i]);
    c.true_weight = std::exp(truth.log_weight[j]);
    c.weight_error = std::abs(c.fitted_weight - c.true_weight);
    s.weight_error_max = std::max(s.weight_error_max, c.weight_error);
    s.weight_error_sum += c.weight_error;
    if (c.size == 0) ++s.num_empty_cells;
    out.cells.push_back(c);
  }
  return out;
}

}  // namespace moelab
