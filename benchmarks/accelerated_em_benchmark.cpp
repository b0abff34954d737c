// Time to certificate: plain EM against SQUAREM-accelerated EM on the
// over-fitted softmax problem of the "certified MLEs" work (the softmax-exact
// truth, k* = 2, d = 1, fitted with k = 3), same data, same start (the
// published near-truth start: two fitted atoms share a true atom, the case
// where plain EM crawls), same protocol (FitCertified with one start: fit to
// |l_t - l_{t-1}| <= 1e-8, certify, continue from a probe point that raises
// the likelihood, at most 3 times), the method being the only difference
// (CertifiedFitOptions::accelerate).
//
//   ninja -C build bin/accelerated_em_benchmark
//   nice build/bin/accelerated_em_benchmark --benchmark_filter='n:10000/'
//
// One protocol run per benchmark (Iterations(1)): the counters are the result.
//   em_maps    EM-map evaluations of the kept fit's path (= EM iterations for
//              plain EM), continuations included
//   passes     every pass over the data: E-steps, variance passes, inner IRLS
//              evaluations, extrapolation E-steps, the certificate's gradient
//              evaluations (2 passes each) and all its probe refits
//   cert_passes the part of `passes` spent by the certificates (probes)
//   certified  1 when the final certificate holds; 0 is reported, not hidden
//   rounds     continuations from a probe point that raised the likelihood
//   loglik     final log-likelihood (the two methods must agree)
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "moelab/estimators/certified_fit.hpp"
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
    Rng rng(DeriveSeed(2026, static_cast<std::uint64_t>(n), 0));
    slot = std::make_unique<Problem>();
    slot->data = Simulate(preset.truth, preset.design, n, rng);
    ModelShape shape = ShapeOf(preset.truth);
    shape.num_experts = 3;
    slot->start = InitNearTruth(preset.truth, shape, n, rng);
  }
  return *slot;
}

// Args: accelerated (0/1), n, EM-map budget per fit.
void BM_TimeToCertificate(benchmark::State& state) {
  const Problem& p = GetProblem(state.range(1));
  CertifiedFitOptions options;
  options.accelerate = state.range(0) != 0;
  options.fitter.em.max_iterations = static_cast<int>(state.range(2));
  CertifiedFit out;
  for (auto _ : state) out = FitCertified(p.data, {p.start}, options);
  state.counters["em_maps"] = out.fit.iterations;
  state.counters["passes"] = static_cast<double>(out.fit.data_passes);
  state.counters["cert_passes"] = static_cast<double>(out.certificate_passes);
  state.counters["certified"] = out.certificate.certified ? 1 : 0;
  state.counters["rounds"] = out.probe_rounds;
  state.counters["loglik"] = out.fit.log_likelihood;
  state.counters["score"] = out.certificate.score_norm;
  state.SetLabel(out.certificate.reason.substr(0, 160));
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
