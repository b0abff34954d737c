#include <cstdio>

#include "moelab/moelab.hpp"

int main() {
  // Simulate n = 5000 samples from the [Demyst] softmax truth.
  const moelab::Preset preset = moelab::GetPreset("softmax-exact");
  moelab::Rng rng(2023);
  const moelab::Dataset data = moelab::Simulate(preset.truth, preset.design, 5000, rng);

  // Fit k = 2 experts by EM from a data-driven start (no truth needed).
  moelab::ModelShape shape = moelab::ShapeOf(preset.truth);
  const moelab::MoeParams start = moelab::InitDataDriven(data, shape, rng);
  const moelab::FitResult fit = moelab::FitEm(data, start, moelab::EmOptions{});
  std::printf("%s\n", fit.BriefReport().c_str());

  // Distance to the truth: the exact-fitted Voronoi loss D1. The fit's
  // expert labels are arbitrary, so take the infimum over the gate gauge.
  moelab::VoronoiLossOptions loss_options;
  loss_options.gauge = moelab::VoronoiGauge::kTranslationInfimum;
  const moelab::VoronoiLossResult loss =
      moelab::ComputeVoronoiLoss(preset.truth, fit.params, loss_options);
  std::printf("%s\n", loss.BriefReport().c_str());
  std::printf("status %s\n", fit.IsUsable() && loss.value < 0.5 ? "ok" : "failed");
  return 0;
}
