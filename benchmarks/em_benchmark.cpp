// EM speed: one iteration and full fits over n x k x d, 1 vs 2 threads, the
// fused chunk kernel against the earlier column-wise block code (the
// in-binary baseline, *Columnwise) and the straightforward GaussianMoe path,
// and full fits from FitMoe's starts (BM_EmFitStarts: earlier code, fused
// kernel, generalised EM, SQUAREM); *Avx2 runs the AVX2 copy of the kernels
// (the in-binary baseline of the AVX-512 copy on machines that have it).
//
//   cmake --build build --target em_benchmark &&
//     build/bin/em_benchmark --benchmark_filter='EmIteration/n:1000000/k:3/d:1/threads:1/'
//
// Counters: ns_per_nk = seconds per (sample x expert) per iteration (shown
// with an SI prefix, e.g. "2.5n" = 2.5 ns; from wall time, as the benchmarks
// use real time for the 2-thread runs - on a loaded machine divide the CPU
// column by n k instead); iterations = EM iterations of a fit.
// Data: x ~ U[-1, 1]^d, a fixed random truth per (k, d) with separated experts
// (seeded); EM starts at the truth, so an iteration costs what it costs in a
// rate study near convergence.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "moelab/estimators/detail/block_runner.hpp"
#include "moelab/estimators/detail/em_engine.hpp"
#include "moelab/estimators/detail/fit_input.hpp"
#include "moelab/estimators/detail/simd_level.hpp"
#include "moelab/estimators/accelerated_em.hpp"
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
// the speculative gate step, at a SIMD level.
void TimeEmIterations(benchmark::State& state, bool speculative_gate_step,
                      bool fused_kernel = true,
                      detail::SimdLevel level = detail::SupportedSimdLevel()) {
  if (!detail::SimdLevelRuns(level)) return state.SkipWithError("this SIMD level does not run here");
  const detail::ScopedSimdLevelCap cap(level);
  const Index n = state.range(0), k = state.range(1), d = state.range(2);
  const Problem& p = GetProblem(n, k, d);
  EmOptions options;
  options.num_threads = static_cast<int>(state.range(3));
  detail::EmEngine engine(p.data, NormaliseGauge(p.truth), options, fused_kernel);
  engine.set_speculative_gate_step(speculative_gate_step);
  for (auto _ : state) {
    auto report = engine.Step();
    benchmark::DoNotOptimize(report);
  }
  SetPerSampleExpert(state, n, k, 1.0);
}

// One EM iteration as FitEm runs it.
void BM_EmIteration(benchmark::State& state) { TimeEmIterations(state, true); }

// The same iteration with the AVX2 copy of the kernels (4 lanes, the
// rational exp): on an AVX-512 machine, the in-binary baseline of the
// 8-lane copy.
void BM_EmIterationAvx2(benchmark::State& state) {
  TimeEmIterations(state, true, true, detail::SimdLevel::kAvx2);
}

// The same iteration without the speculative gate step (plain M-step, then
// E-step): the in-binary baseline for that saving.
void BM_EmIterationPlain(benchmark::State& state) { TimeEmIterations(state, false); }

// BM_EmIteration with the earlier column-wise block code (one sweep of the
// 1024-row block per quantity) instead of the fused chunk kernel: the
// in-binary baseline of detail/affine_block_kernel.hpp.
void BM_EmIterationColumnwise(benchmark::State& state) { TimeEmIterations(state, true, false); }

