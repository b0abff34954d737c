// Speed of one load-balancing routing step alone (issue 17): scores given,
// top-K selection on s - p, per-expert loads, and the ALF-LB price update.
//
//   cmake --build build --target routing_step_benchmark
//   nice build/bin/routing_step_benchmark --benchmark_repetitions=3 --benchmark_counters_tabular=true
//
// Shape: E = 64 experts, K = 8, B = 4096 tokens per step (the large
// configuration of docs/load_balancing.md), sigmoid scores of N(0, 1) logits
// and small random prices (seeded), so the selection is not trivially the
// same for every token. Counter ns_per_token = CPU time per step / B (CPU,
// not wall: the build machine is shared). Target: <= 200 ns per token.
//
//   RoutingStep/Library           Route() + CountLoads() + Balancer::EndStep(),
//                                 the calls RunLoadBalance makes per step
//   RoutingStep/TopKRow           TopKOfRow() on s - p per token plus the load
//                                 count, without RoutingResult bookkeeping (the
//                                 kernel alone; top_k_row.hpp's fast path)
//   RoutingStep/TopKRowInsertion  the same with the insertion path alone (the
//                                 library's top-K before the fast path)
//   RoutingStep/Baseline          the routing step as it was before this
//                                 benchmark existed (kept for comparison): per
//                                 token a strided read of the column-major
//                                 scores and an insertion top-K that reloads
//                                 the K-th value through its index for every
//                                 candidate
#include <benchmark/benchmark.h>

#include <vector>

#include "moelab/core/rng.hpp"
#include "moelab/routing/balancers.hpp"
#include "moelab/routing/routers.hpp"
#include "moelab/routing/score_function.hpp"
#include "moelab/routing/top_k_row.hpp"

namespace moelab {
namespace {

constexpr Index kExperts = 64;
constexpr int kTopK = 8;
constexpr Index kBatch = 4096;

struct Inputs {
  Matrix scores;
  Vector bias;
};

const Inputs& GetInputs() {
  static const Inputs inputs = [] {
    Rng rng(DeriveSeed(17, 0, 0));
    Matrix logits(kBatch, kExperts);
    for (Index t = 0; t < kBatch; ++t)
      for (Index j = 0; j < kExperts; ++j) logits(t, j) = StandardNormal(rng);
    Inputs in;
    in.scores = ApplyScoreFunction(ScoreFunction::kSigmoid, logits);
    in.bias = Vector(kExperts);
    for (Index j = 0; j < kExperts; ++j) in.bias[j] = 0.01 * StandardNormal(rng);
    return in;
  }();
  return inputs;
}

// The pre-benchmark top-K (routers.cpp before the change), verbatim.
void BaselineTopKOfRow(const double* v, int lo, int hi, int K, int* out) {
  int filled = 0;
  for (int j = lo; j < hi; ++j) {
    const double x = v[j];
    if (filled == K && !(x > v[out[K - 1]])) continue;
    int pos = filled < K ? filled++ : K - 1;
    while (pos > 0 && x > v[out[pos - 1]]) {
      out[pos] = out[pos - 1];
      --pos;
    }
    out[pos] = j;
  }
}

void SetCounters(benchmark::State& state) {
  state.counters["ns_per_token"] = benchmark::Counter(
      static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_RoutingStepLibrary(benchmark::State& state) {
  const Inputs& in = GetInputs();
  RouterOptions router;
  router.top_k = kTopK;
  BalancerOptions o;
  o.kind = BalancerKind::kDualSubgradient;
  Balancer balancer(o, kExperts, kExperts);
  Vector bias = in.bias;
  for (auto _ : state) {
    const RoutingResult r = Route(router, in.scores, bias + balancer.bias());
    const Vector loads = CountLoads(r, kExperts, 0, kBatch);
    balancer.EndStep(loads, nullptr);
    benchmark::DoNotOptimize(balancer.bias().data());
  }
  SetCounters(state);
}
BENCHMARK(BM_RoutingStepLibrary)->Name("RoutingStep/Library")->Unit(benchmark::kMicrosecond);

// The top-K kernel on contiguous rows plus the load count; `kernel` is the
// library's TopKOfRow or its insertion path alone.
void RunTopKRow(benchmark::State& state, void (*kernel)(const double*, int, int, int, int*)) {
  const Inputs& in = GetInputs();
  // Row-major copy: a token's E scores contiguous, as a router produces them.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> s = in.scores;
  BalancerOptions o;
  o.kind = BalancerKind::kDualSubgradient;
  Balancer balancer(o, kExperts, kExperts);
  std::vector<double> v(kExperts);
  std::vector<int> selected(static_cast<std::size_t>(kBatch * kTopK));
  Vector loads(kExperts);
  for (auto _ : state) {
    const Vector p = in.bias + balancer.bias();
    loads.setZero();
    for (Index t = 0; t < kBatch; ++t) {
      const double* row = s.data() + t * kExperts;
      for (Index j = 0; j < kExperts; ++j) v[j] = row[j] - p[j];
      int* out = selected.data() + t * kTopK;
      kernel(v.data(), 0, static_cast<int>(kExperts), kTopK, out);
      for (int i = 0; i < kTopK; ++i) loads[out[i]] += 1.0;
    }
    balancer.EndStep(loads, nullptr);
    benchmark::DoNotOptimize(balancer.bias().data());
  }
  SetCounters(state);
}

void BM_RoutingStepTopKRow(benchmark::State& state) { RunTopKRow(state, TopKOfRow); }
BENCHMARK(BM_RoutingStepTopKRow)->Name("RoutingStep/TopKRow")->Unit(benchmark::kMicrosecond);

void BM_RoutingStepTopKRowInsertion(benchmark::State& state) { RunTopKRow(state, detail::TopKOfRowInsertion); }
BENCHMARK(BM_RoutingStepTopKRowInsertion)->Name("RoutingStep/TopKRowInsertion")->Unit(benchmark::kMicrosecond);

void BM_RoutingStepBaseline(benchmark::State& state) {
  const Inputs& in = GetInputs();
  BalancerOptions o;
  o.kind = BalancerKind::kDualSubgradient;
  Balancer balancer(o, kExperts, kExperts);
  std::vector<double> v(kExperts);
  std::vector<int> selected(static_cast<std::size_t>(kBatch * kTopK));
  for (auto _ : state) {
    const Vector p = in.bias + balancer.bias();
    for (Index t = 0; t < kBatch; ++t) {
      for (Index j = 0; j < kExperts; ++j) v[j] = in.scores(t, j) - p[j];
      BaselineTopKOfRow(v.data(), 0, static_cast<int>(kExperts), kTopK, selected.data() + t * kTopK);
    }
    Vector loads = Vector::Zero(kExperts);
    for (int j : selected) loads[j] += 1.0;
    balancer.EndStep(loads, nullptr);
    benchmark::DoNotOptimize(balancer.bias().data());
  }
  SetCounters(state);
}
BENCHMARK(BM_RoutingStepBaseline)->Name("RoutingStep/Baseline")->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace moelab
