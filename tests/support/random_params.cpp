#include "support/random_params.hpp"

#include <algorithm>

namespace moelab::testing {

Matrix RandomCovariates(Index n, Index d, Rng& rng, double lower, double upper) {
  Matrix X(n, d);
  for (Index r = 0; r < n; ++r)
    for (Index c = 0; c < d; ++c) X(r, c) = UniformReal(rng, lower, upper);
  return X;
}

Dataset RandomDataset(Index n, Index d, Rng& rng, double y_range) {
  Dataset data;
  data.X = RandomCovariates(n, d, rng);
  data.y.resize(n);
  for (Index r = 0; r < n; ++r) data.y[r] = UniformReal(rng, -y_range, y_range);
  return data;
}

GateParams RandomGate(GateKind kind, Index k, Index d, Rng& rng, int top_k,
                      TopKRanking ranking, Activation activation) {
  GateParams gate;
  gate.kind = kind;
  gate.bias = RandomCovariates(k, 1, rng).col(0);
  gate.slope = RandomCovariates(k, d, rng);
  if (gate.uses_temperature()) gate.temperature = UniformReal(rng, 0.5, 2.0);
  if (kind == GateKind::kTopK) {
    gate.top_k = top_k > 0 ? top_k : static_cast<int>(std::max<Index>(1, k - 1));
  }
  gate.ranking = ranking;
  gate.activation = activation;
  return gate;
}

ExpertParams RandomExperts(Index k, Index d, Rng& rng) {
  ExpertParams experts;
  experts.slope = RandomCovariates(k, d, rng);
  experts.intercept = RandomCovariates(k, 1, rng).col(0);
  experts.variance = RandomCovariates(k, 1, rng, 0.2, 1.5).col(0);
  return experts;
}

MoeParams RandomMoe(const GateParams& gate, Rng& rng) {
  MoeParams params;
  params.gate = gate;
  params.experts = RandomExperts(gate.num_experts(), gate.dim(), rng);
  return params;
}

std::vector<GateParams> EveryGate(Index k, Index d, Rng& rng) {
  return {RandomGate(GateKind::kSoftmax, k, d, rng),
          RandomGate(GateKind::kTopK, k, d, rng, 0, TopKRanking::kSlopeOnly),
          RandomGate(GateKind::kTopK, k, d, rng, 0, TopKRanking::kFullLogit),
          RandomGate(GateKind::kTemperature, k, d, rng),
          RandomGate(GateKind::kActivation, k, d, rng, 0, TopKRanking::kSlopeOnly, Activation::kTanh),
          RandomGate(GateKind::kActivation, k, d, rng, 0, TopKRanking::kSlopeOnly, Activation::kSigmoid),
          RandomGate(GateKind::kActivation, k, d, rng, 0, TopKRanking::kSlopeOnly, Activation::kIdentity)};
}

std::string Describe(const GateParams& gate) {
  std::string label = ToString(gate.kind);
  if (gate.kind == GateKind::kTopK) {
    label += std::string("/") + ToString(gate.ranking) + " K=" + std::to_string(gate.top_k);
  }
  if (gate.kind == GateKind::kActivation) label += std::string("/") + ToString(gate.activation);
  return label;
}

}  // namespace moelab::testing
