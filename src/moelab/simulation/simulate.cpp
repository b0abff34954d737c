#include "moelab/simulation/simulate.hpp"

#include <cmath>

#include "moelab/core/check.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

Dataset Simulate(const MoeParams& truth, const CovariateDesign& design, Index n, Rng& rng) {
  truth.Validate();
  CheckSize("Simulate", "design.dim", design.dim, truth.dim());
  return SimulateAt(truth, DrawCovariates(design, n, rng), rng);
}

Dataset SimulateAt(const MoeParams& truth, const Matrix& X, Rng& rng) {
  truth.Validate();
  CheckSize("SimulateAt", "X columns (d)", X.cols(), truth.dim());
  CheckAllFinite("SimulateAt", "X", X);
  const Index n = X.rows();
  const Matrix log_weights = GateLogWeights(truth.gate, X);
  const Matrix means = ExpertMeans(truth.experts, X);
  Dataset data;
  data.X = X;
  data.y.resize(n);
  IntVector labels(n);
  for (Index r = 0; r < n; ++r) {
    const Index z = CategoricalFromLog(rng, log_weights.row(r).transpose());
    labels[r] = static_cast<int>(z);
    data.y[r] = means(r, z) + std::sqrt(truth.experts.variance[z]) * StandardNormal(rng);
  }
  data.labels = std::move(labels);
  return data;
}

}  // namespace moelab
