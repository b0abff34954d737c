// Grids of sample sizes for rate studies.
//
// Rates are slopes on a log-log plot, so the default grid spaces n evenly in
// log n: n_g = round(n_min * (n_max / n_min)^(g / (count - 1))), g = 0..count-1.
// Rounding can merge neighbours at small n; duplicates are removed, so the
// grid may hold fewer than `count` points (it is always strictly increasing,
// starts at n_min and ends at n_max).
#pragma once

#include <string>
#include <vector>

#include "moelab/core/types.hpp"

namespace moelab {

// Throws std::invalid_argument: n_min < 1, n_max < n_min, count < 1 (count 1
// needs n_min == n_max).
std::vector<Index> LogSpacedGrid(Index n_min, Index n_max, int count);

// Checks a study grid: not empty, strictly increasing, every n >= min_n
// (min_n: the number of free parameters plus one). Throws std::invalid_argument
// whose message names `what` and the offending entry.
void ValidateSampleGrid(const std::vector<Index>& grid, Index min_n, const std::string& what);

}  // namespace moelab
