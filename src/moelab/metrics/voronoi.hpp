// Voronoi cells of a fitted mixing measure around the true atoms
// (docs/theory.md §3.1):
//
//   A_j = { i : ||theta_i - theta*_j|| < ||theta_i - theta*_l|| for l < j,
//               ||theta_i - theta*_j|| <= ||theta_i - theta*_l|| for l > j },
//
// i.e. fitted atom i joins the true atom at the smallest distance, ties going
// to the lower true index. The argmin is strict and deterministic, so every
// fitted atom lies in exactly one cell (the [Demyst] code appends a tied atom
// to two cells). Cells may be empty. theta excludes the gate intercept beta0
// (it enters only through the weight exp(beta0)); see mixing_measure.hpp for
// what theta holds for each gate.
//
// Norm: kL1 (default) is the [Demyst] code's distance, a plain sum of absolute
// coordinate differences; kEuclidean is the 2-norm of the whole difference.
// The choice changes constants, not rates (docs/theory.md §3.1).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "moelab/core/types.hpp"

namespace moelab {

enum class VoronoiNorm { kL1, kEuclidean };

const char* ToString(VoronoiNorm norm);
VoronoiNorm ParseVoronoiNorm(const std::string& name);  // "l1", "euclidean"

// The norm of a difference vector.
double NormOf(VoronoiNorm norm, const Eigen::Ref<const Vector>& difference);

struct VoronoiCells {
  IntVector assignment;                    // fitted atom i -> its true atom j
  std::vector<std::vector<Index>> members;  // true atom j -> fitted atoms, increasing
  Matrix distance;                          // k x k*, ||theta_i - theta*_j||

  Index num_fitted() const { return assignment.size(); }
  Index num_true() const { return static_cast<Index>(members.size()); }
  Index size(Index j) const { return static_cast<Index>(members[j].size()); }
  std::vector<Index> sizes() const;
  Index num_empty() const;
  Index largest() const;  // size of the largest cell

  // "cells: A0 = {0} (1), A1 = {1, 2} (2), A2 = {} (0)"
  std::string ToString() const;
};

std::ostream& operator<<(std::ostream& os, const VoronoiCells& cells);

// Cells of the rows of `fitted_atoms` (k x p) around the rows of `true_atoms`
// (k* x p). Throws std::invalid_argument when the column counts differ, either
// set is empty, or an entry is not finite.
VoronoiCells AssignVoronoiCells(const Eigen::Ref<const Matrix>& fitted_atoms,
                                const Eigen::Ref<const Matrix>& true_atoms,
                                VoronoiNorm norm = VoronoiNorm::kL1);

}  // namespace moelab
