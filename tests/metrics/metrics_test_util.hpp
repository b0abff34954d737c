// Small builders shared by the metrics tests.
#pragma once

#include <cmath>
#include <vector>

#include "moelab/model/moe_params.hpp"

namespace moelab::testing {

inline Vector V(std::initializer_list<double> values) {
  Vector v(static_cast<Index>(values.size()));
  Index i = 0;
  for (double x : values) v[i++] = x;
  return v;
}

// A d = 1 model from per-expert lists (gate bias, gate slope, expert slope a,
// intercept b, variance).
inline MoeParams Moe1d(std::initializer_list<double> beta0, std::initializer_list<double> beta1,
                       std::initializer_list<double> a, std::initializer_list<double> b,
                       std::initializer_list<double> variance,
                       GateKind kind = GateKind::kSoftmax) {
  MoeParams p;
  p.gate.kind = kind;
  p.gate.bias = V(beta0);
  p.gate.slope = V(beta1);
  p.experts.slope = V(a);
  p.experts.intercept = V(b);
  p.experts.variance = V(variance);
  return p;
}

// `params` with its (non-reference, i < k - 1) expert `i` split into two identical atoms that share the
// weight equally (the density is unchanged for dense gates).
inline MoeParams SplitAtom(const MoeParams& params, Index i) {
  MoeParams out = params;
  const Index k = params.num_experts();
  auto grow = [&](auto& m) {
    auto copy = m;
    m.conservativeResize(k + 1, Eigen::NoChange);
    m.row(k) = copy.row(i);
  };
  auto grow_vec = [&](Vector& v) {
    v.conservativeResize(k + 1);
    v[k] = v[i];
  };
  grow_vec(out.gate.bias);
  // Halve the weight exp(beta0) (exp(beta0 / tau) for the temperature gate).
  const double scale = params.gate.kind == GateKind::kTemperature ? params.gate.temperature : 1.0;
  out.gate.bias[i] += scale * std::log(0.5);
  out.gate.bias[k] = out.gate.bias[i];
  grow(out.gate.slope);
  grow(out.experts.slope);
  grow_vec(out.experts.intercept);
  grow_vec(out.experts.variance);
  // Keep the reference expert last: swap the new atom with the old last one.
  std::vector<Index> perm(k + 1);
  for (Index j = 0; j <= k; ++j) perm[j] = j;
  std::swap(perm[k - 1], perm[k]);
  return PermuteExperts(out, perm);
}

}  // namespace moelab::testing
