// Time to certificate: plain EM against SQUAREM-accelerated EM on the
// over-fitted softmax problem of issue "certified MLEs" (the softmax-exact
// truth, k* = 2, d = 1, fitted with k = 3), same data, same start (the
// published near-truth start: two fitted atoms share a true atom, the case
// where plain EM crawls),
// same stopping rule (|l_t - l_{t-1}| <= 1e-8) and the same certificate
// (estimators/certificate.hpp, probe refits by the same method).
//
//   ninja -C build bin/accelerated_em_benchmark && \
//     nice build/bin/accelerated_em_benchmark --benchmark_filter='n:10000/'
//
// One fit per benchmark (Iterations(1)): the counters are the result.
//   em_maps    EM-map evaluations (= EM iterations for plain EM)
//   passes     passes over the data to the certificate: every E-step,
//              variance pass, inner IRLS evaluation, extrapolation E-step,
//              the certificate's gradient evaluations (2 passes each) and its
//              probe refits
//   fit_passes the passes of the fit alone
//   certified  1 when the certificate holds; 0 (e.g. plain EM hit its
//              iteration budget, the last argument) is reported, not hidden
//   loglik     final log-likelihood (the two methods must agree)
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "moelab/estimators/accelerated_em.hpp"
#include "moelab/estimators/certificate.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

struct Problem {
  Dataset data;
  MoeParams start;
};

const Problem& GetProblem(Index n) {
  static std::map<Index, std::unique_ptr<Problem>> cache;
  auto& slot = cache[n];
  if (!slot) {
    const Preset preset = GetPreset("softmax-exact");
    Rng rng(DeriveSeed(2026, static_cast<std::uint64_t>(n)));
    slot = std::make_unique<Problem>();
    slot->data = Simulate(preset.truth, preset.design, n, rng);
    ModelShape shape = ShapeOf(preset.truth);
    shape.num_experts = 3;
    slot->start = InitNearTruth(preset.truth, shape, n, rng);
  }
  return *slot;
}

// Args: accelerated (0/1), n, iteration budget.
void BM_TimeToCertificate(benchmark::State& state) {
  const bool accelerated = state.range(0) != 0;
  const Index n = state.range(1);
  const Problem& p = GetProblem(n);
  AcceleratedEmOptions options;
  options.em.relative_tolerance = 0.0;
  options.em.absolute_tolerance = 1e-8;
  options.em.max_iterations = static_cast<int>(state.range(2));
  const auto fit = [&](const MoeParams& start, int budget) {
    AcceleratedEmOptions o = options;
    o.em.max_iterations = budget;
    return accelerated ? FitAcceleratedEm(p.data, start, o) : FitEm(p.data, start, o.em);
  };
  FitResult result;
  FitCertificate cert;
  for (auto _ : state) {
    result = fit(p.start, options.em.max_iterations);
    cert = CertifyFit(p.data, result, false, options.em.variance_floor, {},
                      [&](const MoeParams& s) { return fit(s, 3000); }, CertificateOptions{});
  }
  state.counters["em_maps"] = result.iterations;
  state.counters["fit_passes"] = static_cast<double>(result.data_passes);
  state.counters["passes"] = static_cast<double>(result.data_passes + cert.data_passes);
  state.counters["certified"] = cert.certified ? 1 : 0;
  state.counters["loglik"] = result.log_likelihood;
  state.counters["score"] = cert.score_norm;
  state.counters["probe_gain"] = cert.probe_gain;
  state.SetLabel(cert.reason.substr(0, 120));
}

BENCHMARK(BM_TimeToCertificate)
    ->ArgNames({"accelerated", "n", "budget"})
    ->Args({0, 10000, 200000})
    ->Args({1, 10000, 200000})
    ->Args({0, 100000, 200000})
    ->Args({1, 100000, 200000})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace moelab
