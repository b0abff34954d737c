// A Gaussian-MoE rate study: the cell function that simulates, fits and
// measures, and the study's configuration and identity.
//
// A study = a true model and covariate design, a fitted model shape
// (k, gate, Kbar), an estimator with its options, an initialisation strategy
// and number of starts, a grid of sample sizes, a number of replications and a
// base seed. Cell (n, r) does, from Rng(seed(n, r)) (cell_runner.hpp) alone:
//
//   1. data  = Simulate(truth, design, n, rng)
//   2. fit   = BestOfStarts(num_starts, MakeInitialParams(init, ...), estimator, rng)
//   3. measure (metrics/): the Voronoi loss (D1 when k = k*, D2 when k > k*,
//      column loss_d1 / loss_d2), its weight term, the per-parameter errors
//      (largest over the fitted atoms in singleton cells, single_*, and in
//      cells of two or more, multi_*; NaN when there is no such atom), for a
//      temperature gate measured raw also the beta/tau loss (loss_ratio), the
//      expected Hellinger and TV distances E_X h, E_X V between the fitted
//      and true conditional densities (metrics/density_distance.hpp; d = 1:
//      deterministic midpoint rule over `density_grid_points` equal-mass
//      bins, d > 1: Monte Carlo from the cell's generator), the
//      excess log-likelihood (l_fit - l_true)/n, iterations and repair counts.
//      The status column is the fit's termination; a failed (unusable) fit
//      has NaN metrics.
//   4. certificate (estimators/certificate.hpp) of the kept fit, in every
//      protocol: columns certified (1/0), score_norm, newton_decrement,
//      probe_gain, last_change, parameter_change, agreeing_starts,
//      gate_diverged (1 when some pairwise difference of fitted gate
//      coefficients exceeds 10 times the largest true one: a gate running off
//      to a hard switch), loss_saturated (1 when the infimum gauge's loss sits
//      at its u -> 0 limit, the total true weight), data_passes. Uncertified fits keep their metrics:
//      they are reported, never dropped. The certificate's global test
//      defaults to kDominatesReference with the reference l(truth) of the
//      cell's data (l(fit) >= l(truth): the rate theorems' basic inequality);
//      kStartAgreement is the stricter, rarely attainable alternative.
//
// Protocols (FitProtocol, by name):
//   published  the [Demyst] protocol: `init` for every start, the configured
//              estimator and its stopping rule (EM: relative tolerance 1e-6),
//              best log-likelihood kept.
//   certified  start 0 near-truth, start 1 data-driven, the others random;
//              EM accelerated by SQUAREM (accelerated_em.hpp) to em's
//              absolute tolerance; the best is certified and, when the
//              split-and-refit probe finds a higher likelihood, refitted from
//              there (certified_fit.hpp). EM only; set em.relative_tolerance
//              = 0 and em.absolute_tolerance (1e-8) - Warnings() says so.
//
// Every study input is checked by Validate() before any work: empty or
// non-increasing grid, n below the number of free parameters, K-bar > k,
// k < k*, gate families the loss cannot compare, bad estimator options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moelab/estimators/certificate.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/free_parameters.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/lse_ceres.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/metrics/density_distance.hpp"
#include "moelab/metrics/voronoi_loss.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/rates/cell_runner.hpp"
#include "moelab/rates/theory.hpp"
#include "moelab/simulation/design.hpp"

namespace moelab {

enum class EstimatorKind { kEm, kMleNlopt, kLseCeres };
enum class FitProtocol { kPublished, kCertified };

const char* ToString(FitProtocol protocol);  // "published", "certified"
// Throws std::invalid_argument listing the valid names.
FitProtocol ParseFitProtocol(const std::string& name);

const char* ToString(EstimatorKind kind);  // "em", "mle-nlopt", "lse-ceres"
// Throws std::invalid_argument listing the valid names.
EstimatorKind ParseEstimatorKind(const std::string& name);

struct RateStudyConfig {
  std::string name = "study";      // label (progress line, tables, plots)
  MoeParams truth;                 // gauge-normalised true parameters
  CovariateDesign design;
  ModelShape fitted;               // k, gate, Kbar, activation, starting tau
  EstimatorKind estimator = EstimatorKind::kEm;
  EmOptions em;                    // used when estimator == kEm
  MleNloptOptions mle;             // kMleNlopt
  LseCeresOptions lse;             // kLseCeres
  FitProtocol protocol = FitProtocol::kPublished;  // see the header comment
  InitStrategy init = InitStrategy::kNearTruth;    // published protocol only
  int num_starts = 1;              // >= 1; best log-likelihood kept (restarts.hpp)
  CertificateOptions certificate = {.global_test = GlobalTest::kDominatesReference};
                                   // every protocol records the certificate; the
                                   // reference is set per cell to l(truth)
  int probe_max_iterations = 3000; // EM-map evaluations of one probe refit; >= 1
  int max_probe_rounds = 3;        // certified protocol: refits from a better probe point
  std::vector<Index> sample_sizes; // strictly increasing, each >= NumFreeParameters
                                   // (estimators/free_parameters.hpp) of `fitted`
  int replications = 40;           // >= 1
  std::uint64_t base_seed = 2023;
  VoronoiLossOptions loss;         // gauge, norm, temperature handling
  bool measure_density = true;     // hellinger and tv columns
  Index density_grid_points = 201; // d = 1 midpoint rule (multiple of 3); its error
                                   // falls like 1/points^2, far below E h at n <= 1e5

  bool fit_temperature() const;    // from the chosen estimator's options
  // Throws std::invalid_argument naming the field (prefix "RateStudyConfig").
  void Validate() const;
  // The value columns of this study's cells (see the header comment).
  std::vector<std::string> ValueColumns() const;
  // Canonical JSON text of everything that determines the cells' content
  // (not threads or output folder): the study's identity in study.json.
  std::string IdentityJson() const;
  TheorySetting Setting() const;
  // Problems that do not make the study invalid but may make its slopes
  // meaningless: a top-K fit whose Kbar cannot meet the cardinality condition
  // (the density is not expected to converge), or the reference-expert gauge
  // with a start that does not tie the fit's labels to the truth's.
  std::vector<std::string> Warnings() const;
};

// One cell, computed from key.seed alone (thread-safe).
CellRecord RunMoeCell(const RateStudyConfig& config, const CellKey& key);

struct RateStudyRunOptions {
  int num_threads = 0;  // 0 = all cores
  CellRunnerOptions::Progress progress = CellRunnerOptions::Progress::kAuto;
  long long stop_after = -1;  // see CellRunnerOptions
  ShardSpec shard;            // run only this shard (shard_spec.hpp); default: everything
  CellEngine engine;          // empty = RunCells (threads); the MPI binaries pass RunCellsMpi
};

struct RateStudyResult {
  CellRunSummary run;
  std::vector<CellRecord> records;  // cells.csv content (when run.cells_csv was written)
};

// Validates, then runs (or resumes) the study in `out_dir` (cells.csv etc.).
RateStudyResult RunRateStudy(const RateStudyConfig& config, const std::string& out_dir,
                             const RateStudyRunOptions& options = {});

// Validates, then merges the study's shard folders into `out_dir` (see
// shard_merge.hpp for the checks); the result is that of a complete run.
RateStudyResult MergeRateStudy(const RateStudyConfig& config,
                               const std::vector<std::string>& shard_dirs, const std::string& out_dir);

}  // namespace moelab
