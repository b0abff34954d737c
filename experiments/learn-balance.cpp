// learn-balance: the learning mode of the load-balancing lab (issue 17).
// Trains a top-K Gaussian MoE on the token stream by Adam on its
// log-likelihood while each balancing policy acts, for every seed, and
// writes into --out:
//   config.json       the resolved flags
//   steps.csv         one row per (policy, seed, step), written as it goes
//   runs.csv          one row per (policy, seed): final metrics
//   summary.csv/.txt  per policy: mean [95% t-interval] over seeds and median
//   paired.csv        per policy and metric: difference to the FIRST policy
//                     on the same seed, mean [95% t-interval] and median
//   frontier_nll.{png,svg,pdf}  final held-out NLL minus the first policy's
//                     (paired by seed, 95% t-interval) against MaxVio_global,
//                     one line per policy family (the L1 frontier)
//   frontier_d1.{png,svg,pdf}   the same for the Voronoi D1
//   training.{png,svg,pdf}      held-out NLL against step (seed means)
// With --drift and --dynamic-every, steps.csv and runs.csv also carry the
// dynamic regret against the per-step best price (learning_run.hpp).
// The held-out NLL uses the routing of inference: the prices' biased
// selection for ALF-LB arms (heldout_nll_unbiased drops the prices).
// See docs/load_balancing.md ("Learning mode").
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/balance_cli.hpp"
#include "common/cli.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/io/csv.hpp"
#include "moelab/io/gnuplot_plot.hpp"
#include "moelab/routing/balancing_policy.hpp"
#include "moelab/routing/learning_run.hpp"
#include "moelab/routing/replicate_interval.hpp"

namespace fs = std::filesystem;
using namespace moelab;

namespace {

std::string Cell(double v) { return CsvNumber(v, 8); }

// The final metrics of one run, by name (order = CSV order).
std::vector<std::pair<std::string, double>> Finals(const LearningResult& r) {
  return {{"heldout_nll", r.final_heldout_nll},
          {"heldout_nll_unbiased", r.final_heldout_nll_unbiased},
          {"d1", r.final_d1},
          {"hellinger", r.final_hellinger},
          {"maxvio_batch", r.final_maxvio_batch},
          {"maxvio_micro", r.final_maxvio_micro},
          {"maxvio_global", r.final_maxvio_global},
          {"drop_rate", r.final_drop_rate},
          {"ec_unrouted", r.final_ec_unrouted},
          {"domain_mi", r.final_domain_mi},
          {"dynamic_regret", r.final_dynamic_regret}};
}

}  // namespace

