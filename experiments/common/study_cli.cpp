#include "common/study_cli.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "moelab/rates/sample_grid.hpp"
#ifdef MOELAB_WITH_MPI
#include "moelab/rates/mpi/mpi_cell_runner.hpp"
#endif

namespace moelab::cli {
namespace {

namespace fs = std::filesystem;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write '" + path + "'");
  out << text;
}

}  // namespace

void RegisterStudyFlags(CommandLine* cli, StudyFlags* f) {
  std::string presets;
  for (const auto& n : PresetNames()) presets += (presets.empty() ? "" : ", ") + n;
  cli->AddString("preset", &f->preset, "true model and design (" + presets + ")");
  cli->AddInt("k", &f->k, "fitted number of experts (0 = the preset's)");
  cli->AddString("gate", &f->gate, "fitted gate: softmax, topk, temperature, activation ('' = the truth's)");
  cli->AddInt("top-k", &f->top_k, "fitted K-bar of a top-K gate (0 = the preset's)");
  cli->AddString("design", &f->design, "covariate design: uniform, normal, grid ('' = the preset's)");
  cli->AddString("estimator", &f->estimator, "em, mle-nlopt or lse-ceres");
  cli->AddString("init", &f->init, "initialisation: near-truth, random, data");
  cli->AddInt("starts", &f->starts, "starting points per fit (best log-likelihood kept)");
  cli->AddInt("max-iterations", &f->max_iterations,
              "EM iterations / NLopt evaluations / Ceres iterations per fit");
  cli->AddDouble("tolerance", &f->tolerance, "EM relative log-likelihood tolerance");
  cli->AddBool("fit-temperature", &f->fit_temperature, "temperature/activation gates: also fit tau");
  cli->AddString("gauge", &f->gauge, "Voronoi loss gauge: reference (the [Demyst] code's) or infimum");
  cli->AddString("temperature-loss", &f->temperature_loss,
                 "temperature-gate atoms in the loss: ratio (beta/tau) or raw (beta1, tau)");
  cli->AddInt("n-min", &f->n_min, "smallest sample size of the log-spaced grid");
  cli->AddInt("n-max", &f->n_max, "largest sample size of the log-spaced grid");
  cli->AddInt("n-count", &f->n_count, "number of log-spaced grid points");
  cli->AddString("n-list", &f->n_list, "explicit comma-separated sample sizes (overrides n-min/max/count)");
  cli->AddInt("reps", &f->reps, "replications per sample size");
  cli->AddUint64("seed", &f->seed, "base seed; cell seed = DeriveSeed(seed, n, replication)");
  cli->AddInt("trim", &f->trim, "slope fit: drop this many smallest sample sizes");
  cli->AddInt("bootstrap", &f->bootstrap, "bootstrap resamples for the slope interval");
  cli->AddDouble("confidence", &f->confidence, "coverage of the slope interval");
  cli->AddInt("threads", &f->threads, "worker threads, one fit each (0 = all cores); results do not depend on it");
  cli->AddString("out", &f->out, "output folder (required); a killed run restarted here resumes");
  cli->AddBool("quick", &f->quick, "minutes-long version: smaller grid and fewer replications");
  cli->AddBool("progress", &f->progress, "progress line on a terminal");
  cli->AddString("shard", &f->shard,
                 "i/N: run only shard i of N (cells at positions = i mod N of the (n, replication) "
                 "list) into --out; combine the shards with --merge");
  cli->AddString("merge", &f->merge,
                 "comma-separated shard output folders to merge into --out (same study flags)");
  cli->AddBool("coordinator-computes", &f->coordinator_computes,
               "MPI runs: rank 0 also computes cells beside handing them out");
}

int MpiLaunchSize() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
  }
  return std::getenv("PMIX_RANK") ? -1 : 0;
}

