// load-balance: the load-balancing lab (issue 6). Runs a set of balancing
// policies on the same token stream (same seeds) and writes, into --out:
//   config.json       the resolved flags
//   steps.csv         one row per (policy, step), written as the run goes
//   loads.csv         expert loads / L every --loads-every steps (heat-map data)
//   summary.csv/.txt  final MaxVio, ALF-LB dual regret (moelab definition) at
//                     T, 2T, 4T (4T = steps), doubling ratio rho, growth
//                     exponents, run time
//   maxvio.png, regret.png, heatmap_<policy>.png  with their .gp and .dat
// See docs/load_balancing.md for the definitions.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "common/balance_cli.hpp"
#include "common/cli.hpp"
#include "moelab/core/resources.hpp"
#include "moelab/io/csv.hpp"
#include "moelab/io/gnuplot_plot.hpp"
#include "moelab/routing/balancing_policy.hpp"
#include "moelab/routing/load_balance_run.hpp"

namespace fs = std::filesystem;
using namespace moelab;

namespace {

std::string Cell(double v) { return CsvNumber(v, 10); }

}  // namespace

int main(int argc, char** argv) {
  return cli::RunMain([&] {
    long long steps = 8000, pool = 0, groups = 1, group_topk = 1, max_k = 0, null_experts = 0;
    long long shared = 0, eval_tokens = 4096, eval_every = 10, held_out = 8192, regret_every = 1;
    long long loads_every = 0, num_devices = 0, dynamic_every = 0, dynamic_tokens = 2048;
    std::uint64_t seed = 1;
    double gumbel = 0.0, top_p = 0.5, aux_lr = 1.0, capacity_factor = 1.25;
    bool quick = false;
    std::string score = "sigmoid", router = "topk", regret = "auto", out_dir;
    cli::BalanceStreamFlags stream;  // defaults: E = 8, K = 2, B = 128, one micro-batch
    cli::BalancePolicyFlags policy;
    policy.policies = "none,alf-const,alf-inv,alf-isqrt,alf-sign-inv,aux-global";
    cli::CommandLine cl("load-balance",
                        "Load-balancing lab: run balancing policies on one token stream and write per-step "
                        "CSV, a summary (MaxVio, ALF-LB dual regret (moelab definition), doubling ratio) "
                        "and plots. See docs/load_balancing.md.");
    policy.Register(cl, "; one term per policy here (combined terms: learn-balance)",
                    "1/mu_sc if known, else E/(B K)");
    stream.Register(cl, "scored experts E (routed + null)", "K experts per token", " (disables regret)", 1);
    cl.AddInt("steps", &steps, "steps 4T (regret is reported at T, 2T, 4T)");
    cl.AddUint64("seed", &seed, "seed of the stream (every policy sees the same tokens)");
    cl.AddString("score", &score, "score function: softmax, sigmoid, sqrt-softplus, logit");
    cl.AddDouble("gumbel", &gumbel, "scale of Gumbel noise added to the scores (0 = none)");
    cl.AddInt("pool", &pool, "draw covariates from a fixed pool of this size (0 = fresh draws)");
    cl.AddString("router", &router, "topk, grouped-topk, group-limited-topk, top-p");
    cl.AddInt("groups", &groups, "expert groups (grouped / group-limited)");
    cl.AddInt("group-topk", &group_topk, "groups kept per token (group-limited)");
    cl.AddDouble("top-p", &top_p, "threshold p in (0, 1] (top-p)");
    cl.AddInt("max-k", &max_k, "top-p cap (0 = E)");
    cl.AddInt("null-experts", &null_experts, "null experts among the scored experts (AdaMoE)");
    cl.AddInt("shared-experts", &shared, "always-on shared experts (counted apart)");
    cl.AddInt("devices", &num_devices, "device groups for the imbalance score IS (0 = --groups)");
    cl.AddDouble("aux-lr", &aux_lr, "learning rate of the logit offsets (aux arms)");
    cl.AddDouble("capacity-factor", &capacity_factor,
                 "expert capacity factor of the drop-rate metrics (>= 0; 0 = off)");
    cl.AddInt("eval-tokens", &eval_tokens, "held-out tokens for MaxVio_global (0 = off)");
    cl.AddInt("eval-every", &eval_every, "steps between MaxVio_global evaluations");
    cl.AddString("regret", &regret, "regret reference: auto, none, gumbel-exact, pool-lp, held-out-lp");
    cl.AddInt("held-out", &held_out, "held-out tokens for the held-out-lp reference");
    cl.AddInt("regret-every", &regret_every, "evaluate F(p_t) every this many steps");
    cl.AddInt("dynamic-every", &dynamic_every,
              "evaluate the dynamic regret against the per-step best price every this many steps (>= 0; "
              "0 = off; plain top-K only, meant for --drift > 0)");
    cl.AddInt("dynamic-tokens", &dynamic_tokens, "tokens of the per-step sample of the dynamic regret (>= 1)");
    cl.AddInt("loads-every", &loads_every, "steps between heat-map load rows (0 = steps/400)");
    cl.AddString("out", &out_dir, "output folder (required)");
    cl.AddBool("quick", &quick, "small smoke run: steps = min(steps, 800), eval-tokens <= 1024");
    if (!cl.Parse(argc, argv)) return 0;
    if (out_dir.empty()) throw std::invalid_argument("--out is required");
    if (quick) {
      steps = std::min(steps, 800LL);
      eval_tokens = std::min(eval_tokens, 1024LL);
      held_out = std::min(held_out, 2048LL);
    }

    LoadBalanceOptions o;
    stream.ApplyTo(&o.stream);
    o.stream.score_function = ParseScoreFunction(score);
    o.stream.gumbel_scale = gumbel;
    o.stream.pool_size = pool;
    o.router.kind = ParseRouterKind(router);
    o.router.top_k = static_cast<int>(stream.top_k);
    o.router.num_groups = static_cast<int>(groups);
    o.router.group_topk = static_cast<int>(group_topk);
    o.router.top_p = top_p;
    o.router.max_k = static_cast<int>(max_k);
    o.router.num_null_experts = static_cast<int>(null_experts);
    o.router.num_shared_experts = static_cast<int>(shared);
    o.num_steps = steps;
    o.seed = seed;
    o.eval_tokens = eval_tokens;
    o.eval_every = eval_every;
    o.num_devices = num_devices;
    o.regret.kind = ParseRegretReferenceKind(regret);
    o.regret.held_out_tokens = held_out;
    o.regret.every = regret_every;
    o.capacity_factor = capacity_factor;
    o.dynamic.every = dynamic_every;
    o.dynamic.held_out_tokens = dynamic_tokens;
    o.Validate();
    // Policies are checked before anything is written or set up.
    std::vector<BalancingPolicy> arms = policy.Parse();
    for (const auto& arm : arms)
      if (arm.terms.size() != 1)
        throw std::invalid_argument("--policies: '" + arm.name + "' combines terms with '+'; the frozen-router lab "
                                    "runs one term per policy (combined policies: learn-balance)");

    {  // Sizes from --steps, refused before the folder is made (~200 bytes per
       // steps.csv row, ~16 doubles of per-step results per policy in memory).
      const double rows = static_cast<double>(steps) *
                          static_cast<double>(arms.size());
      CheckDiskBudget(200.0 * rows, out_dir, "steps.csv", "--steps or --policies");
      CheckMemoryBudget(16.0 * 8.0 * rows, "", "the per-step results", "--steps or --policies");
    }
    const fs::path dir(out_dir);
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << cl.ResolvedJson() << "\n";

    const auto setup_start = std::chrono::steady_clock::now();
    const LoadBalanceSetup setup(o);
    const double setup_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start).count();
    const RegretReference& ref = setup.regret;
    const PolicyConstants constants = policy.Constants(
        ref.strong_convexity > 0 ? 1.0 / ref.strong_convexity : double(stream.experts) / double(stream.batch * stream.top_k),
        aux_lr);
    for (auto& arm : arms) arm = ResolvePolicy(arm, constants);
    std::printf("load-balance: E = %lld, K = %lld, B = %lld, T = %lld steps, router %s, score %s\n",
                stream.experts, stream.top_k, stream.batch, steps, router.c_str(), score.c_str());
    std::printf("ALF-LB dual regret (moelab definition): %s [%s, setup %.1f s]\n", ref.description.c_str(),
                ToString(ref.kind), setup_seconds);

    const Index every = loads_every > 0 ? loads_every : std::max<Index>(1, steps / 400);
    std::ofstream csv(dir / "steps.csv");
    csv << "policy,step,maxvio_batch,maxvio_micro,maxvio_global,minvio,cv,idle,imbalance,dual,"
           "regret_increment,cumulative_regret,bias_distance,real_per_token,shared_load,aux_loss,drop_rate,"
           "dropped_tokens,ec_unrouted,dynamic_increment,cumulative_dynamic_regret\n";
    std::ofstream loads_csv(dir / "loads.csv");
    loads_csv << "policy,step";
    for (Index j = 0; j < stream.experts - null_experts; ++j) loads_csv << ",c" << j;
    loads_csv << "\n";
    const bool tty = ::isatty(STDERR_FILENO);
    std::vector<LoadBalanceResult> results;
    std::vector<HeatMapSpec> heat(arms.size());
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const BalancingPolicy& arm = arms[a];
      const auto observer = [&](const StepRecord& r) {
        csv << arm.name << ',' << r.step << ',' << Cell(r.maxvio_batch) << ',' << Cell(r.maxvio_micro) << ','
            << Cell(r.maxvio_global) << ',' << Cell(r.minvio) << ',' << Cell(r.cv) << ',' << r.idle << ','
            << Cell(r.imbalance) << ',' << Cell(r.dual) << ',' << Cell(r.regret_increment) << ','
            << Cell(r.cumulative_regret) << ',' << Cell(r.bias_distance) << ',' << Cell(r.real_per_token)
            << ',' << Cell(r.shared_load) << ',' << Cell(r.aux_loss) << ',' << Cell(r.drop_rate) << ','
            << Cell(r.dropped_tokens) << ',' << Cell(r.ec_unrouted) << ',' << Cell(r.dynamic_increment) << ','
            << Cell(r.cumulative_dynamic_regret) << '\n';
        if (r.step % every == 0) {
          loads_csv << arm.name << ',' << r.step;
          for (Index j = 0; j < r.loads.size(); ++j) loads_csv << ',' << r.loads[j];
          loads_csv << '\n';
          const double L = r.loads.mean();
          heat[a].x.push_back(static_cast<double>(r.step));
          heat[a].rows = static_cast<int>(r.loads.size());
          for (Index j = 0; j < r.loads.size(); ++j) heat[a].values.push_back(L > 0 ? r.loads[j] / L : 0.0);
        }
        if (tty && (r.step + 1) % 500 == 0) {
          std::fprintf(stderr, "\r  %-18s step %lld / %lld  MaxVio %.3f", arm.name.c_str(),
                       static_cast<long long>(r.step + 1), steps, r.maxvio_batch);
        }
        if ((r.step + 1) % 1000 == 0) csv.flush();
      };
      results.push_back(RunLoadBalance(setup, arm.terms.front().options, arm.name, observer));
      if (tty) std::fprintf(stderr, "\r%80s\r", "");
      csv.flush();
      loads_csv.flush();
    }

    // Summary.
    const Index T = steps / 4;
    std::ofstream summary_csv(dir / "summary.csv");
    summary_csv << "policy,final_maxvio_batch,final_maxvio_global,R_T,R_2T,R_4T,T,rho,alpha_from_rho,"
                   "alpha_fit,R_over_T,seconds,final_drop_rate,dynamic_regret\n";
    std::ostringstream text;
    text << "ALF-LB dual regret (moelab definition), reference: " << ref.description << "\n";
    text << "T = " << T << " (4T = " << steps << " steps). rho = [R(4T)-R(2T)]/[R(2T)-R(T)]: 1 log, 1.41 sqrt, 2 linear.\n";
    char line[512];
    std::snprintf(line, sizeof line, "%-18s %10s %10s %8s %12s %12s %12s %7s %7s %7s %8s\n", "policy", "MaxVio_b",
                  "MaxVio_g", "drop", "R(T)", "R(2T)", "R(4T)", "rho", "a=lg2r", "a_fit", "sec");
    text << line;
    for (const auto& r : results) {
      double rt = std::nan(""), r2 = rt, r4 = rt, rho = rt, alpha = rt, fit = rt;
      if (!r.cumulative_regret.empty() && T >= 1) {
        rt = r.cumulative_regret[T - 1];
        r2 = r.cumulative_regret[2 * T - 1];
        r4 = r.cumulative_regret[4 * T - 1];
        rho = DoublingRatio(rt, r2, r4);
        alpha = rho > 0 ? std::log2(rho) : std::nan("");
        fit = RegretGrowthExponent(r.cumulative_regret, T, 4 * T);
      }
      summary_csv << r.policy << ',' << Cell(r.final_maxvio_batch) << ',' << Cell(r.final_maxvio_global) << ','
                  << Cell(rt) << ',' << Cell(r2) << ',' << Cell(r4) << ',' << T << ',' << Cell(rho) << ','
                  << Cell(alpha) << ',' << Cell(fit) << ',' << Cell(r4 / (4.0 * T)) << ',' << Cell(r.seconds)
                  << ',' << Cell(r.final_drop_rate) << ','
                  << Cell(r.cumulative_dynamic_regret.empty() ? std::nan("") : r.cumulative_dynamic_regret.back())
                  << '\n';
      std::snprintf(line, sizeof line, "%-18s %10.4f %10.4f %8.4f %12.4g %12.4g %12.4g %7.3f %7.3f %7.3f %8.1f\n",
                    r.policy.c_str(), r.final_maxvio_batch, r.final_maxvio_global, r.final_drop_rate, rt, r2, r4,
                    rho, alpha, fit, r.seconds);
      text << line;
    }
    std::ofstream(dir / "summary.txt") << text.str();
    std::cout << text.str();

    // Plots: MaxVio (block means over steps/200 steps) and cumulative regret.
    const Index block = std::max<Index>(1, steps / 200);
    PlotSpec maxvio;
    maxvio.title = "MaxVio_batch (block means of " + std::to_string(block) + " steps)";
    maxvio.x_label = "step";
    maxvio.y_label = "MaxVio_batch";
    maxvio.log_x = true;
    PlotSpec regret_plot;
    regret_plot.title = "ALF-LB dual regret (moelab definition)";
    regret_plot.x_label = "step T (log scale)";
    regret_plot.y_label = "cumulative regret R_T";
    regret_plot.log_x = true;
    regret_plot.key = "top left";
    regret_plot.notes = {"a straight line on this axis = log T regret"};
    int color = 1;
    for (const auto& r : results) {
      PlotSeries s{r.policy, PlotStyle::kLines, color, {}, {}, {}, {}};
      for (Index b = 0; b + block <= r.steps; b += block) {
        double sum = 0;
        for (Index t = b; t < b + block; ++t) sum += r.maxvio_batch[t];
        s.x.push_back(b + 0.5 * block + 1);
        s.y.push_back(sum / block);
      }
      maxvio.series.push_back(s);
      if (!r.cumulative_regret.empty()) {
        PlotSeries g{r.policy, PlotStyle::kLines, color, {}, {}, {}, {}};
        for (int i = 0; i <= 300; ++i) {
          const Index t = static_cast<Index>(std::round(std::pow(double(r.steps), i / 300.0)));
          if (!g.x.empty() && g.x.back() == t) continue;
          g.x.push_back(t);
          g.y.push_back(r.cumulative_regret[t - 1]);
        }
        regret_plot.series.push_back(g);
      }
      color = color % 8 + 1;
    }
    for (const auto& p : {WritePlot(maxvio, (dir / "maxvio").string()),
                          regret_plot.series.empty() ? PlotOutput{} : WritePlot(regret_plot, (dir / "regret").string())}) {
      if (!p.script.empty() && !p.drawn) std::fprintf(stderr, "warning: %s\n", p.message.c_str());
    }
    for (std::size_t a = 0; a < arms.size(); ++a) {
      HeatMapSpec& h = heat[a];
      h.title = "expert load / L over time: " + arms[a].name;
      h.x_label = "step";
      h.y_label = "expert";
      h.cb_label = "load / L";
      std::string stem = "heatmap_" + arms[a].name;
      for (char& c : stem)
        if (c == '@' || c == '/') c = '_';
      const PlotOutput p = WriteHeatMap(h, (dir / stem).string());
      if (!p.drawn) std::fprintf(stderr, "warning: %s\n", p.message.c_str());
    }
    std::printf("wrote %s/{config.json, steps.csv, loads.csv, summary.csv, summary.txt, *.png}\n",
                out_dir.c_str());
    return 0;
  });
}
