#include "moelab/metrics/rbar.hpp"

#include <cmath>
#include <string>

#include "moelab/core/check.hpp"

namespace moelab {

std::optional<double> LookupRbar(Index cell_size, const RbarOverrides& overrides) {
  if (cell_size < 2) {
    ThrowInvalid("LookupRbar", "rbar is defined for cells of 2 or more atoms, got " +
                                   std::to_string(cell_size));
  }
  if (auto it = overrides.find(cell_size); it != overrides.end()) return it->second;
  if (cell_size == 2) return 4.0;
  if (cell_size == 3) return 6.0;
  return std::nullopt;
}

double Rbar(Index cell_size, const RbarOverrides& overrides) {
  const std::optional<double> r = LookupRbar(cell_size, overrides);
  if (!r) {
    ThrowInvalid("Rbar", "a Voronoi cell holds " + std::to_string(cell_size) +
                             " fitted atoms, but rbar is known only for 2 and 3 atoms "
                             "(docs/theory.md §3.4); set VoronoiLossOptions::rbar_overrides[" +
                             std::to_string(cell_size) + "] to choose an exponent");
  }
  return *r;
}

void ValidateRbarOverrides(const RbarOverrides& overrides, const char* field) {
  for (const auto& [size, value] : overrides) {
    if (size < 2) {
      ThrowInvalid(field, "key " + std::to_string(size) + " must be a cell size >= 2");
    }
    if (!std::isfinite(value) || value < 1.0) {
      ThrowInvalid(field, "rbar(" + std::to_string(size) + ") = " + std::to_string(value) +
                              " must be finite and >= 1");
    }
  }
}

}  // namespace moelab