void ApplyQuick(const CommandLine& cli, const QuickSettings& q, StudyFlags* f) {
  if (!f->quick) return;
  if (!cli.WasSet("n-min")) f->n_min = q.n_min;
  if (!cli.WasSet("n-max")) f->n_max = q.n_max;
  if (!cli.WasSet("n-count")) f->n_count = q.n_count;
  if (!cli.WasSet("reps")) f->reps = q.reps;
  if (!cli.WasSet("starts")) f->starts = q.starts;
}

RateStudyConfig BuildStudy(const StudyFlags& f, const std::string& name) {
  const Preset preset = GetPreset(f.preset);
  RateStudyConfig c;
  c.name = name;
  c.truth = preset.truth;
  c.design = preset.design;
  if (!f.design.empty()) {
    c.design.kind = ParseDesignKind(f.design);
    if (c.design.kind == DesignKind::kNormal) c.design.lower = -1, c.design.upper = 1;
  }
  c.fitted = ShapeOf(preset.truth);
  c.fitted.num_experts = f.k > 0 ? f.k : preset.fitted_experts;
  if (!f.gate.empty()) c.fitted.gate = ParseGateKind(f.gate);
  if (c.fitted.gate == GateKind::kTopK)
    c.fitted.top_k = static_cast<int>(f.top_k > 0 ? f.top_k
                                      : preset.fitted_top_k > 0 ? preset.fitted_top_k
                                                                : preset.truth.gate.top_k);
  else
    c.fitted.top_k = 0;
  c.estimator = ParseEstimatorKind(f.estimator);
  c.em.max_iterations = static_cast<int>(f.max_iterations);
  c.em.relative_tolerance = f.tolerance;
  c.em.fit_temperature = f.fit_temperature;
  c.em.num_threads = 1;
  c.mle.max_evaluations = static_cast<int>(f.max_iterations) * 5;
  c.mle.fit_temperature = f.fit_temperature;
  c.lse.max_iterations = static_cast<int>(f.max_iterations);
  c.init = ParseInitStrategy(f.init);
  c.num_starts = static_cast<int>(f.starts);
  if (!f.n_list.empty()) {
    for (long long n : ParseIntList(f.n_list, "n-list")) c.sample_sizes.push_back(n);
  } else {
    if (f.n_min < 1 || f.n_max < f.n_min || f.n_count < 1)
      throw std::invalid_argument("the n-grid is empty: need 1 <= n-min <= n-max and n-count >= 1 (got n-min " +
                                  std::to_string(f.n_min) + ", n-max " + std::to_string(f.n_max) +
                                  ", n-count " + std::to_string(f.n_count) + ")");
    c.sample_sizes = LogSpacedGrid(f.n_min, f.n_max, static_cast<int>(f.n_count));
  }
  c.replications = static_cast<int>(f.reps);
  c.base_seed = f.seed;
  c.loss.gauge = ParseVoronoiGauge(f.gauge);
  if (f.temperature_loss == "raw") c.loss.temperature = TemperatureHandling::kRaw;
  else if (f.temperature_loss == "ratio") c.loss.temperature = TemperatureHandling::kRatio;
  else throw std::invalid_argument("option --temperature-loss: '" + f.temperature_loss +
                                   "' is not ratio or raw");
  c.Validate();
  return c;
}

namespace {

std::vector<std::string> SplitFolders(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    if (item.empty()) throw std::invalid_argument("option --merge: empty folder name in '" + text + "'");
    out.push_back(item);
    start = comma + 1;
  }
  return out;
}

