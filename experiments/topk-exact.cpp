// topk-exact: the [TopK] exact-specified setting (docs/theory.md §4.2). True
// top-2-of-3 gate ranked by beta1' x with x ~ U[-1, 1] so that every
// selection region has positive mass (docs/theory.md §2.2.2); fitted with k = 3, K = 2 by EM
// from near-truth starts. Theory: D1, weights and every parameter at the
// parametric n^-1/2 (up to log factors). Default grid: 12 log-spaced n in
// [2e2, 1e5], 40 reps. --quick: 8 n in [200, 1e4], 20 reps.
#include "common/study_cli.hpp"

int main(int argc, char** argv) {
  return moelab::cli::RunMain([&] {
    moelab::cli::StudyFlags flags;
    flags.preset = "topk-exact";
    flags.n_min = 200;
    flags.n_count = 12;
    moelab::cli::CommandLine cli("topk-exact",
                                 "[TopK] exact-specified top-K sparse softmax MoE: D1 and "
                                 "per-parameter rates against n (theory -1/2).");
    moelab::cli::RegisterStudyFlags(&cli, &flags);
    if (!cli.Parse(argc, argv)) return 0;
    moelab::cli::ApplyProtocol(cli, false, &flags);
    moelab::cli::ApplyQuick(cli, {200, 10000, 8, 20, 1}, &flags);
    return moelab::cli::RunStudies(cli, flags, {moelab::cli::BuildStudy(flags, "topk-exact")});
  });
}
