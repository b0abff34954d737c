// topk-over: the [TopK] over-specified setting (docs/theory.md §4.2-4.3). The
// topk-exact truth (k* = 3, K = 2) fitted with k = 4 experts twice:
//   topk-over-kbar3  top-3: the always-selected expert's cell holds 2 atoms
//                    and every selection region needs 2 + 1 = 3 = K-bar
//                    atoms, so the cardinality condition holds; theory: D2
//                    and the weights at -1/2, parameters in the 2-atom cell at
//                    -1/8 (beta1, b) and -1/4 (a, variance);
//   topk-over-kbar2  top-2 (--bad-top-k): the cardinality condition as the
//                    reconstruction in docs/theory.md §4.3 states it (low
//                    confidence) fails, and that reading predicts a density
//                    that cannot converge. What
//                    moelab measures instead: D2 and its weight term stall
//                    (slope ~0), but the density still converges (Hellinger
//                    ~n^-0.46), because a top-2 fit can give the shared
//                    expert one copy per selection region (beta1 ~ 4 +- e),
//                    each carrying that expert's full weight there. The
//                    condition is therefore not necessary for density
//                    convergence in this geometry; see docs/rate_studies.md.
// Default protocol: certified (see softmax-over): 14 log-spaced n in [5e2,
// 3e5], 40 reps, 3 starts (near-truth + data + random), infimum gauge.
// --protocol published: near-truth starts, relative tolerance 1e-6, the
// reference gauge, 10 n in [5e2, 1e5]. --quick: 6 n in [500, 1e4], 4 reps,
// 2 starts.
#include "common/study_cli.hpp"

int main(int argc, char** argv) {
  return moelab::cli::RunMain([&] {
    moelab::cli::StudyFlags flags;
    flags.preset = "topk-over";
    flags.protocol = "certified";  // issue: over-fitted studies measure certified MLEs
    flags.n_min = 500;
    flags.n_count = 10;
    flags.starts = 3;
    long long bad_top_k = 2;
    moelab::cli::CommandLine cli("topk-over",
                                 "[TopK] over-specified top-K MoE: a K-bar meeting the cardinality "
                                 "condition (slow parameter rates) and one violating it (the Voronoi "
                                 "weights then stall).");
    moelab::cli::RegisterStudyFlags(&cli, &flags);
    cli.AddInt("bad-top-k", &bad_top_k, "K-bar of the run violating the cardinality condition (0 = skip)");
    if (!cli.Parse(argc, argv)) return 0;
    moelab::cli::ApplyProtocol(cli, true, &flags);
    moelab::cli::ApplyQuick(cli, {500, 10000, 6, 4, 2}, &flags);
    std::vector<moelab::RateStudyConfig> studies;
    const moelab::Preset preset = moelab::GetPreset(flags.preset);
    const long long good = flags.top_k > 0 ? flags.top_k : preset.fitted_top_k;
    studies.push_back(moelab::cli::BuildStudy(flags, "topk-over-kbar" + std::to_string(good)));
    if (bad_top_k > 0) {
      moelab::cli::StudyFlags f = flags;
      f.top_k = bad_top_k;
      studies.push_back(moelab::cli::BuildStudy(f, "topk-over-kbar" + std::to_string(bad_top_k)));
    }
    return moelab::cli::RunStudies(cli, flags, studies);
  });
}
