#include "common/study_cli.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "moelab/model/gates/gate.hpp"
#include "moelab/core/resources.hpp"
#include "moelab/io/text_snippet.hpp"
#include "moelab/rates/folder_lock.hpp"
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
  out.flush();
  if (!out) throw std::runtime_error("writing '" + path + "' failed (disk full?)");
}

// The studies an output folder belongs to: one binary's set of studies per
// --out. Line by line, so a refusal can quote the line that differs.
std::string FolderOwner(const std::string& program, const std::vector<RateStudyConfig>& studies) {
  std::string text = "program: " + program + "\n";
  for (const auto& s : studies) text += "study: " + s.name + "\n";
  return text;
}

// Throws when `out` belongs to another binary or set of studies: its
// owner.txt differs, or (folders from before owner.txt) it has a study
// sub-folder that is not one of these studies.
void CheckFolderOwner(const std::string& out, const std::string& owner,
                      const std::vector<RateStudyConfig>& studies) {
  const fs::path path = fs::path(out) / "owner.txt";
  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::ifstream in(path);
    std::string existing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (existing == owner) return;
    const LineDifference d = FirstDifferingLine(existing, owner);
    throw std::invalid_argument("output folder '" + out + "' belongs to another run: its owner.txt line " +
                                std::to_string(d.line) + " is " + Snippet(d.a) + ", this run's is " +
                                Snippet(d.b) + ". Use another --out (one binary's studies per folder), "
                                "or delete the folder to start over.");
  }
  if (!fs::is_directory(out, ec)) return;
  for (const auto& entry : fs::directory_iterator(out, ec)) {
    if (!fs::exists(entry.path() / "study.json")) continue;
    const std::string name = entry.path().filename().string();
    bool ours = false;
    for (const auto& s : studies) ours = ours || s.name == name;
    if (!ours)
      throw std::invalid_argument("output folder '" + out + "' holds the study '" + name +
                                  "', which is not one of this run's; use another --out (one "
                                  "binary's studies per folder), or delete the folder to start over.");
  }
}

// Refuses, before any folder is made, a run whose largest fits cannot fit in
// memory: at most min(threads, reps) cells of the largest n run at once.
void CheckStudyMemory(const StudyFlags& f, const std::vector<RateStudyConfig>& studies) {
  const int hardware = std::max(1u, std::thread::hardware_concurrency());
  const long long threads = f.threads > 0 ? f.threads : hardware;
  for (const auto& s : studies) {
    const Index n_max = *std::max_element(s.sample_sizes.begin(), s.sample_sizes.end());
    const Index k = std::max<Index>(s.fitted.num_experts, s.truth.num_experts());
    const double concurrent = static_cast<double>(std::min<long long>(threads, s.replications));
    CheckMemoryBudget(concurrent * MoeFitBytes(n_max, s.truth.dim(), k), f.max_memory,
                      "study " + s.name + " (n up to " + std::to_string(n_max) + ", " +
                          std::to_string(static_cast<long long>(concurrent)) + " fits at once)",
                      "--n-max (or --n-list) or --threads");
  }
}

}  // namespace

