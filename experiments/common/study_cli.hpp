// Flags, config and the run-and-report loop shared by the rate-study
// binaries (softmax-exact, softmax-over, topk-exact, topk-over,
// temperature-vs-activation, estimators).
//
// Every study field has a flag (and so a --config JSON key): preset, fitted k,
// gate, K-bar, estimator and its main options, initialisation, starts, the
// n-grid (log-spaced n-min..n-max with n-count points, or an explicit n-list),
// replications, seed, loss gauge, slope options; plus --threads, --out and
// --quick. `--quick` switches to the binary's minutes-long grid and
// replications, except for the grid/replication/starts flags given
// explicitly (on the command line or in --config).
//
// Output folder (--out): owner.txt (the binary and its studies: a folder
// holds one binary's set of studies, anything else is refused with the line
// that differs), .lock (flock: a second concurrent run is refused),
// config.json (resolved flags), one sub-folder per
// study (study.json, cells.log, cells.csv, timings.csv), slopes.csv,
// summary.txt and plots/. Every study is built and validated, the memory of
// its largest fits estimated (--max-memory), and every existing study folder
// checked, before any folder is made or any cell runs.
//
// Scale-out (docs/scale_out.md):
//   --shard i/N   run only shard i of every study (shard_spec.hpp) into --out;
//                 writes config.json and per study study.json + cells.log,
//                 no cells.csv, slopes or summary.
//   --merge D1,D2,...  combine the shard output folders D1..DN (each holding
//                 <study>/ sub-folders) into --out, then report exactly as a
//                 single run does (cells.csv byte-identical to it). The other
//                 flags must describe the same studies (e.g. the same
//                 --config); --shard is ignored when merging, so a shard's
//                 config.json can be reused.
//   mpirun        in a build with -DMOELAB_WITH_MPI=ON, a binary started by an
//                 MPI launcher (mpirun, mpiexec, srun) distributes the cells
//                 over its ranks (mpi/mpi_cell_runner.hpp); rank 0 writes every
//                 file. --coordinator-computes=false keeps rank 0 from
//                 computing cells. A build without MPI refuses to run as
//                 several ranks (each would run the whole study).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "moelab/rates/rate_study.hpp"
#include "moelab/rates/study_report.hpp"
#include "moelab/simulation/presets.hpp"

namespace moelab::cli {

struct StudyFlags {
  std::string preset = "softmax-exact";
  long long k = 0;             // fitted experts; 0 = the preset's
  std::string gate;            // fitted gate kind; "" = the truth's
  long long top_k = 0;         // K-bar; 0 = the preset's
  std::string design;          // covariate design kind; "" = the preset's
  std::string estimator = "em";
  std::string init = "near-truth";
  long long starts = 1;
  std::string protocol = "published";  // published | certified (rate_study.hpp)
  std::string global_test = "truth";   // certificate test 8: truth | agreement (certificate.hpp)
  long long max_iterations = 2000;  // EM iterations / NLopt evaluations / Ceres iterations
  double tolerance = 1e-6;          // EM relative log-likelihood tolerance (published rule)
  double abs_tolerance = 0.0;       // EM absolute log-likelihood tolerance (0 = off)
  bool fit_temperature = false;
  std::string gauge = "reference";  // Voronoi loss gauge: reference | infimum
  std::string temperature_loss = "ratio";  // temperature atoms: ratio | raw
  long long n_min = 100;
  long long n_max = 100000;
  long long n_count = 16;
  std::string n_list;               // explicit grid, overrides n-min/max/count
  long long reps = 40;
  std::uint64_t seed = 2023;
  long long trim = 0;               // slope fit: drop the smallest n
  long long bootstrap = 1000;
  double confidence = 0.95;
  long long threads = 0;            // 0 = all cores
  std::string out;
  bool quick = false;
  bool progress = true;             // progress line when stderr is a terminal
  std::string shard;                // "i/N": run only this shard; "" = everything
  std::string merge;                // comma-separated shard folders to merge into --out
  bool coordinator_computes = true; // MPI runs: rank 0 also computes cells
  std::string max_memory;           // "" = the memory available now (resources.hpp)
};

// Size of the MPI job this process was started in, from the launcher's
// environment (Open MPI, MPICH/Hydra, PMIx/Slurm); 0 when not started by an
// MPI launcher, -1 when started by one that does not say the size.
int MpiLaunchSize();

// The quick version's grid, replications and starts.
struct QuickSettings {
  long long n_min = 100, n_max = 10000, n_count = 7, reps = 8, starts = 1;
};

void RegisterStudyFlags(CommandLine* cli, StudyFlags* flags);

// Applies `quick` to the fields still at their defaults (call after Parse).
void ApplyQuick(const CommandLine& cli, const QuickSettings& quick, StudyFlags* flags);

// The certified protocol's settings for the flags not given explicitly (call
// after Parse, before ApplyQuick): relative rule off (--tolerance 0),
// --abs-tolerance 1e-8, --max-iterations 100000, --starts 3 (near-truth,
// data, random), --gauge infimum, and for `over_fitted` binaries a grid
// reaching --n-max 300000 (--n-count 14 from the binary's n-min). No-op for
// the published protocol.
void ApplyProtocol(const CommandLine& cli, bool over_fitted, StudyFlags* flags);

// A study from the flags with `name`; throws std::invalid_argument for
// unknown preset / gate / estimator / init names, bad grids etc. (validated).
RateStudyConfig BuildStudy(const StudyFlags& flags, const std::string& name);

// Validates every study, checks the output folders, writes config.json, runs
// the studies one after the other (cells in parallel), fits the slopes,
// writes slopes.csv, summary.txt and the plots, and prints the summary.
// `extra` may append comparison text (e.g. temperature vs activation) given
// all slope rows. Returns 0.
int RunStudies(const CommandLine& cli, const StudyFlags& flags,
               const std::vector<RateStudyConfig>& studies,
               const std::function<std::string(const std::vector<SlopeRow>&)>& extra = {});

}  // namespace moelab::cli
