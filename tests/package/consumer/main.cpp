// A user's program built against the installed moelab package.
#include <cstdio>

#include "moelab/moelab.hpp"

int main() {
  moelab::Rng rng(7);
  const moelab::Preset preset = moelab::GetPreset("softmax-exact");
  const moelab::Dataset data = moelab::Simulate(preset.truth, preset.design, 2000, rng);
  const moelab::GaussianMoe truth(preset.truth);
  std::printf("loglik %.6f\n", truth.LogLikelihood(data));
  std::printf("status ok\n");
  return 0;
}
