#include "moelab/rates/sample_grid.hpp"

#include <cmath>

#include "moelab/core/check.hpp"

namespace moelab {

std::vector<Index> LogSpacedGrid(Index n_min, Index n_max, int count) {
  if (n_min < 1) ThrowInvalid("LogSpacedGrid", "n_min must be >= 1");
  if (n_max < n_min) ThrowInvalid("LogSpacedGrid", "n_max must be >= n_min");
  if (count < 1) ThrowInvalid("LogSpacedGrid", "count must be >= 1");
  if (count == 1 && n_min != n_max)
    ThrowInvalid("LogSpacedGrid", "count 1 needs n_min == n_max");
  std::vector<Index> grid;
  const double lo = std::log(static_cast<double>(n_min));
  const double hi = std::log(static_cast<double>(n_max));
  for (int g = 0; g < count; ++g) {
    Index n = g == count - 1 ? n_max
                             : static_cast<Index>(std::llround(
                                   std::exp(lo + (hi - lo) * g / std::max(count - 1, 1))));
    n = std::max(n, n_min);
    if (grid.empty() || n > grid.back()) grid.push_back(n);
  }
  return grid;
}

void ValidateSampleGrid(const std::vector<Index>& grid, Index min_n, const std::string& what) {
  if (grid.empty()) ThrowInvalid(what, "the sample-size grid is empty");
  for (std::size_t g = 0; g < grid.size(); ++g) {
    if (grid[g] < min_n) {
      ThrowInvalid(what, "sample size n = " + std::to_string(grid[g]) +
                             " is below the minimum " + std::to_string(min_n) +
                             " (more data than free parameters is needed)");
    }
    if (g > 0 && grid[g] <= grid[g - 1]) {
      ThrowInvalid(what, "the sample-size grid must be strictly increasing (entry " +
                             std::to_string(g) + ": " + std::to_string(grid[g]) + " after " +
                             std::to_string(grid[g - 1]) + ")");
    }
  }
}

}  // namespace moelab
