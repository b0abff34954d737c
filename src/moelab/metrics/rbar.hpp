// The exponent rbar(m) of the over-fitted Voronoi loss D2 (docs/theory.md §3.4):
// the smallest r for which the polynomial system of [Demyst] Lemma 1 has no
// non-trivial solution with m unknowns per block. Known values:
//
//   rbar(2) = 4,  rbar(3) = 6      ([Demyst] Lemma 1; the official code's
//                                   table `rbar = [0, 1, 4, 6]`)
//
// For m >= 4 the value is open (only a lower bound >= 7 is known), so moelab
// refuses to guess: a cell of 4 or more atoms needs an explicit override.
// The exponent only matters for cells of two or more atoms; singleton cells
// use linear terms.
#pragma once

#include <map>
#include <optional>

#include "moelab/core/types.hpp"

namespace moelab {

// Caller-supplied rbar values by cell size (they also replace the known ones).
using RbarOverrides = std::map<Index, double>;

// rbar(cell_size) from `overrides`, else the known table, else nullopt.
// Throws std::invalid_argument for cell_size < 2.
std::optional<double> LookupRbar(Index cell_size, const RbarOverrides& overrides = {});

// As LookupRbar, but throws std::invalid_argument naming the cell size and
// the option to set (VoronoiLossOptions::rbar_overrides) when unknown.
double Rbar(Index cell_size, const RbarOverrides& overrides = {});

// Throws std::invalid_argument unless every key is >= 2 and every value is
// finite and >= 1.
void ValidateRbarOverrides(const RbarOverrides& overrides, const char* field);

}  // namespace moelab
