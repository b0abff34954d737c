// softmax-exact: the [Demyst] exact-fitted experiment (docs/theory.md §5.1,
// §4.8). True k* = 2 softmax MoE (beta0* = (-8, 0), beta1* = (25, 0), means
// 15 - 20x and -5 + 20x, variances 0.09 and 0.16), fitted with k = 2 by EM
// (tolerance 1e-6, at most 2000 iterations, near-truth start). Measures D1,
// its weight term and every per-parameter error against n, fits the log-log
// slopes and compares them with Theorem 1 (-1/2 up to log factors; the
// published figure reports -0.638 over n in [1e2, 1e5]).
// Default grid: 16 log-spaced n in [1e2, 1e5], 40 replications (the paper:
// 200 n, 40 reps). --quick: 8 n in [1e2, 1e4], 20 replications (about 10 s on 2 cores).
#include "common/study_cli.hpp"

int main(int argc, char** argv) {
  return moelab::cli::RunMain([&] {
    moelab::cli::StudyFlags flags;
    flags.preset = "softmax-exact";
    moelab::cli::CommandLine cli("softmax-exact",
                                 "[Demyst] exact-fitted softmax MoE: D1 and per-parameter rates "
                                 "against n (theory -1/2; published slope -0.638).");
    moelab::cli::RegisterStudyFlags(&cli, &flags);
    if (!cli.Parse(argc, argv)) return 0;
    moelab::cli::ApplyProtocol(cli, false, &flags);
    moelab::cli::ApplyQuick(cli, {100, 10000, 8, 20, 1}, &flags);
    return moelab::cli::RunStudies(cli, flags, {moelab::cli::BuildStudy(flags, "softmax-exact")});
  });
}
