// temperature-vs-activation: the [Temp] comparison (docs/theory.md §4.4). The same
// [Demyst] experts under the two dense-to-sparse gates, the temperature tau
// fitted in both (that is the [Temp] setting):
//   temperature  softmax((beta1 x + beta0) / tau) with ONE shared tau.
//                [Temp]'s "slower than any polynomial" (a reconstruction from
//                its abstract) cannot show in this gate: (beta0, beta1, tau)
//                -> c (beta0, beta1, tau) is an exact symmetry (docs/theory.md §2.3), so its
//                identifiable quotient is the softmax model in beta/tau, whose
//                parameters and the experts converge at n^-1/2; raw (beta1,
//                tau) are not identified at all (no rate). The loss is
//                measured on raw (beta1, tau) (--temperature-loss raw) and on
//                the identifiable ratio beta/tau (loss_ratio, -1/2).
//                Per-expert temperatures would keep an exact scale symmetry
//                per expert, so they cannot show the paper's claim either
//                (docs/rate_studies.md says what gate could);
//   activation   softmax(tanh(beta1 x) / tau + beta0): polynomial, -1/2 in
//                the exact-fitted setting.
// The summary compares the two gates' slopes column by column.
// Default grid: 10 log-spaced n in [2e2, 1e5], 40 reps. --quick: 6 n in
// [200, 1e4], 6 reps.
#include <cmath>
#include <cstdio>

#include "common/study_cli.hpp"

namespace {

std::string Compare(const std::vector<moelab::SlopeRow>& rows) {
  std::string text = "== temperature vs activation (same column, both gates, tau fitted)\n";
  for (const auto& t : rows) {
    if (t.study != "temperature" || !t.fit.ok) continue;
    for (const auto& a : rows) {
      if (a.study != "activation" || a.column != t.column || !a.fit.ok) continue;
      const char* verdict = t.fit.ci_lower > a.fit.ci_upper ? "temperature slower (CIs disjoint)"
                            : a.fit.ci_lower > t.fit.ci_upper ? "activation slower (CIs disjoint)"
                                                                : "not distinguishable at this size";
      char line[300];
      std::snprintf(line, sizeof line, "  %-14s temperature %7.3f [%6.3f, %6.3f]  activation %7.3f [%6.3f, %6.3f]  -> %s\n",
                    t.column.c_str(), t.fit.mean.slope, t.fit.ci_lower, t.fit.ci_upper, a.fit.mean.slope,
                    a.fit.ci_lower, a.fit.ci_upper, verdict);
      text += line;
    }
  }
  return text +
         "  theory: one shared tau makes the temperature gate's identifiable quotient the\n"
         "  softmax model in beta/tau: experts and loss_ratio at n^-1/2; raw (beta1, tau) are\n"
         "  not identifiable (a slope near 0 there is the symmetry, not a slow rate). The\n"
         "  [Temp] claim 'slower than any polynomial' (reconstructed) needs a gate where tau\n"
         "  is not a pure scale of the logits (per-expert temperatures are: docs/rate_studies.md).\n"
         "  Activation gate: -1/2.\n";
}

}  // namespace

int main(int argc, char** argv) {
  return moelab::cli::RunMain([&] {
    moelab::cli::StudyFlags flags;
    flags.preset = "temperature";
    flags.fit_temperature = true;
    flags.temperature_loss = "raw";
    flags.n_min = 200;
    flags.n_count = 10;
    moelab::cli::CommandLine cli("temperature-vs-activation",
                                 "[Temp] temperature vs activation dense-to-sparse gates: parameter "
                                 "losses against n under each (tau fitted).");
    moelab::cli::RegisterStudyFlags(&cli, &flags);
    if (!cli.Parse(argc, argv)) return 0;
    moelab::cli::ApplyProtocol(cli, false, &flags);
    moelab::cli::ApplyQuick(cli, {200, 10000, 6, 6, 1}, &flags);
    moelab::cli::StudyFlags temperature = flags, activation = flags;
    temperature.preset = "temperature";
    activation.preset = "activation";
    return moelab::cli::RunStudies(cli, flags,
                                   {moelab::cli::BuildStudy(temperature, "temperature"),
                                    moelab::cli::BuildStudy(activation, "activation")},
                                   Compare);
  });
}
