// EM speed: one iteration and full fits over n x k x d, 1 vs 2 threads, and
// the fused E-step against the straightforward GaussianMoe path.
//
//   ninja -C build bin/em_benchmark &&
//     build/bin/em_benchmark --benchmark_filter='EmIteration/1000000/3/1'
//
// Counters: ns_per_nk = seconds per (sample x expert) per iteration (shown
// with an SI prefix, e.g. "2.5n" = 2.5 ns; from wall time, as the benchmarks
// use real time for the 2-thread runs - on a loaded machine divide the CPU
// column by n k instead); iterations = EM iterations of a fit.
// Data: x ~ U[-1, 1]^d, a fixed random truth per (k, d) with separated experts
// (seeded); EM starts at the truth, so an iteration costs what it costs in a
// rate study near convergence.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <tuple>

#include "moelab/estimators/detail/em_engine.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

MoeParams RandomTruth(Index k, Index d) {
  Rng rng(DeriveSeed(7, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(d)));
  MoeParams truth;
  truth.gate.kind = GateKind::kSoftmax;
  truth.gate.bias = Vector::Zero(k);
  truth.gate.slope = Matrix::Zero(k, d);
  truth.experts.slope.resize(k, d);
  truth.experts.intercept.resize(k);
  truth.experts.variance = Vector::Constant(k, 0.25);
  for (Index i = 0; i < k; ++i) {
    for (Index c = 0; c < d; ++c) {
      if (i + 1 < k) truth.gate.slope(i, c) = 3.0 * StandardNormal(rng);
      truth.experts.slope(i, c) = StandardNormal(rng);
    }
    truth.experts.intercept[i] = 3.0 * static_cast<double>(i);
  }
  return truth;
}

struct Problem {
  MoeParams truth;
  Dataset data;
};

const Problem& GetProblem(Index n, Index k, Index d) {
  static std::map<std::tuple<Index, Index, Index>, std::unique_ptr<Problem>> cache;
  auto& slot = cache[{n, k, d}];
  if (!slot) {
    slot = std::make_unique<Problem>();
    slot->truth = RandomTruth(k, d);
    CovariateDesign design;
    design.dim = d;
    Rng rng(DeriveSeed(11, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(k * 10 + d)));
    slot->data = Simulate(slot->truth, design, n, rng);
  }
  return *slot;
}

void SetPerSampleExpert(benchmark::State& state, Index n, Index k, double iterations_per_run) {
  state.counters["ns_per_nk"] =
      benchmark::Counter(static_cast<double>(n * k) * iterations_per_run,
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

// EM iterations (M-step + E-step) of the preallocated engine, with or without
// the speculative gate step.
void TimeEmIterations(benchmark::State& state, bool speculative_gate_step) {
  const Index n = state.range(0), k = state.range(1), d = state.range(2);
  const Problem& p = GetProblem(n, k, d);
  EmOptions options;
  options.num_threads = static_cast<int>(state.range(3));
  detail::EmEngine engine(p.data, NormaliseGauge(p.truth), options);
  engine.set_speculative_gate_step(speculative_gate_step);
  for (auto _ : state) {
    auto report = engine.Step();
    benchmark::DoNotOptimize(report);
  }
  SetPerSampleExpert(state, n, k, 1.0);
}

// One EM iteration as FitEm runs it.
void BM_EmIteration(benchmark::State& state) { TimeEmIterations(state, true); }

// The same iteration without the speculative gate step (plain M-step, then
// E-step): the in-binary baseline for that saving.
void BM_EmIterationPlain(benchmark::State& state) { TimeEmIterations(state, false); }

// The fused E-step alone (log-likelihood, responsibilities, gate derivatives,
// expert normal equations in one pass) ...
void BM_FusedEStep(benchmark::State& state) {
  const Index n = state.range(0), k = state.range(1), d = state.range(2);
  const Problem& p = GetProblem(n, k, d);
  EmOptions options;
  options.num_threads = static_cast<int>(state.range(3));
  detail::EmEngine engine(p.data, NormaliseGauge(p.truth), options);
  for (auto _ : state) {
    engine.RefreshEStep();
    benchmark::DoNotOptimize(engine.log_likelihood());
  }
  SetPerSampleExpert(state, n, k, 1.0);
}

// ... against the straightforward path: GaussianMoe responsibilities plus the
// log-likelihood (two passes, n x k temporaries, no derivatives).
void BM_BaselineEStep(benchmark::State& state) {
  const Index n = state.range(0), k = state.range(1), d = state.range(2);
  const Problem& p = GetProblem(n, k, d);
  const GaussianMoe model(NormaliseGauge(p.truth));
  for (auto _ : state) {
    Matrix R = model.Responsibilities(p.data);
    double ll = model.LogLikelihood(p.data);
    benchmark::DoNotOptimize(R.data());
    benchmark::DoNotOptimize(ll);
  }
  SetPerSampleExpert(state, n, k, 1.0);
}

// A full fit from the truth (default tolerance 1e-6, at most 500 iterations).
void BM_EmFit(benchmark::State& state) {
  const Index n = state.range(0), k = state.range(1), d = state.range(2);
  const Problem& p = GetProblem(n, k, d);
  EmOptions options;
  options.max_iterations = 500;
  options.num_threads = static_cast<int>(state.range(3));
  int iterations = 0;
  for (auto _ : state) {
    const FitResult fit = FitEm(p.data, p.truth, options);
    iterations = fit.iterations;
    benchmark::DoNotOptimize(fit.log_likelihood);
  }
  state.counters["iterations"] = iterations;
}

// The reference fit of the issue: softmax-exact ([Demyst], k = 2, d = 1),
// n = 100,000, near-truth start, to a relative log-likelihood change of 1e-8.
void BM_EmFitDemyst(benchmark::State& state) {
  const Preset preset = GetPreset("softmax-exact");
  static const Dataset data = [&] {
    Rng rng(2023);
    return Simulate(preset.truth, preset.design, 100000, rng);
  }();
  Rng init_rng(2024);
  const MoeParams init = InitNearTruth(preset.truth, ShapeOf(preset.truth), data.size(), init_rng);
  EmOptions options;
  options.relative_tolerance = 1e-8;
  options.num_threads = static_cast<int>(state.range(0));
  int iterations = 0;
  for (auto _ : state) {
    const FitResult fit = FitEm(data, init, options);
    iterations = fit.iterations;
    benchmark::DoNotOptimize(fit.log_likelihood);
  }
  state.counters["iterations"] = iterations;
}

void Grid(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1000, 10000, 100000, 1000000}) {
    for (int64_t k : {2, 3, 8}) {
      for (int64_t d : {1, 4}) {
        for (int64_t threads : {1, 2}) b->Args({n, k, d, threads});
      }
    }
  }
  b->ArgNames({"n", "k", "d", "threads"});
}

BENCHMARK(BM_EmIteration)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EmIterationPlain)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FusedEStep)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_BaselineEStep)
    ->Apply([](benchmark::internal::Benchmark* b) {
      for (int64_t n : {1000, 10000, 100000, 1000000}) {
        for (int64_t k : {2, 3, 8}) {
          for (int64_t d : {1, 4}) b->Args({n, k, d, 1});
        }
      }
      b->ArgNames({"n", "k", "d", "threads"});
    })
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_EmFit)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EmFitDemyst)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace moelab
