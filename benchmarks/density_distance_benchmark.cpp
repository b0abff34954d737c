// Cost of the expected Hellinger distance E_X h (metrics/density_distance.hpp),
// the metric a rate study evaluates in every cell.
//
//   BM_HellingerAtSe1e4   k = 3 (fit) against k* = 3 (truth), d = 1, Monte Carlo
//                         until the standard error is <= 1e-4 (absolute).
//   BM_HellingerDefault   the rate-study default (SE <= 5% of the value) for a
//                         fit at distance ~3e-3 (n ~ 1e5) and ~3e-2 (n ~ 1e3).
//   BM_HellingerPerX      one conditional distance h(x) (k = 3 vs 3).
// Counters report the estimate, its standard error and the x-points used.
#include <benchmark/benchmark.h>

#include "moelab/metrics/density_distance.hpp"
#include "moelab/simulation/presets.hpp"

namespace {

using namespace moelab;

// The topk-exact truth re-read as a dense softmax model with k* = 3, and a
// fit whose parameters are off by `scale` (about n^-1/2).
MoeParams Truth() {
  MoeParams truth = GetPreset("topk-exact").truth;
  truth.gate.kind = GateKind::kSoftmax;
  return truth;
}

MoeParams Fit(double scale) {
  MoeParams fit = Truth();
  fit.gate.bias.array() += scale * Vector::LinSpaced(3, 1.0, -1.0).array();
  fit.gate.slope.array() -= 2 * scale;
  fit.experts.intercept.array() += scale;
  fit.experts.slope.array() -= scale;
  fit.experts.variance.array() *= 1.0 + scale;
  return fit;
}

void Run(benchmark::State& state, const DensityDistanceOptions& options, double scale) {
  const MoeParams truth = Truth(), fit = Fit(scale);
  const CovariateDesign design = GetPreset("topk-exact").design;
  DensityDistance r;
  for (auto _ : state) {
    Rng rng(2024);
    r = ExpectedHellinger(fit, truth, design, options, rng);
    benchmark::DoNotOptimize(r.value);
  }
  state.counters["value"] = r.value;
  state.counters["se"] = r.standard_error;
  state.counters["num_x"] = static_cast<double>(r.num_x);
}

void BM_HellingerAtSe1e4(benchmark::State& state) {
  DensityDistanceOptions o;
  o.target_relative_error = 0.0;
  o.target_absolute_error = 1e-4;
  o.max_x = 1 << 20;
  Run(state, o, 1e-2 * static_cast<double>(state.range(0)));
}
BENCHMARK(BM_HellingerAtSe1e4)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

void BM_HellingerDefault(benchmark::State& state) {
  Run(state, DensityDistanceOptions{}, 1e-3 * static_cast<double>(state.range(0)));
}
BENCHMARK(BM_HellingerDefault)->Arg(3)->Arg(30)->Unit(benchmark::kMillisecond);

void BM_HellingerPerX(benchmark::State& state) {
  const MoeParams truth = Truth(), fit = Fit(3e-3);
  const Matrix x = Matrix::Constant(1, 1, 0.3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        ConditionalDensityDistance(DensityDistanceKind::kHellinger, fit, truth, x)[0]);
  }
}
BENCHMARK(BM_HellingerPerX)->Unit(benchmark::kMicrosecond);

}  // namespace