// Slopes, summary and plots of finished studies (a run or a merge).
int Report(const StudyFlags& f, const std::vector<RateStudyConfig>& studies,
           const std::vector<RateStudyResult>& results, const SlopeFitOptions& slope_options,
           const std::function<std::string(const std::vector<SlopeRow>&)>& extra) {
  std::vector<SlopeRow> rows;
  std::vector<StudyFacts> facts;
  for (std::size_t i = 0; i < studies.size(); ++i) {
    const RateStudyConfig& s = studies[i];
    const RateStudyResult& result = results[i];
    const std::string dir = (fs::path(f.out) / s.name).string();
    auto study_rows = FitStudySlopes(s.name, s.Setting(), s.ValueColumns(), result.records, slope_options);
    StudyFacts fact = DescribeCells(s.name, s.ValueColumns(), result.records,
                                    ReadTimings((fs::path(dir) / "timings.csv").string()));
    std::string grid;
    for (Index n : s.sample_sizes) {
      if (!grid.empty()) grid += ',';  // not "," + to_string: GCC 12 false -Wrestrict
      grid += std::to_string(n);
    }
    fact.lines.insert(fact.lines.begin(),
                      std::string("setting: true k* = ") + std::to_string(s.truth.num_experts()) +
                          " (" + ToString(s.truth.gate.kind) + "), fitted k = " +
                          std::to_string(s.fitted.num_experts) + " " + ToString(s.fitted.gate) +
                          (s.fitted.gate == GateKind::kTopK ? " top-" + std::to_string(s.fitted.top_k) : "") +
                          ", estimator " + ToString(s.estimator) + ", init " + ToString(s.init) +
                          " x" + std::to_string(s.num_starts) + ", design " + ToString(s.design.kind) +
                          ", " + std::to_string(s.replications) + " reps, seed " +
                          std::to_string(s.base_seed));
    fact.lines.insert(fact.lines.begin() + 1, "grid n = " + grid);
    for (const auto& w : s.Warnings()) fact.lines.push_back(w);
    facts.push_back(std::move(fact));
    rows.insert(rows.end(), study_rows.begin(), study_rows.end());
  }
  // Tables first: whatever happens while drawing, slopes.csv and summary.txt
  // are on disk. The summary is written again with the plots' status.
  WriteSlopesCsv(rows, (fs::path(f.out) / "slopes.csv").string());
  const auto summary_text = [&] {
    std::string text = SlopesText(facts, rows);
    if (extra) text += extra(rows);
    return text;
  };
  const std::string summary_path = (fs::path(f.out) / "summary.txt").string();
  WriteText(summary_path, summary_text());
  for (std::size_t i = 0; i < studies.size(); ++i) {
    for (const auto& plot : PlotStudy(studies[i].name, rows, (fs::path(f.out) / "plots").string())) {
      std::string line = "plot " + plot.png;
      if (plot.drawn) {
        line += " (also .pdf, .svg)";
      } else {
        line += " (not drawn: ";
        line += plot.message;
        line += ")";
      }
      facts[i].lines.push_back(std::move(line));
    }
  }
  const std::string summary = summary_text();
  WriteText(summary_path, summary);
  std::cout << summary << "files: " << f.out << "/{config.json,slopes.csv,summary.txt,plots/,<study>/cells.csv}\n";
  return 0;
}

}  // namespace

