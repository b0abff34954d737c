// Pictures of a fitted mixture of experts with one covariate (d = 1),
// through the shared gnuplot path (io/gnuplot_plot.hpp):
//
//   <stem>_data.png  the data coloured by MAP label, each expert's mean line
//                    a_i x + b_i drawn where its gate weight is at least
//                    kExpertLineMinWeight (elsewhere it does not describe
//                    the data), and the conditional mean E[y | x] dashed;
//   <stem>_gate.png  the gate probabilities g_i(x) against x.
//
// Each comes with its .gp script and .dat data (redraw with gnuplot).
#pragma once

#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/io/fit_report.hpp"
#include "moelab/io/gnuplot_plot.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

inline constexpr double kExpertLineMinWeight = 0.05;

// Throws std::invalid_argument unless data.dim() == params.dim() == 1.
std::vector<PlotOutput> PlotFit1d(const Dataset& data, const MoeParams& params,
                                  const VariableNames& names, const std::string& stem);

}  // namespace moelab