int main(int argc, char** argv) {
  return cli::RunMain([&] {
    long long steps = 2000, init_tokens = 4096, eval_tokens = 4096, eval_every = 20, metrics_every = 200;
    long long hellinger_max_x = 1024, dynamic_every = 0, dynamic_tokens = 2048;
    double expert_slope_scale = 1.0, expert_intercept_spread = 2.0, noise_variance = 0.25;
    double learning_rate = 0.05, final_rate_fraction = 0.01, capacity_factor = 1.25;
    bool quick = false, em_baseline = false;
    std::string schedule = "linear", seeds = "1", out_dir;
    cli::BalanceStreamFlags stream;
    stream.batch = 256;
    stream.microbatches = 4;
    cli::BalancePolicyFlags policy;
    policy.policies = "none,aux-global,alf-const";
    cli::CommandLine cl("learn-balance",
                        "Learning mode of the load-balancing lab: train a top-K Gaussian MoE by Adam on its "
                        "log-likelihood under each balancing policy and measure held-out NLL, Voronoi D1, "
                        "E_X Hellinger, MaxVio and dropped tokens against the known truth. See "
                        "docs/load_balancing.md.");
    policy.Register(cl, "; join terms with '+' (e.g. aux-global@1e-2+aux-micro@1e-4)", "E / (B K)");
    stream.Register(cl, "experts E of truth and model", "K of truth and model, at most E (E = softmax gate)",
                    " (learning mode: the held-out set keeps the step-0 law)", 2);
    cl.AddString("seeds", &seeds, "comma list of seeds (each >= 0): one replicate per seed");
    cl.AddInt("steps", &steps, "training steps T (>= 1)");
    cl.AddDouble("expert-slope-scale", &expert_slope_scale, "sd of the true expert slopes (>= 0)");
    cl.AddDouble("expert-intercept-spread", &expert_intercept_spread,
                 "true expert intercepts evenly spaced on [-s, s] (>= 0)");
    cl.AddDouble("noise-variance", &noise_variance, "variance of every true expert (> 0)");
    cl.AddDouble("learning-rate", &learning_rate, "Adam step at t = 0 (> 0)");
    cl.AddString("schedule", &schedule, "learning-rate schedule: const, linear (to final-rate-fraction), isqrt");
    cl.AddDouble("final-rate-fraction", &final_rate_fraction, "linear schedule: last rate / first, in [0, 1]");
    cl.AddInt("init-tokens", &init_tokens, "tokens of the data-driven start (>= 10 E (d + 2))");
    cl.AddInt("eval-tokens", &eval_tokens, "held-out tokens (>= 1)");
    cl.AddInt("eval-every", &eval_every, "steps between held-out evaluations (>= 1)");
    cl.AddInt("metrics-every", &metrics_every, "steps between D1 / Hellinger evaluations (0 = last step only)");
    cl.AddInt("hellinger-max-x", &hellinger_max_x, "Monte Carlo cap of E_X Hellinger (>= 256)");
    cl.AddDouble("capacity-factor", &capacity_factor, "capacity factor of the drop-rate metrics (> 0)");
    cl.AddInt("dynamic-every", &dynamic_every,
              "steps between evaluations of the dynamic regret against the per-step best price of the current "
              "router (0 = off; meant for --drift > 0; needs K < E)",
              {0, cli::kIntMax});
    cl.AddInt("dynamic-tokens", &dynamic_tokens, "tokens of the per-step sample of the dynamic regret",
              {1, cli::kIntMax});
    cl.AddBool("em-baseline", &em_baseline,
               "also fit batch EM (from the same start) on each seed's T B training tokens and report its D1 "
               "and held-out NLL (the batch-MLE reference)");
    cl.AddString("out", &out_dir, "output folder (required)");
    cl.AddBool("quick", &quick, "smoke run: steps <= 100, metrics only at the end");
    if (!cl.Parse(argc, argv)) return 0;
    if (out_dir.empty()) throw std::invalid_argument("--out is required");
    if (quick) {
      steps = std::min(steps, 100LL);
      metrics_every = 0;
      hellinger_max_x = 256;
    }

    LearningRunOptions o;
    stream.ApplyTo(&o.stream);
    o.stream.score_function = ScoreFunction::kSoftmax;
    o.top_k = static_cast<int>(stream.top_k);
    o.expert_slope_scale = expert_slope_scale;
    o.expert_intercept_spread = expert_intercept_spread;
    o.noise_variance = noise_variance;
    o.num_steps = steps;
    o.learning_rate = learning_rate;
    o.schedule = ParseLearningRateSchedule(schedule);
    o.final_rate_fraction = final_rate_fraction;
    o.init_tokens = init_tokens;
    o.eval_tokens = eval_tokens;
    o.eval_every = eval_every;
    o.metrics_every = metrics_every;
    o.capacity_factor = capacity_factor;
    o.hellinger_max_x = hellinger_max_x;
    o.dynamic_every = dynamic_every;
    o.dynamic_tokens = dynamic_tokens;
    o.Validate();
    // Everything is checked before anything is written.
    std::vector<BalancingPolicy> arms = policy.Parse();
    for (const auto& arm : arms) CheckLearningPolicy(arm);
    std::vector<std::uint64_t> seed_list;
    for (long long s : cli::ParseIntList(seeds, "--seeds")) {
      if (s < 0) throw std::invalid_argument("--seeds: " + std::to_string(s) + " must be >= 0");
      seed_list.push_back(static_cast<std::uint64_t>(s));
    }
    if (seed_list.empty()) throw std::invalid_argument("--seeds is empty");
    const PolicyConstants constants =
        policy.Constants(double(stream.experts) / double(stream.batch * stream.top_k), 1.0);
    for (auto& arm : arms) arm = ResolvePolicy(arm, constants);

    const fs::path dir(out_dir);
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << cl.ResolvedJson() << "\n";
    std::ofstream csv(dir / "steps.csv");
    csv << "policy,seed,step,learning_rate,train_nll,aux_loss,heldout_nll,heldout_nll_unbiased,maxvio_batch,"
           "maxvio_micro,maxvio_global,drop_rate,dropped_tokens,ec_unrouted,domain_mi,d1,hellinger,hellinger_se,"
           "dynamic_increment,cumulative_dynamic_regret\n";
    std::ofstream runs(dir / "runs.csv");
    runs << "policy,seed";
    LearningResult dummy;
    for (const auto& [name, v] : Finals(dummy)) runs << ',' << name;
    runs << ",truth_heldout_nll,finite,seconds,truth_maxvio_global\n";
    std::printf("learn-balance: E = %lld, K = %lld, d = %lld, B = %lld (%lld micro-batches), T = %lld, %zu seeds\n",
                stream.experts, stream.top_k, stream.dim, stream.batch, stream.microbatches, steps, seed_list.size());
    std::printf("held-out NLL uses the inference routing: TopK(z - p), the biased selection for ALF-LB arms\n");

    // results[policy][seed]
    std::vector<std::vector<LearningResult>> results(arms.size());
    std::vector<std::map<Index, std::vector<double>>> nll_curve(arms.size());
    for (std::uint64_t seed : seed_list) {
      o.seed = seed;
      const LearningSetup setup(o);
      std::printf("  seed %llu: the truth's held-out NLL %.4f, its own MaxVio_global %.3f\n",
                  static_cast<unsigned long long>(seed), setup.truth_heldout_nll, setup.truth_maxvio_global);
      if (em_baseline) {
        EmOptions em;
        em.max_iterations = 1000;
        const FitResult fit = FitEm(DrawTrainingTokens(setup, steps), setup.start, em);
        const double d1 = LearningD1(setup.truth, fit.params);
        const double nll = HeldOutNll(setup, fit.params);
        std::printf("  batch EM, seed %llu: D1 %.4f, held-out NLL %.4f (truth %.4f, start D1 %.4f); %s after %d "
                    "iterations\n",
                    static_cast<unsigned long long>(seed), d1, nll, setup.truth_heldout_nll,
                    LearningD1(setup.truth, setup.start), ToString(fit.termination), fit.iterations);
        // Through Finals, so the row has the header's columns: the batch fit
        // has no prices (both NLL columns are its density) and no per-step
        // metrics (NaN: empty cells).
        LearningResult em_row;
        for (double* f : {&em_row.final_heldout_nll, &em_row.final_heldout_nll_unbiased, &em_row.final_d1,
                          &em_row.final_hellinger, &em_row.final_maxvio_batch, &em_row.final_maxvio_micro,
                          &em_row.final_maxvio_global, &em_row.final_drop_rate, &em_row.final_ec_unrouted,
                          &em_row.final_domain_mi, &em_row.final_dynamic_regret})
          *f = std::nan("");
        em_row.final_heldout_nll = em_row.final_heldout_nll_unbiased = nll;
        em_row.final_d1 = d1;
        runs << "batch-em," << seed;
        for (const auto& [name, v] : Finals(em_row)) runs << ',' << Cell(v);
        runs << ',' << Cell(setup.truth_heldout_nll) << ',' << (fit.IsUsable() ? 1 : 0) << ',' << Cell(fit.seconds)
             << ',' << Cell(setup.truth_maxvio_global) << '\n';
      }
      for (std::size_t a = 0; a < arms.size(); ++a) {
        const auto observer = [&](const LearningStepRecord& r) {
          csv << arms[a].name << ',' << seed << ',' << r.step << ',' << Cell(r.learning_rate) << ','
              << Cell(r.train_nll) << ',' << Cell(r.aux_loss) << ',' << Cell(r.heldout_nll) << ','
              << Cell(r.heldout_nll_unbiased) << ',' << Cell(r.maxvio_batch) << ',' << Cell(r.maxvio_micro) << ','
              << Cell(r.maxvio_global) << ',' << Cell(r.drop_rate) << ',' << Cell(r.dropped_tokens) << ','
              << Cell(r.ec_unrouted) << ',' << Cell(r.domain_mi) << ',' << Cell(r.d1) << ',' << Cell(r.hellinger)
              << ',' << Cell(r.hellinger_se) << ',' << Cell(r.dynamic_increment) << ','
              << Cell(r.cumulative_dynamic_regret) << '\n';
          if (!std::isnan(r.heldout_nll)) nll_curve[a][r.step].push_back(r.heldout_nll);
        };
        LearningResult r = RunLearning(setup, arms[a], observer);
        runs << r.policy << ',' << seed;
        for (const auto& [name, v] : Finals(r)) runs << ',' << Cell(v);
        runs << ',' << Cell(setup.truth_heldout_nll) << ',' << (r.finite ? 1 : 0) << ',' << Cell(r.seconds) << ','
             << Cell(setup.truth_maxvio_global) << '\n';
        if (!r.finite)
          std::fprintf(stderr, "warning: %s seed %llu: the loss became non-finite at step %lld; run stopped\n",
                       r.policy.c_str(), static_cast<unsigned long long>(seed), static_cast<long long>(r.steps));
        std::fprintf(stderr, "  %-28s seed %llu: NLL %.4f  D1 %.4f  MaxVio_global %.3f  (%.1f s)\n",
                     r.policy.c_str(), static_cast<unsigned long long>(seed), r.final_heldout_nll, r.final_d1,
                     r.final_maxvio_global, r.seconds);
        results[a].push_back(std::move(r));
        csv.flush();
        runs.flush();
      }
    }

    // Summary: mean [95% t-interval] and median over seeds.
    std::ofstream summary_csv(dir / "summary.csv");
    summary_csv << "policy,metric,n,mean,lower,upper,median\n";
    std::ostringstream text;
    text << "learn-balance: " << seed_list.size() << " seeds; mean [95% t-interval] (median) of final values.\n"
         << "heldout_nll: inference routing (biased selection for ALF-LB); d1, hellinger: the learned "
            "parameters' own density (no prices).\n";
    std::vector<std::map<std::string, MeanInterval>> stats(arms.size());
    for (std::size_t a = 0; a < arms.size(); ++a) {
      text << "\n" << arms[a].name << "\n";
      int not_finite = 0;
      for (const auto& r : results[a]) not_finite += !r.finite;
      if (not_finite > 0) text << "  WARNING: " << not_finite << " run(s) stopped on a non-finite loss\n";
      for (std::size_t m = 0; m < Finals(dummy).size(); ++m) {
        std::vector<double> v;
        for (const auto& r : results[a]) v.push_back(Finals(r)[m].second);
        const std::string name = Finals(dummy)[m].first;
        const MeanInterval s = StudentMeanInterval(v);
        stats[a][name] = s;
        summary_csv << arms[a].name << ',' << name << ',' << s.n << ',' << Cell(s.mean) << ',' << Cell(s.lower)
                    << ',' << Cell(s.upper) << ',' << Cell(s.median) << '\n';
        char line[256];
        std::snprintf(line, sizeof line, "  %-22s %10.5g [%10.5g, %10.5g]  (%.5g)\n", name.c_str(), s.mean, s.lower,
                      s.upper, s.median);
        text << line;
      }
    }
    // Paired differences to the first policy (same seed = same truth, tokens
    // and start): the seeds' truths differ, so between-seed spread dominates
    // the per-policy intervals; the paired intervals answer "which direction".
    std::ofstream paired_csv(dir / "paired.csv");
    paired_csv << "policy,reference,metric,n,mean_difference,lower,upper,median_difference\n";
    if (arms.size() > 1) {
      text << "\nPaired differences to '" << arms[0].name
           << "' (same seed): mean [95% t-interval] (median)\n";
      for (std::size_t a = 1; a < arms.size(); ++a) {
        text << "\n" << arms[a].name << " - " << arms[0].name << "\n";
        for (std::size_t m = 0; m < Finals(dummy).size(); ++m) {
          std::vector<double> diff;
          for (std::size_t k = 0; k < seed_list.size(); ++k)
            diff.push_back(Finals(results[a][k])[m].second - Finals(results[0][k])[m].second);
          const std::string name = Finals(dummy)[m].first;
          const MeanInterval s = StudentMeanInterval(diff);
          paired_csv << arms[a].name << ',' << arms[0].name << ',' << name << ',' << s.n << ',' << Cell(s.mean)
                     << ',' << Cell(s.lower) << ',' << Cell(s.upper) << ',' << Cell(s.median) << '\n';
          char line[256];
          std::snprintf(line, sizeof line, "  %-22s %+10.4g [%+10.4g, %+10.4g]  (%+.4g)\n", name.c_str(), s.mean,
                        s.lower, s.upper, s.median);
          text << line;
        }
      }
    }
    std::ofstream(dir / "summary.txt") << text.str();
    std::cout << text.str();

    // Plots: frontiers (one point per policy, interval over seeds on y) and
    // the training curve.
    auto frontier = [&](const std::string& metric, const std::string& label, const std::string& stem) {
      // One colour per policy family (name before '@'), its points joined in
      // order of MaxVio_global; y = paired difference to the first policy.
      PlotSpec spec;
      spec.title = label + " minus " + arms[0].name + "'s (same seed) against MaxVio_global";
      spec.notes = {"points: means over seeds; bars: 95% t-interval of the paired difference"};
      spec.x_label = "MaxVio_global (held-out set, mean over seeds)";
      spec.y_label = label + " - " + arms[0].name;
      spec.key = "outside right";
      std::vector<std::string> families;
      for (const auto& arm : arms) {
        const std::string f = arm.name.substr(0, arm.name.find('@'));
        if (std::find(families.begin(), families.end(), f) == families.end()) families.push_back(f);
      }
      for (std::size_t fi = 0; fi < families.size(); ++fi) {
        const int color = static_cast<int>(fi % 8) + 1;
        std::vector<std::array<double, 4>> pts;  // x, y, low, high
        for (std::size_t a = 0; a < arms.size(); ++a) {
          if (arms[a].name.substr(0, arms[a].name.find('@')) != families[fi]) continue;
          std::vector<double> diff;
          for (std::size_t k = 0; k < seed_list.size(); ++k) {
            const auto fa = Finals(results[a][k]), f0 = Finals(results[0][k]);
            for (std::size_t m = 0; m < fa.size(); ++m)
              if (fa[m].first == metric) diff.push_back(fa[m].second - f0[m].second);
          }
          const MeanInterval d = StudentMeanInterval(diff);
          const double x = stats[a]["maxvio_global"].mean;
          pts.push_back({x, d.mean, std::isnan(d.lower) ? d.mean : d.lower, std::isnan(d.upper) ? d.mean : d.upper});
        }
        std::sort(pts.begin(), pts.end());
        PlotSeries bars{families[fi], PlotStyle::kYErrorBars, color, {}, {}, {}, {}};
        PlotSeries line{"", PlotStyle::kLines, color, {}, {}, {}, {}};
        for (const auto& q : pts) {
          bars.x.push_back(q[0]);
          bars.y.push_back(q[1]);
          bars.y_low.push_back(q[2]);
          bars.y_high.push_back(q[3]);
          line.x.push_back(q[0]);
          line.y.push_back(q[1]);
        }
        spec.series.push_back(bars);
        if (pts.size() > 1) spec.series.push_back(line);
      }
      const PlotOutput p = WritePlot(spec, (dir / stem).string());
      if (!p.drawn) std::fprintf(stderr, "warning: %s\n", p.message.c_str());
    };
    frontier("heldout_nll", "held-out NLL (inference routing)", "frontier_nll");
    frontier("d1", "Voronoi D1 to the truth", "frontier_d1");
    PlotSpec curve;
    curve.title = "held-out NLL (inference routing), mean over seeds";
    curve.x_label = "step";
    curve.y_label = "held-out NLL";
    curve.key = "outside right";
    int color = 1;
    for (std::size_t a = 0; a < arms.size(); ++a) {
      PlotSeries s{arms[a].name, PlotStyle::kLines, color, {}, {}, {}, {}};
      for (const auto& [step, v] : nll_curve[a]) {
        double sum = 0;
        for (double x : v) sum += x;
        s.x.push_back(static_cast<double>(step + 1));
        s.y.push_back(sum / v.size());
      }
      curve.series.push_back(s);
      color = color % 8 + 1;
    }
    const PlotOutput p = WritePlot(curve, (dir / "training").string());
    if (!p.drawn) std::fprintf(stderr, "warning: %s\n", p.message.c_str());
    std::printf("wrote %s/{config.json, steps.csv, runs.csv, summary.csv, paired.csv, summary.txt, frontier_*.png, "
                "training.png}\n",
                out_dir.c_str());
    return 0;
  });
}