// The fused E-step alone (log-likelihood, responsibilities, gate derivatives,
// expert normal equations in one pass) ...
void TimeEStep(benchmark::State& state, bool fused_kernel,
               detail::SimdLevel level = detail::SupportedSimdLevel()) {
  if (!detail::SimdLevelRuns(level)) return state.SkipWithError("this SIMD level does not run here");
  const detail::ScopedSimdLevelCap cap(level);
  const Index n = state.range(0), k = state.range(1), d = state.range(2);
  const Problem& p = GetProblem(n, k, d);
  EmOptions options;
  options.num_threads = static_cast<int>(state.range(3));
  detail::EmEngine engine(p.data, NormaliseGauge(p.truth), options, fused_kernel);
  for (auto _ : state) {
    engine.RefreshEStep();
    benchmark::DoNotOptimize(engine.log_likelihood());
  }
  SetPerSampleExpert(state, n, k, 1.0);
}
void BM_FusedEStep(benchmark::State& state) { TimeEStep(state, true); }
void BM_FusedEStepAvx2(benchmark::State& state) {
  TimeEStep(state, true, detail::SimdLevel::kAvx2);
}
// ... the same pass through the column-wise block code ...
void BM_FusedEStepColumnwise(benchmark::State& state) { TimeEStep(state, false); }

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

// ---- Full fits from the starts FitMoe draws (issue targets) ---------------
//
// The truths of benchmarks/flexmix_compare (softmax gate, d = 1,
// x ~ U(-1, 1); variances): k = 2: beta0 = (0.5, 0), beta1 = (4, 0), experts
// 1 + x and -1 - 2x, variances 0.2, 0.3; k = 3: beta0 = (0, 1, 0),
// beta1 = (-6, 0, 6), experts 1 + 2x, -1, 0.5 - 2x, variances 0.1, 0.2, 0.15.
MoeParams FlexmixTruth(Index k) {
  MoeParams p;
  p.gate.kind = GateKind::kSoftmax;
  p.gate.slope.resize(k, 1);
  p.experts.slope.resize(k, 1);
  if (k == 2) {
    p.gate.bias = Vector{{0.5, 0.0}};
    p.gate.slope.col(0) = Vector{{4.0, 0.0}};
    p.experts.intercept = Vector{{1.0, -1.0}};
    p.experts.slope.col(0) = Vector{{1.0, -2.0}};
    p.experts.variance = Vector{{0.2, 0.3}};
  } else {
    p.gate.bias = Vector{{0.0, 1.0, 0.0}};
    p.gate.slope.col(0) = Vector{{-6.0, 0.0, 6.0}};
    p.experts.intercept = Vector{{1.0, -1.0, 0.5}};
    p.experts.slope.col(0) = Vector{{2.0, 0.0, -2.0}};
    p.experts.variance = Vector{{0.1, 0.2, 0.15}};
  }
  return p;
}

constexpr int kFitStarts = 4;  // per benchmark iteration: 2 data-driven, 2 random

struct FitCase {
  Dataset data;
  std::vector<MoeParams> starts;
};

// n = 100,000 draws (seed 2026) and the first kFitStarts starts exactly as
// FitMoe draws them (generator DeriveSeed(2026, k, 0); even starts
// data-driven, odd random).
const FitCase& GetFitCase(Index k) {
  static std::map<Index, std::unique_ptr<FitCase>> cache;
  auto& slot = cache[k];
  if (!slot) {
    slot = std::make_unique<FitCase>();
    CovariateDesign design;  // Uniform[-1, 1]
    Rng rng(DeriveSeed(2026, static_cast<std::uint64_t>(k), 1));
    slot->data = Simulate(FlexmixTruth(k), design, 100000, rng);
    ModelShape shape;
    shape.num_experts = k;
    shape.dim = 1;
    Rng start_rng(DeriveSeed(2026, static_cast<std::uint64_t>(k), 0));
    for (int s = 0; s < kFitStarts; ++s) {
      slot->starts.push_back(s % 2 == 0 ? InitDataDriven(slot->data, shape, start_rng)
                                        : InitRandom(slot->data, shape, start_rng));
    }
  }
  return *slot;
}

