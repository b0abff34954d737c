#include "moelab/metrics/voronoi.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "moelab/core/check.hpp"

namespace moelab {

const char* ToString(VoronoiNorm norm) {
  return norm == VoronoiNorm::kL1 ? "l1" : "euclidean";
}

VoronoiNorm ParseVoronoiNorm(const std::string& name) {
  if (name == "l1") return VoronoiNorm::kL1;
  if (name == "euclidean") return VoronoiNorm::kEuclidean;
  throw std::invalid_argument("unknown Voronoi norm '" + name + "' (valid: l1, euclidean)");
}

double NormOf(VoronoiNorm norm, const Eigen::Ref<const Vector>& difference) {
  return norm == VoronoiNorm::kL1 ? difference.lpNorm<1>() : difference.norm();
}

std::vector<Index> VoronoiCells::sizes() const {
  std::vector<Index> out(members.size());
  for (std::size_t j = 0; j < members.size(); ++j) out[j] = static_cast<Index>(members[j].size());
  return out;
}

Index VoronoiCells::num_empty() const {
  return std::count_if(members.begin(), members.end(),
                       [](const std::vector<Index>& m) { return m.empty(); });
}

Index VoronoiCells::largest() const {
  Index out = 0;
  for (const auto& m : members) out = std::max(out, static_cast<Index>(m.size()));
  return out;
}

std::string VoronoiCells::ToString() const {
  std::ostringstream os;
  os << "cells:";
  for (Index j = 0; j < num_true(); ++j) {
    os << (j == 0 ? " " : ", ") << "A" << j << " = {";
    for (std::size_t t = 0; t < members[j].size(); ++t) os << (t ? ", " : "") << members[j][t];
    os << "} (" << members[j].size() << ")";
  }
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const VoronoiCells& cells) {
  return os << cells.ToString();
}

VoronoiCells AssignVoronoiCells(const Eigen::Ref<const Matrix>& fitted_atoms,
                                const Eigen::Ref<const Matrix>& true_atoms, VoronoiNorm norm) {
  constexpr const char* kFn = "AssignVoronoiCells";
  if (fitted_atoms.rows() < 1) ThrowInvalid(kFn, "no fitted atoms");
  if (true_atoms.rows() < 1) ThrowInvalid(kFn, "no true atoms");
  CheckSize(kFn, "fitted atom length", fitted_atoms.cols(), true_atoms.cols());
  CheckAllFinite(kFn, "fitted_atoms", fitted_atoms);
  CheckAllFinite(kFn, "true_atoms", true_atoms);
  const Index k = fitted_atoms.rows();
  const Index k_true = true_atoms.rows();
  VoronoiCells cells;
  cells.assignment.resize(k);
  cells.members.assign(k_true, {});
  cells.distance.resize(k, k_true);
  for (Index i = 0; i < k; ++i) {
    Index best = 0;
    for (Index j = 0; j < k_true; ++j) {
      cells.distance(i, j) = NormOf(norm, (fitted_atoms.row(i) - true_atoms.row(j)).transpose());
      // Strict '<': an exact tie keeps the lower true index.
      if (cells.distance(i, j) < cells.distance(i, best)) best = j;
    }
    cells.assignment[i] = static_cast<int>(best);
    cells.members[best].push_back(i);
  }
  return cells;
}

}  // namespace moelab