int RunStudies(const CommandLine& cli, const StudyFlags& f, const std::vector<RateStudyConfig>& studies,
               const std::function<std::string(const std::vector<SlopeRow>&)>& extra) {
  if (f.out.empty()) throw std::invalid_argument("option --out: an output folder is required");
  if (f.threads < 0) throw std::invalid_argument("option --threads must be >= 0");
  SlopeFitOptions slope_options;
  slope_options.trim_smallest = static_cast<int>(f.trim);
  slope_options.bootstrap_samples = static_cast<int>(f.bootstrap);
  slope_options.confidence = f.confidence;
  slope_options.Validate();
  for (const auto& s : studies) s.Validate();
  const int launch_size = MpiLaunchSize();
  std::vector<RateStudyResult> results;

  if (!f.merge.empty()) {
    // Merge: a serial step that only reads the shard folders.
    if (launch_size > 1 || launch_size < 0)
      throw std::invalid_argument("option --merge: run the merge as one process, not under mpirun");
    const std::vector<std::string> shard_outs = SplitFolders(f.merge);
    for (const auto& s : studies) CheckStudyFolder((fs::path(f.out) / s.name).string(), s.IdentityJson());
    for (const auto& s : studies) {
      std::vector<std::string> dirs;
      for (const auto& d : shard_outs) dirs.push_back((fs::path(d) / s.name).string());
      results.push_back(MergeRateStudy(s, dirs, (fs::path(f.out) / s.name).string()));
      std::fprintf(stderr, "%s: merged %d cells from %zu shard folders -> %s\n", s.name.c_str(),
                   results.back().run.total, dirs.size(), results.back().run.cells_csv.c_str());
    }
    WriteText((fs::path(f.out) / "config.json").string(), cli.ResolvedJson());
    return Report(f, studies, results, slope_options, extra);
  }

  const ShardSpec shard = f.shard.empty() ? ShardSpec{} : ParseShardSpec(f.shard);
  RateStudyRunOptions run;
  run.num_threads = static_cast<int>(f.threads);
  run.progress = f.progress ? CellRunnerOptions::Progress::kAuto : CellRunnerOptions::Progress::kOff;
  run.shard = shard;
  bool coordinator = true;  // this process writes the files and reports
#ifdef MOELAB_WITH_MPI
  std::unique_ptr<MpiSession> mpi;
  if (launch_size != 0) {
    mpi = std::make_unique<MpiSession>();
    coordinator = mpi->rank() == 0;
    MpiRunnerOptions mpi_options;
    mpi_options.coordinator_computes = f.coordinator_computes;
    // Fault injection for the restart test (tests/rates/mpi_study.sh).
    if (const char* v = std::getenv("MOELAB_TEST_WORKER_EXIT_AFTER")) mpi_options.worker_exit_after = std::atoll(v);
    run.engine = [mpi_options](const std::vector<CellKey>& cells, const CellFunction& fn,
                               const CellRunnerOptions& o) { return RunCellsMpi(cells, fn, o, mpi_options); };
  }
  const auto on_coordinator = [&](const std::function<void()>& work) {
    if (mpi) RunOnCoordinator(work);
    else work();
  };
#else
  if (launch_size > 1 || launch_size < 0)
    throw std::invalid_argument(
        "started by an MPI launcher as several processes, but this binary was built without MPI: "
        "each process would run the whole study into the same folder. Rebuild with "
        "-DMOELAB_WITH_MPI=ON, or run shards with --shard i/N (docs/scale_out.md)");
  const auto on_coordinator = [](const std::function<void()>& work) { work(); };
#endif
  // Fail before any work: no folder holding another study (or shard).
  on_coordinator([&] {
    for (const auto& s : studies)
      CheckStudyFolder((fs::path(f.out) / s.name).string(), s.IdentityJson(), shard);
    fs::create_directories(f.out);
    WriteText((fs::path(f.out) / "config.json").string(), cli.ResolvedJson());
  });

  for (const auto& s : studies) {
    const std::string dir = (fs::path(f.out) / s.name).string();
    if (coordinator)
      for (const auto& w : s.Warnings()) std::fprintf(stderr, "%s: %s\n", s.name.c_str(), w.c_str());
    results.push_back(RunRateStudy(s, dir, run));
    const CellRunSummary& r = results.back().run;
    if (coordinator)
      std::fprintf(stderr, "%s%s: %d cells (%d resumed) in %.1f s -> %s\n", s.name.c_str(),
                   shard.IsWhole() ? "" : (" shard " + shard.ToString()).c_str(), r.total, r.resumed,
                   r.seconds, r.cells_csv.empty() ? (dir + "/cells.log").c_str() : r.cells_csv.c_str());
  }
  if (!coordinator) return 0;
  if (!shard.IsWhole()) {
    bool all = true;
    for (const auto& r : results) all = all && r.run.complete;
    std::cout << "shard " << shard.ToString() << (all ? " complete" : " incomplete") << " in " << f.out
              << "; when every shard is done, combine them with the same flags and\n  --merge "
                 "<shard-0 out>,...,<shard-" << shard.count - 1 << " out> --out <folder>\n";
    return 0;
  }
  return Report(f, studies, results, slope_options, extra);
}

}  // namespace moelab::cli