void RegisterStudyFlags(CommandLine* cli, StudyFlags* f) {
  std::string presets;
  for (const auto& n : PresetNames()) presets += (presets.empty() ? "" : ", ") + n;
  cli->AddString("preset", &f->preset, "true model and design (" + presets + ")");
  cli->AddInt("k", &f->k, "fitted number of experts (0 = the preset's)", {0, 10000});
  std::string gates;
  for (GateKind kind : AllGateKinds()) gates += (gates.empty() ? "" : ", ") + std::string(ToString(kind));
  cli->AddString("gate", &f->gate, "fitted gate: " + gates + " ('' = the truth's)");
  cli->AddInt("top-k", &f->top_k, "fitted K-bar of a top-K gate (0 = the preset's)", {0, 10000});
  cli->AddString("design", &f->design, "covariate design: uniform, normal, grid ('' = the preset's)");
  cli->AddString("estimator", &f->estimator, "em, mle-nlopt or lse-ceres");
  cli->AddString("init", &f->init, "initialisation: near-truth, random, data");
  cli->AddInt("starts", &f->starts, "starting points per fit (best log-likelihood kept)", {1, 1000000});
  cli->AddString("protocol", &f->protocol,
                 "fit protocol: published (the [Demyst] near-truth protocol, relative stopping "
                 "rule) or certified (SQUAREM-accelerated EM to an absolute tolerance from "
                 "near-truth + data + random starts, every fit certified; see docs/rate_studies.md)");
  cli->AddString("global-test", &f->global_test,
                 "certificate's stand-in for global optimality (moelab's choice, "
                 "docs/rate_studies.md): truth (l(fit) >= l(truth), the basic inequality of "
                 "the rate theorems) or agreement (2 starts within 1e-3 of the best)");
  cli->AddInt("max-iterations", &f->max_iterations,
              "EM iterations / NLopt evaluations (x5) / Ceres iterations per fit",
              {1, kIntMax / 5});
  cli->AddDouble("tolerance", &f->tolerance,
                 "EM relative log-likelihood tolerance, the published rule (0 = off)", {0.0});
  cli->AddDouble("abs-tolerance", &f->abs_tolerance,
                 "EM absolute log-likelihood tolerance (0 = off; certified default 1e-8)", {0.0});
  cli->AddBool("fit-temperature", &f->fit_temperature, "temperature/activation gates: also fit tau");
  cli->AddString("gauge", &f->gauge, "Voronoi loss gauge: reference (the [Demyst] code's) or infimum");
  cli->AddString("temperature-loss", &f->temperature_loss,
                 "temperature-gate atoms in the loss: ratio (beta/tau) or raw (beta1, tau)");
  cli->AddInt("n-min", &f->n_min, "smallest sample size of the log-spaced grid", {1});
  cli->AddInt("n-max", &f->n_max,
              "largest sample size of the log-spaced grid (memory checked up front)", {1});
  cli->AddInt("n-count", &f->n_count, "number of log-spaced grid points", {1, 10000});
  cli->AddString("n-list", &f->n_list, "explicit comma-separated sample sizes (overrides n-min/max/count)");
  cli->AddInt("reps", &f->reps, "replications per sample size", {1, kIntMax});
  cli->AddUint64("seed", &f->seed, "base seed; cell seed = DeriveSeed(seed, n, replication)");
  cli->AddInt("trim", &f->trim,
              "slope fit: drop this many smallest sample sizes (at least 2 must remain)", {0, 10000});
  cli->AddInt("bootstrap", &f->bootstrap, "bootstrap resamples for the slope interval", {0, 10000000});
  cli->AddDouble("confidence", &f->confidence, "coverage of the slope interval", {0.0, 1.0, true, true});
  cli->AddInt("threads", &f->threads,
              "worker threads, one fit each (0 = all cores); results do not depend on it", {0, 4096});
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
  cli->AddString("max-memory", &f->max_memory,
                 "memory the run may use, e.g. 512M, 8G ('' = the memory available now); "
                 "the estimate from n-max, k, d and --threads is checked before anything runs");
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

void ApplyProtocol(const CommandLine& cli, bool over_fitted, StudyFlags* f) {
  if (ParseFitProtocol(f->protocol) != FitProtocol::kCertified) return;
  if (!cli.WasSet("tolerance")) f->tolerance = 0.0;
  if (!cli.WasSet("abs-tolerance")) f->abs_tolerance = 1e-8;
  if (!cli.WasSet("max-iterations")) f->max_iterations = 100000;
  if (!cli.WasSet("starts")) f->starts = 3;
  if (!cli.WasSet("gauge")) f->gauge = "infimum";
  if (over_fitted && !cli.WasSet("n-max")) f->n_max = 300000;
  if (over_fitted && !cli.WasSet("n-count")) f->n_count = 14;
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
  // K-bar where the fitted gate reads one: the flag, else the preset's.
  if (GateFor(c.fitted.gate).fields().top_k != GateFields::TopK::kUnused)
    c.fitted.top_k = static_cast<int>(f.top_k > 0 ? f.top_k
                                      : preset.fitted_top_k > 0 ? preset.fitted_top_k
                                                                : preset.truth.gate.top_k);
  else
    c.fitted.top_k = 0;
  c.estimator = ParseEstimatorKind(f.estimator);
  c.em.max_iterations = static_cast<int>(f.max_iterations);
  c.protocol = ParseFitProtocol(f.protocol);
  c.em.relative_tolerance = f.tolerance;
  c.em.absolute_tolerance = f.abs_tolerance;
  c.em.fit_temperature = f.fit_temperature;
  c.em.num_threads = 1;
  c.mle.max_evaluations = static_cast<int>(f.max_iterations) * 5;
  c.mle.fit_temperature = f.fit_temperature;
  c.lse.max_iterations = static_cast<int>(f.max_iterations);
  c.init = ParseInitStrategy(f.init);
  c.num_starts = static_cast<int>(f.starts);
  c.certificate.global_test = ParseGlobalTest(f.global_test);
  if (!f.n_list.empty()) {
    for (long long n : ParseIntList(f.n_list, "option --n-list", {1})) c.sample_sizes.push_back(n);
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
                          (GateFor(s.fitted.gate).SparseK(ZeroGate(s.fitted)) > 0 ? " top-" + std::to_string(s.fitted.top_k) : "") +
                          ", estimator " + ToString(s.estimator) + ", protocol " +
                          ToString(s.protocol) +
                          (s.protocol == FitProtocol::kCertified
                               ? std::string(", starts near-truth + data + random")
                               : ", init " + std::string(ToString(s.init))) +
                          " x" + std::to_string(s.num_starts) + ", certificate global test " +
                          ToString(s.certificate.global_test) + ", design " + ToString(s.design.kind) +
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
  for (const auto& s : studies) {
    s.Validate();
    // A slope needs two sample sizes; refuse a trim that leaves fewer now,
    // not after every cell has run.
    const long long sizes = static_cast<long long>(s.sample_sizes.size());
    if (sizes - f.trim < 2)
      throw std::invalid_argument("option --trim " + std::to_string(f.trim) + " leaves " +
                                  std::to_string(std::max(0LL, sizes - f.trim)) + " of the " +
                                  std::to_string(sizes) + " sample sizes; a slope needs at least 2 " +
                                  "(use --trim <= " + std::to_string(std::max(0LL, sizes - 2)) + ")");
  }
  const std::string owner = FolderOwner(cli.program(), studies);
  const int launch_size = MpiLaunchSize();
  std::vector<RateStudyResult> results;

  if (!f.merge.empty()) {
    // Merge: a serial step that only reads the shard folders.
    if (launch_size > 1 || launch_size < 0)
      throw std::invalid_argument("option --merge: run the merge as one process, not under mpirun");
    const std::vector<std::string> shard_outs = SplitList(f.merge, "option --merge");
    CheckFolderOwner(f.out, owner, studies);
    for (const auto& s : studies) CheckStudyFolder((fs::path(f.out) / s.name).string(), s.IdentityJson());
    const FolderLock lock(f.out);
    WriteText((fs::path(f.out) / "owner.txt").string(), owner);
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
  // Fail before any work (and before making the folder): a run that cannot
  // fit in memory, a folder holding another binary's or study's (or
  // shard's) results, a folder another run is filling.
  std::unique_ptr<FolderLock> lock;
  on_coordinator([&] {
    CheckStudyMemory(f, studies);
    CheckFolderOwner(f.out, owner, studies);
    for (const auto& s : studies)
      CheckStudyFolder((fs::path(f.out) / s.name).string(), s.IdentityJson(), shard);
    lock = std::make_unique<FolderLock>(f.out);
    WriteText((fs::path(f.out) / "owner.txt").string(), owner);
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
