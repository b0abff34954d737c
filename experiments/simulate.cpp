// simulate: draw a data set from a named preset and print a readable summary
// (and optionally write it as CSV together with the true parameters).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/cli.hpp"
#include "moelab/core/resources.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/io/dataset_csv.hpp"
#include "moelab/io/params_json.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace {

void PrintSummary(const moelab::Preset& preset, const moelab::Dataset& data, std::uint64_t seed) {
  using moelab::Index;
  const moelab::GaussianMoe truth(preset.truth);
  const Index k = preset.truth.num_experts();
  std::printf("preset %s (seed %llu)\n  %s\n", preset.name.c_str(),
              static_cast<unsigned long long>(seed), preset.description.c_str());
  std::printf("  n = %lld, d = %lld, design %s on [%g, %g], x range [%.3f, %.3f]\n",
              static_cast<long long>(data.size()), static_cast<long long>(data.dim()),
              moelab::ToString(preset.design.kind), preset.design.lower, preset.design.upper,
              data.X.minCoeff(), data.X.maxCoeff());
  std::printf("  y: mean %.4f, sd %.4f, range [%.3f, %.3f]\n", data.y.mean(),
              std::sqrt((data.y.array() - data.y.mean()).square().mean()), data.y.minCoeff(),
              data.y.maxCoeff());
  const moelab::Vector mean_gate =
      moelab::ExpOfLog(moelab::GateLogWeights(preset.truth.gate, data.X)).colwise().mean();
  std::printf("  expert  label share  mean gate weight  residual sd (true sd)\n");
  for (Index i = 0; i < k; ++i) {
    Index count = 0;
    double sum_sq = 0.0;
    const moelab::Vector means = moelab::ExpertMeans(preset.truth.experts, data.X).col(i);
    for (Index r = 0; r < data.size(); ++r) {
      if ((*data.labels)[r] != i) continue;
      ++count;
      sum_sq += (data.y[r] - means[r]) * (data.y[r] - means[r]);
    }
    std::printf("  %6lld  %11.4f  %16.4f  %.4f (%.4f)\n", static_cast<long long>(i),
                static_cast<double>(count) / data.size(), mean_gate[i],
                count > 0 ? std::sqrt(sum_sq / count) : 0.0,
                std::sqrt(preset.truth.experts.variance[i]));
  }
  std::printf("  log-likelihood at the truth: %.4f (%.4f per sample)\n\n",
              truth.LogLikelihood(data), truth.LogLikelihood(data) / data.size());
}

}  // namespace

int main(int argc, char** argv) {
  return moelab::cli::RunMain([&] {
    std::string preset_name = "all";
    long long n = 1000;
    std::uint64_t seed = 2023;
    std::string out_dir;
    moelab::cli::CommandLine cli(
        "simulate", "Simulate a Gaussian MoE data set from a named preset and summarise it.");
    cli.AddString("preset", &preset_name, "preset name, or 'all'");
    cli.AddInt("n", &n, "sample size (memory and output size checked up front)", {1});
    cli.AddUint64("seed", &seed, "random seed (same seed, same data)");
    cli.AddString("out", &out_dir,
                  "if set, write <preset>.csv and <preset>_truth.json into this folder");
    std::string max_memory;
    cli.AddString("max-memory", &max_memory, "memory the run may use, e.g. 8G ('' = the memory available now)");
    if (!cli.Parse(argc, argv)) return 0;
    std::vector<std::string> names =
        preset_name == "all" ? moelab::PresetNames() : std::vector<std::string>{preset_name};
    for (const auto& name : names) {  // sizes of every preset, before any work
      const moelab::Preset preset = moelab::GetPreset(name);
      const moelab::Index d = preset.truth.dim(), k = preset.truth.num_experts();
      // X, y, labels, and the n x k gate weights and expert means of the summary.
      moelab::CheckMemoryBudget(8.0 * static_cast<double>(n) * static_cast<double>(d + 2 + 3 * k) + 64e6,
                                max_memory, "simulate --preset " + name, "--n");
      if (!out_dir.empty())  // %.17g numbers: up to 25 bytes per field
        moelab::CheckDiskBudget(25.0 * static_cast<double>(n) * static_cast<double>(d + 2), out_dir,
                                name + ".csv", "--n");
    }
    for (const auto& name : names) {
      const moelab::Preset preset = moelab::GetPreset(name);
      moelab::Rng rng(seed);
      const moelab::Dataset data = moelab::Simulate(preset.truth, preset.design, n, rng);
      PrintSummary(preset, data, seed);
      if (!out_dir.empty()) {
        std::filesystem::create_directories(out_dir);
        moelab::WriteDatasetCsv(data, out_dir + "/" + name + ".csv");
        moelab::WriteParamsJson(preset.truth, out_dir + "/" + name + "_truth.json");
      }
    }
    return 0;
  });
}
