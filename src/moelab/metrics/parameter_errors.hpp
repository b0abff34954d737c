// Per-parameter errors of a fit, cell by cell: the quantities whose rates the
// table of docs/theory.md §4.1 predicts, so studies can plot the slow
// n^-1/8 ... n^-1/4 rates of over-fitted cells directly instead of only D2.
//
//   per fitted atom i in cell A_j:  ||Δbeta1_ij||, ||Δa_ij||, |Δb_ij|, |Δnu_ij|
//                                   (and |Δtau| when tau is an atom coordinate)
//   per true atom j:                |sum_{i in A_j} exp(w_i) - exp(w*_j)|
//
// Expected rates (docs/theory.md §4.1, up to log factors): weights n^-1/2 everywhere; in
// singleton cells every parameter n^-1/2; in cells of m >= 2 atoms beta1 and
// b at n^-1/(2 rbar(m)) and a, nu at n^-1/rbar(m) (n^-1/8 and n^-1/4 for
// m = 2). The differences are taken in the gauge the Voronoi loss used
// (after its shift, see voronoi_loss.hpp), with the loss's norm, so they are
// consistent with the value of D1/D2 reported alongside.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "moelab/metrics/mixing_measure.hpp"
#include "moelab/metrics/voronoi.hpp"

namespace moelab {

struct AtomError {
  Index atom = 0;        // fitted atom i
  Index cell = 0;        // true atom j it belongs to
  Index cell_size = 0;   // |A_j|
  double weight = 0.0;   // exp(w_i) in the loss's gauge
  double gate_slope = 0.0;    // ||Δbeta1|| (beta1/tau for ratio temperature gates)
  double expert_slope = 0.0;  // ||Δa||
  double intercept = 0.0;     // |Δb|
  double variance = 0.0;      // |Δnu| (variance)
  double temperature = 0.0;   // |Δtau|; 0 when tau is not an atom coordinate
};

struct CellError {
  Index cell = 0;
  Index size = 0;              // |A_j| (0: empty cell)
  double fitted_weight = 0.0;  // sum_{i in A_j} exp(w_i)
  double true_weight = 0.0;    // exp(w*_j)
  double weight_error = 0.0;   // |fitted_weight - true_weight|
};

// Maxima a rate study can write as CSV columns. A maximum over an empty group
// is 0; the counts say whether the group was empty.
struct ParameterErrorSummary {
  double weight_error_max = 0.0;
  double weight_error_sum = 0.0;  // the weight term of D1/D2
  double single_gate_slope_max = 0.0, single_expert_slope_max = 0.0,
         single_intercept_max = 0.0, single_variance_max = 0.0,
         single_temperature_max = 0.0;
  double multi_gate_slope_max = 0.0, multi_expert_slope_max = 0.0,
         multi_intercept_max = 0.0, multi_variance_max = 0.0,
         multi_temperature_max = 0.0;
  Index num_single_atoms = 0;  // atoms in singleton cells
  Index num_multi_atoms = 0;   // atoms in cells of 2 or more
  Index num_empty_cells = 0;

  // (column name, value) in a fixed order: weight_err_max, weight_err_sum,
  // single_beta1_max, single_a_max, single_b_max, single_var_max,
  // single_tau_max, multi_beta1_max, ..., multi_tau_max, n_single_atoms,
  // n_multi_atoms, n_empty_cells.
  std::vector<std::pair<std::string, double>> Columns() const;
};

struct ParameterErrors {
  std::vector<AtomError> atoms;  // one per fitted atom, in fitted order
  std::vector<CellError> cells;  // one per true atom
  ParameterErrorSummary summary;

  // A small table, one line per atom and per cell.
  std::string ToString() const;
};

// Errors of `fitted` against `truth` for the given cells (both measures
// already in the same gauge). Throws std::invalid_argument when the measures
// or the cells disagree in size.
ParameterErrors ComputeParameterErrors(const MixingMeasure& fitted, const MixingMeasure& truth,
                                       const VoronoiCells& cells,
                                       VoronoiNorm norm = VoronoiNorm::kL1);

}  // namespace moelab
