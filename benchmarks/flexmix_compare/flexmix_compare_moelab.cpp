// flexmix_compare_moelab: the moelab side of benchmarks/flexmix_compare.sh.
//
//   --simulate K --n N --seed S --out data.csv   writes a data set of the
//       benchmark truth with K experts (below) as CSV (x1, y, z).
//   --data data.csv --k K --starts S ...          fits it by EM as FitMoe does
//       (SQUAREM-accelerated generalised EM, FitFromStart) from S starts
//       drawn exactly as FitMoe draws them (generator DeriveSeed(seed, k, 0);
//       even starts data-driven, odd random) and writes one CSV row per
//       start to --out: log-likelihood, iterations, termination and the
//       wall and CPU seconds of that start (drawing it plus fitting it, one
//       thread; CPU time is the fairer figure on a loaded machine).
//
// Benchmark truths (softmax gate, d = 1, x ~ U(-1, 1); variances, not sd):
//   K = 2: beta0 = (0.5, 0), beta1 = (4, 0); experts 1 + x and -1 - 2x;
//          variances 0.2, 0.3.
//   K = 3: beta0 = (0, 1, 0), beta1 = (-6, 0, 6); experts 1 + 2x, -1 and
//          0.5 - 2x; variances 0.1, 0.2, 0.15.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/fit_moe.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/io/dataset_csv.hpp"
#include "moelab/simulation/simulate.hpp"

namespace {

using namespace moelab;

Vector Vec(std::initializer_list<double> values) {
  Vector v(static_cast<Index>(values.size()));
  Index i = 0;
  for (double x : values) v[i++] = x;
  return v;
}

MoeParams BenchmarkTruth(long long k) {
  MoeParams p;
  p.gate.kind = GateKind::kSoftmax;
  if (k == 2) {
    p.gate.bias = Vec({0.5, 0.0});
    p.gate.slope = Vec({4.0, 0.0});
    p.experts.intercept = Vec({1.0, -1.0});
    p.experts.slope = Vec({1.0, -2.0});
    p.experts.variance = Vec({0.2, 0.3});
  } else if (k == 3) {
    p.gate.bias = Vec({0.0, 1.0, 0.0});
    p.gate.slope = Vec({-6.0, 0.0, 6.0});
    p.experts.intercept = Vec({1.0, -1.0, 0.5});
    p.experts.slope = Vec({2.0, 0.0, -2.0});
    p.experts.variance = Vec({0.1, 0.2, 0.15});
  } else {
    throw std::invalid_argument("--simulate: K must be 2 or 3, got " + std::to_string(k));
  }
  p.Validate();
  return p;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  return cli::RunMain([&] {
    long long simulate = 0, n = 1000, k = 2, starts = 5, max_iterations = 2000;
    std::uint64_t seed = 1;
    double tolerance = 1e-8;
    std::string data_path, out_path;
    cli::CommandLine cli(
        "flexmix_compare_moelab",
        "moelab side of benchmarks/flexmix_compare.sh: simulate a benchmark data set "
        "(--simulate K) or fit one from several EM starts, one CSV row per start (--data).");
    cli.AddInt("simulate", &simulate, "simulate the benchmark truth with K = 2 or 3 experts "
                                      "(0 = fit --data instead)");
    cli.AddInt("n", &n, "--simulate: sample size, in [10, 100000000]");
    cli.AddUint64("seed", &seed, "--simulate: data seed; fitting: seed of the starts");
    cli.AddString("data", &data_path, "CSV to fit (columns x1, y; z ignored)");
    cli.AddInt("k", &k, "experts fitted, in [1, 50]");
    cli.AddInt("starts", &starts, "EM starts (data-driven and random alternating), in [1, 10000]");
    cli.AddDouble("tolerance", &tolerance,
                  "EM stops when |l_t - l_{t-1}| <= tolerance * |l_{t-1}|, in [0, 1)");
    cli.AddInt("max-iterations", &max_iterations, "EM iteration cap per start, in [1, 1000000]");
    cli.AddString("out", &out_path, "output CSV (data with --simulate, per-start rows otherwise)");
    if (!cli.Parse(argc, argv)) return 0;
    if (out_path.empty()) throw std::invalid_argument("--out is required");

    if (simulate != 0) {
      if (n < 10 || n > 100000000) throw std::invalid_argument("--n must be in [10, 1e8]");
      CovariateDesign design;  // Uniform[-1, 1]
      Rng rng(seed);
      WriteDatasetCsv(Simulate(BenchmarkTruth(simulate), design, n, rng), out_path);
      return 0;
    }
    if (data_path.empty()) throw std::invalid_argument("--data (or --simulate) is required");
    if (k < 1 || k > 50) throw std::invalid_argument("--k must be in [1, 50]");
    if (starts < 1 || starts > 10000) throw std::invalid_argument("--starts must be in [1, 10000]");
    if (max_iterations < 1 || max_iterations > 1000000) {
      throw std::invalid_argument("--max-iterations must be in [1, 1000000]");
    }
    FitOptions options;  // EM with FitMoe's defaults (SQUAREM, generalised EM)
    options.em.relative_tolerance = tolerance;
    options.em.max_iterations = static_cast<int>(max_iterations);
    options.Validate();

    const Dataset data = ReadDatasetCsv(data_path);
    ModelShape shape;
    shape.num_experts = static_cast<Index>(k);
    shape.dim = data.dim();
    Rng rng(DeriveSeed(seed, static_cast<std::uint64_t>(k), 0));
    std::ofstream out(out_path);
    if (!out) throw std::invalid_argument("--out: cannot write '" + out_path + "'");
    out << "start,init,log_likelihood,iterations,termination,seconds,cpu_seconds\n";
    for (long long s = 0; s < starts; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::clock_t c0 = std::clock();
      const bool data_driven = s % 2 == 0;
      const MoeParams start =
          data_driven ? InitDataDriven(data, shape, rng) : InitRandom(data, shape, rng);
      const FitResult fit = FitFromStart(data, start, options);
      const double seconds = Seconds(t0);
      const double cpu_seconds = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      char line[256];
      std::snprintf(line, sizeof line, "%lld,%s,%.10f,%d,%s,%.6f,%.6f\n", s,
                    data_driven ? "data-driven" : "random", fit.log_likelihood, fit.iterations,
                    ToString(fit.termination), seconds, cpu_seconds);
      out << line;
    }
    if (!out) throw std::invalid_argument("--out: write to '" + out_path + "' failed");
    return 0;
  });
}