// FitEm's loop (standardised problem, stop at |l_t - l_{t-1}| <= tol |l_{t-1}|)
// on an engine with or without the fused kernel, so that the earlier
// column-wise code can be timed as a whole fit in the same binary.
FitResult EngineFit(const Dataset& data, const MoeParams& init, const EmOptions& options,
                    bool fused_kernel) {
  auto fit = [fused_kernel](const Dataset& d, const MoeParams& start, const EmOptions& o) {
    const long long passes_before = detail::DataPassCount();
    detail::EmEngine engine(d, NormaliseGauge(start), o, fused_kernel);
    FitResult result;
    result.termination = TerminationType::kMaxIterations;
    for (int iteration = 1; iteration <= o.max_iterations; ++iteration) {
      const double previous = engine.log_likelihood();
      const detail::EmEngine::StepReport step = engine.Step();
      result.iterations = iteration;
      if (!step.finite) {
        result.termination = TerminationType::kNumericalFailure;
        break;
      }
      if (std::abs(step.log_likelihood - previous) <= o.relative_tolerance * std::abs(previous)) {
        result.termination = TerminationType::kConverged;
        break;
      }
    }
    result.params = NormaliseGauge(engine.params());
    result.log_likelihood = engine.log_likelihood();
    result.evaluations = engine.evaluations();
    result.data_passes = detail::DataPassCount() - passes_before;
    return result;
  };
  return detail::FitInStandardisedUnits("EngineFit", "em", data, init, options,
                                        detail::ObjectiveKind::kNegativeLogLikelihood, fit);
}

// Full fits, k = 2 and 3, d = 1, n = 1e5, relative tolerance 1e-8, from the
// four starts above; time per start = reported time / 4. impl: 0 = the
// earlier implementation (column-wise block code, full gate solve every
// iteration), 1 = fused kernel, full gate solve, 2 = fused kernel +
// generalised EM with one gate Newton step per iteration
// (EmOptions::gate_newton_steps = 1), 3 = 2 accelerated by SQUAREM
// (FitAcceleratedEm; it judges the tolerance on the change over a cycle of
// three EM maps, a stricter rule) - FitMoe's EM default (FitFromStart). Counters per start: EM iterations (EM-map
// evaluations), E-step evaluations, passes over the data; every start must
// converge.
void BM_EmFitStarts(benchmark::State& state) {
  const Index k = state.range(0);
  const int impl = static_cast<int>(state.range(1));
  const FitCase& c = GetFitCase(k);
  EmOptions options;
  options.relative_tolerance = 1e-8;
  options.gate_newton_steps = impl >= 2 ? 1 : 0;
  double iterations = 0, evaluations = 0, passes = 0, best = -1e300;
  for (auto _ : state) {
    iterations = evaluations = passes = 0;
    for (const MoeParams& start : c.starts) {
      FitResult fit;
      if (impl == 3) {
        AcceleratedEmOptions accelerated;
        accelerated.em = options;
        fit = FitAcceleratedEm(c.data, start, accelerated);
      } else {
        fit = EngineFit(c.data, start, options, impl != 0);
      }
      if (fit.termination != TerminationType::kConverged) {
        state.SkipWithError("a start did not converge");
        return;
      }
      iterations += fit.iterations;
      evaluations += fit.evaluations;
      passes += static_cast<double>(fit.data_passes);
      best = std::max(best, fit.log_likelihood);
    }
  }
  state.counters["iterations"] = iterations / kFitStarts;
  state.counters["evaluations"] = evaluations / kFitStarts;
  state.counters["passes"] = passes / kFitStarts;
  state.counters["best_loglik"] = best;
  // Seconds per start (shown with an SI prefix: "25m" = 25 ms), from CPU time.
  state.counters["per_start"] = benchmark::Counter(
      kFitStarts, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
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
BENCHMARK(BM_EmIterationAvx2)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EmIterationPlain)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EmIterationColumnwise)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FusedEStep)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FusedEStepAvx2)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FusedEStepColumnwise)->Apply(Grid)->Unit(benchmark::kMillisecond)->UseRealTime();
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
BENCHMARK(BM_EmFitStarts)
    ->ArgsProduct({{2, 3}, {0, 1, 2, 3}})
    ->ArgNames({"k", "impl"})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK(BM_EmFitDemyst)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace moelab
