#include "moelab/routing/best_fixed_bias.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "moelab/core/check.hpp"
#include "moelab/routing/dual_objective.hpp"
#include "moelab/routing/routers.hpp"

namespace moelab {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

class ExpertGraph {
 public:
  ExpertGraph(const Eigen::Ref<const Matrix>& scores, int K)
      : n_(scores.rows()), e_(static_cast<int>(scores.cols())), s_(n_ * e_), in_(n_ * e_, 0),
        heaps_(static_cast<std::size_t>(e_) * e_) {
    for (Index t = 0; t < n_; ++t)
      for (int j = 0; j < e_; ++j) s_[t * e_ + j] = scores(t, j);
    std::vector<int> top(K);
    for (Index t = 0; t < n_; ++t) {
      TopKOfRow(&s_[t * e_], 0, e_, K, top.data());
      for (int j : top) in_[t * e_ + j] = 1;
    }
    for (Index t = 0; t < n_; ++t) {
      for (int j = 0; j < e_; ++j) {
        if (!in_[t * e_ + j]) continue;
        for (int k = 0; k < e_; ++k)
          if (!in_[t * e_ + k]) heaps_[j * e_ + k].push_back(static_cast<std::int32_t>(t));
      }
    }
    for (int j = 0; j < e_; ++j)
      for (int k = 0; k < e_; ++k) {
        auto& h = heaps_[j * e_ + k];
        std::make_heap(h.begin(), h.end(), Greater(this, j, k));
      }
  }

  // Cheapest move j -> k: its cost and token, or cost = inf when none.
  double Cheapest(int j, int k, std::int32_t* token) {
    auto& h = heaps_[j * e_ + k];
    const Greater cmp(this, j, k);
    while (!h.empty()) {
      const std::int32_t t = h.front();
      if (in_[t * e_ + j] && !in_[t * e_ + k]) {
        *token = t;
        return s_[t * e_ + j] - s_[t * e_ + k];
      }
      std::pop_heap(h.begin(), h.end(), cmp);
      h.pop_back();
    }
    return kInf;
  }

  // Token t gives up j and takes k; push its new valid pairs.
  void Move(std::int32_t t, int j, int k) {
    in_[t * e_ + j] = 0;
    in_[t * e_ + k] = 1;
    for (int m = 0; m < e_; ++m) {
      if (!in_[t * e_ + m]) Push(k, m, t);  // (k, m): t holds k, not m
      else Push(m, j, t);                   // (m, j): t holds m, not j
    }
  }

  bool Holds(Index t, int j) const { return in_[t * e_ + j] != 0; }
  double Score(Index t, int j) const { return s_[t * e_ + j]; }

 private:
  struct Greater {
    Greater(const ExpertGraph* g, int j, int k) : g(g), j(j), k(k) {}
    bool operator()(std::int32_t a, std::int32_t b) const {
      const auto e = g->e_;
      return g->s_[a * e + j] - g->s_[a * e + k] > g->s_[b * e + j] - g->s_[b * e + k];
    }
    const ExpertGraph* g;
    int j, k;
  };
  void Push(int j, int k, std::int32_t t) {
    auto& h = heaps_[j * e_ + k];
    h.push_back(t);
    std::push_heap(h.begin(), h.end(), Greater(this, j, k));
  }

  Index n_;
  int e_;
  std::vector<double> s_;
  std::vector<char> in_;
  std::vector<std::vector<std::int32_t>> heaps_;
};

}  // namespace

BestFixedBiasResult SolveBestFixedBias(const Eigen::Ref<const Matrix>& scores, int K) {
  constexpr const char* kFn = "SolveBestFixedBias";
  const Index n = scores.rows();
  const int e = static_cast<int>(scores.cols());
  if (e < 2) ThrowInvalid(kFn, "need at least 2 experts");
  if (K < 1 || K >= e) ThrowInvalid(kFn, "K = " + std::to_string(K) + " must be in [1, E)");
  if (n < 1 || (n * K) % e != 0) {
    ThrowInvalid(kFn, "N K = " + std::to_string(n * K) + " must be a positive multiple of E = " +
                          std::to_string(e));
  }
  if (n > std::numeric_limits<std::int32_t>::max()) ThrowInvalid(kFn, "too many tokens");
  CheckAllFinite(kFn, "scores", scores);
  const double capacity = static_cast<double>(n * K / e);

  ExpertGraph graph(scores, K);
  Vector loads = Vector::Zero(e);
  for (Index t = 0; t < n; ++t)
    for (int j = 0; j < e; ++j) loads[j] += graph.Holds(t, j) ? 1.0 : 0.0;

  // Potentials of the experts (pi), the super-source (pi_s) and super-sink (pi_t).
  std::vector<double> pi(e, 0.0), dist(e);
  double pi_s = 0.0, pi_t = 0.0;
  std::vector<int> pred(e);
  std::vector<std::int32_t> pred_token(e);
  std::vector<char> done(e);
  BestFixedBiasResult result;
  while (true) {
    bool any_excess = false;
    for (int j = 0; j < e; ++j) {
      const bool excess = loads[j] > capacity;
      any_excess = any_excess || excess;
      dist[j] = excess ? std::max(0.0, pi_s - pi[j]) : kInf;
      pred[j] = -1;
      done[j] = 0;
    }
    if (!any_excess) break;
    double best_sink = kInf;
    int sink = -1;
    for (int iter = 0; iter < e; ++iter) {
      int u = -1;
      for (int j = 0; j < e; ++j)
        if (!done[j] && (u < 0 || dist[j] < dist[u])) u = j;
      if (u < 0 || dist[u] >= best_sink || dist[u] == kInf) break;
      done[u] = 1;
      if (loads[u] < capacity) {
        const double to_sink = dist[u] + std::max(0.0, pi[u] - pi_t);
        if (to_sink < best_sink) {
          best_sink = to_sink;
          sink = u;
        }
      }
      for (int v = 0; v < e; ++v) {
        if (done[v] || v == u) continue;
        std::int32_t token;
        const double w = graph.Cheapest(u, v, &token);
        if (w == kInf) continue;
        // Round-off can make a reduced cost slightly negative; clamp.
        const double candidate = dist[u] + std::max(0.0, w + pi[u] - pi[v]);
        if (candidate < dist[v]) {
          dist[v] = candidate;
          pred[v] = u;
          pred_token[v] = token;
        }
      }
    }
    if (sink < 0) ThrowInvalid(kFn, "internal error: no augmenting path (infeasible flow)");
    for (int v = sink; pred[v] >= 0; v = pred[v]) {
      graph.Move(pred_token[v], pred[v], v);
    }
    int source = sink;
    while (pred[source] >= 0) source = pred[source];
    loads[source] -= 1.0;
    loads[sink] += 1.0;
    for (int j = 0; j < e; ++j) pi[j] += std::min(dist[j], best_sink);
    pi_t += best_sink;
    ++result.augmentations;
  }

  Vector p(e);
  for (int j = 0; j < e; ++j) p[j] = -pi[j];
  result.bias = CentreBias(p);
  double primal = 0.0;
  for (Index t = 0; t < n; ++t)
    for (int j = 0; j < e; ++j)
      if (graph.Holds(t, j)) primal += graph.Score(t, j);
  result.primal_value = primal;
  result.dual_value = DualObjective(scores, result.bias, K);
  result.gap = result.dual_value - result.primal_value;
  result.loads = loads;
  return result;
}

}  // namespace moelab
