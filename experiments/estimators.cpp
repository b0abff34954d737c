// estimators: EM vs direct MLE (NLopt L-BFGS) vs least squares (Ceres) on one
// preset (default softmax-exact), same cells (same seeds, hence the same data
// sets and starting points) for each: loss slope, loss and excess
// log-likelihood at the largest n, and time per fit, side by side.
// Default grid: 8 log-spaced n in [2e2, 2e4], 20 reps. --quick: 5 n in
// [200, 5000], 6 reps.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "common/study_cli.hpp"

int main(int argc, char** argv) {
  return moelab::cli::RunMain([&] {
    moelab::cli::StudyFlags flags;
    flags.n_min = 200;
    flags.n_max = 20000;
    flags.n_count = 8;
    flags.reps = 20;
    std::string estimator_list = "em,mle-nlopt,lse-ceres";
    moelab::cli::CommandLine cli("estimators",
                                 "EM vs NLopt-MLE vs Ceres-LSE on one preset: loss, log-likelihood "
                                 "and time side by side.");
    moelab::cli::RegisterStudyFlags(&cli, &flags);
    cli.AddString("estimator-list", &estimator_list, "estimators to compare (overrides --estimator)");
    if (!cli.Parse(argc, argv)) return 0;
    moelab::cli::ApplyProtocol(cli, false, &flags);
    moelab::cli::ApplyQuick(cli, {200, 5000, 5, 6, 1}, &flags);
    std::vector<moelab::RateStudyConfig> studies;
    for (const auto& estimator : moelab::cli::SplitList(estimator_list, "option --estimator-list")) {
      moelab::cli::StudyFlags f = flags;
      f.estimator = estimator;
      studies.push_back(moelab::cli::BuildStudy(f, flags.preset + "-" + f.estimator));
    }
    const std::string out = flags.out;
    const auto side_by_side = [&](const std::vector<moelab::SlopeRow>& rows) {
      std::string text = "== estimators side by side (largest n)\n";
      char line[300];
      std::snprintf(line, sizeof line, "  %-28s %-22s %-12s %-14s %-10s\n", "study", "loss slope [CI]",
                    "mean loss", "loglik excess", "s/fit");
      text += line;
      for (const auto& s : studies) {
        double slope = NAN, lo = NAN, hi = NAN, loss = NAN, excess = NAN;
        for (const auto& r : rows) {
          if (r.study != s.name || !r.fit.ok) continue;
          if (r.column == "loss_d1" || r.column == "loss_d2") {
            slope = r.fit.mean.slope, lo = r.fit.ci_lower, hi = r.fit.ci_upper;
            if (r.fit.used_n.back() == static_cast<double>(s.sample_sizes.back())) loss = r.fit.used_mean.back();
          }
        }
        // Excess log-likelihood and time at the largest n, straight from the cells.
        const auto dir = std::filesystem::path(out) / s.name;
        const auto records = moelab::ReadCellRecords((dir / "cells.csv").string(), s.ValueColumns());
        const auto columns = s.ValueColumns();
        const std::size_t ex = std::find(columns.begin(), columns.end(), "loglik_excess") - columns.begin();
        double sum = 0.0, seconds = 0.0;
        int count = 0, timed = 0;
        for (const auto& r : records)
          if (r.key.n == s.sample_sizes.back() && std::isfinite(r.values[ex])) sum += r.values[ex], ++count;
        for (const auto& t : moelab::ReadTimings((dir / "timings.csv").string()))
          if (t.key.n == s.sample_sizes.back()) seconds += t.seconds, ++timed;
        if (count > 0) excess = sum / count;
        char slope_text[64];
        std::snprintf(slope_text, sizeof slope_text, "%.3f [%.3f, %.3f]", slope, lo, hi);
        std::snprintf(line, sizeof line, "  %-28s %-22s %-12.4g %-14.4g %-10.3g\n", s.name.c_str(), slope_text,
                      loss, excess, timed > 0 ? seconds / timed : NAN);
        text += line;
      }
      return text + "  (loglik excess = (l_fit - l_true)/n; the MLE maximises l, LSE does not)\n";
    };
    return moelab::cli::RunStudies(cli, flags, studies, side_by_side);
  });
}
