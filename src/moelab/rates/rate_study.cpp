#include "moelab/rates/rate_study.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "moelab/core/check.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/estimators/accelerated_em.hpp"
#include "moelab/estimators/certified_fit.hpp"
#include "moelab/estimators/restarts.hpp"
#include "moelab/io/params_json.hpp"
#include "moelab/metrics/topk_cardinality.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/rates/sample_grid.hpp"
#include "moelab/rates/shard_merge.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kWhere = "RateStudyConfig";

bool TauIsCoordinate(const RateStudyConfig& c) {
  // The gate's mixing measure says (mixing_measure.hpp).
  const GateParams gate = ZeroGate(c.fitted);
  return GateOf(gate)
      .MixingAtoms(gate, c.loss.temperature == TemperatureHandling::kRatio)
      .temperature.has_value();
}

bool WantsRatioLoss(const RateStudyConfig& c) {
  // Raw atoms of a scale-symmetric gate: also report the identifiable ratio loss.
  const GateParams gate = ZeroGate(c.fitted);
  return GateOf(gate).HasScaleSymmetry(gate) && c.loss.temperature == TemperatureHandling::kRaw;
}

const std::vector<std::string> kParameters = {"beta1", "a", "b", "var"};

// Largest pairwise difference of gate coefficients (intercepts and slope
// entries) between experts: translation-invariant, so the gauge does not
// matter.
double GateSpread(const GateParams& gate) {
  double spread = 0.0;
  for (Index i = 0; i < gate.bias.size(); ++i) {
    for (Index j = i + 1; j < gate.bias.size(); ++j) {
      spread = std::max(spread, std::abs(gate.bias[i] - gate.bias[j]));
      for (Index c = 0; c < gate.slope.cols(); ++c)
        spread = std::max(spread, std::abs(gate.slope(i, c) - gate.slope(j, c)));
    }
  }
  return spread;
}

}  // namespace

const char* ToString(EstimatorKind kind) {
  switch (kind) {
    case EstimatorKind::kEm: return "em";
    case EstimatorKind::kMleNlopt: return "mle-nlopt";
    case EstimatorKind::kLseCeres: return "lse-ceres";
  }
  return "?";
}

const char* ToString(FitProtocol protocol) {
  switch (protocol) {
    case FitProtocol::kPublished: return "published";
    case FitProtocol::kCertified: return "certified";
  }
  return "?";
}

FitProtocol ParseFitProtocol(const std::string& name) {
  if (name == "published") return FitProtocol::kPublished;
  if (name == "certified") return FitProtocol::kCertified;
  throw std::invalid_argument("unknown protocol '" + name + "' (valid: published, certified)");
}

EstimatorKind ParseEstimatorKind(const std::string& name) {
  if (name == "em") return EstimatorKind::kEm;
  if (name == "mle-nlopt" || name == "mle") return EstimatorKind::kMleNlopt;
  if (name == "lse-ceres" || name == "lse") return EstimatorKind::kLseCeres;
  throw std::invalid_argument("unknown estimator '" + name + "' (valid: em, mle-nlopt, lse-ceres)");
}

bool RateStudyConfig::fit_temperature() const {
  switch (estimator) {
    case EstimatorKind::kEm: return em.fit_temperature;
    case EstimatorKind::kMleNlopt: return mle.fit_temperature;
    case EstimatorKind::kLseCeres: return false;
  }
  return false;
}

void RateStudyConfig::Validate() const {
  if (name.empty() || name.find_first_of("/,\n") != std::string::npos)
    ThrowInvalid(kWhere, "name must be non-empty without '/', ',' or line breaks");
  truth.Validate();
  design.Validate();
  fitted.Validate();
  if (truth.dim() != design.dim || fitted.dim != design.dim)
    ThrowInvalid(kWhere, "dimensions disagree: truth d = " + std::to_string(truth.dim()) +
                             ", design d = " + std::to_string(design.dim) +
                             ", fitted d = " + std::to_string(fitted.dim));
  if (fitted.num_experts < truth.num_experts())
    ThrowInvalid(kWhere, "fitted.num_experts (k = " + std::to_string(fitted.num_experts) +
                             ") is below the true number of experts k* = " +
                             std::to_string(truth.num_experts()) + "; rate studies need k >= k*");
  // The family the Voronoi loss sees (gate and activation), refused up front
  // rather than as a metric-error in every cell.
  const GateParams fitted_gate = ZeroGate(fitted);
  const std::string fitted_family = GateOf(fitted_gate).LossFamily(fitted_gate);
  const std::string true_family = GateOf(truth.gate).LossFamily(truth.gate);
  if (fitted_family != true_family)
    ThrowInvalid(kWhere, std::string("fitted.gate '") + ToString(fitted.gate) + "' (loss family " +
                             fitted_family + ") cannot be compared with the true gate '" +
                             ToString(truth.gate.kind) + "' (loss family " + true_family +
                             ") by the Voronoi loss; fit a gate of the truth's family");
  if (replications < 1) ThrowInvalid(kWhere, "replications must be >= 1");
  if (num_starts < 1) ThrowInvalid(kWhere, "num_starts must be >= 1");
  CertificateOptions checked = certificate;  // the reference is set per cell (l(truth))
  if (checked.global_test == GlobalTest::kDominatesReference) checked.reference_log_likelihood = 0.0;
  checked.Validate();
  if (probe_max_iterations < 1) ThrowInvalid(kWhere, "probe_max_iterations must be >= 1");
  if (max_probe_rounds < 0) ThrowInvalid(kWhere, "max_probe_rounds must be >= 0");
  if (protocol == FitProtocol::kCertified && estimator != EstimatorKind::kEm)
    ThrowInvalid(kWhere, "the certified protocol fits by (accelerated) EM: estimator must be em");
  switch (estimator) {
    case EstimatorKind::kEm: em.Validate(); break;
    case EstimatorKind::kMleNlopt: mle.Validate(); break;
    case EstimatorKind::kLseCeres: lse.Validate(); break;
  }
  loss.Validate();
  if (measure_density && (density_grid_points < 3 || density_grid_points % 3 != 0))
    ThrowInvalid(kWhere, "density_grid_points must be a positive multiple of 3");
  const Index p = NumFreeParameters(fitted, fit_temperature());
  ValidateSampleGrid(sample_sizes, p, std::string(kWhere) + ": sample_sizes (the fitted model has " +
                                          std::to_string(p) + " free parameters)");
}

std::vector<std::string> RateStudyConfig::Warnings() const {
  std::vector<std::string> warnings;
  const GateParams fitted_gate = ZeroGate(fitted);
  if (GateOf(fitted_gate).SparseK(fitted_gate) > 0 && GateOf(truth.gate).SparseK(truth.gate) > 0 &&
      fitted.num_experts > truth.num_experts()) {
    Rng rng(base_seed);  // used only for d > 1 (Monte Carlo support points)
    const Matrix support = SelectionSupportPoints(design, 1000, rng);
    const FeasibilityReport report =
        CheckTopKFeasibility(truth.gate, fitted.num_experts, fitted.top_k, support);
    if (!report.feasible) warnings.push_back(report.message);
  }
  // The reference-expert gauge compares the fit's LAST expert with the true
  // reference expert. Only the near-truth start ties the two together (it maps
  // the fitted reference onto the true one); from other starts the labels are
  // arbitrary and the loss can be inflated by a relabelling alone.
  const bool mixed_starts = protocol == FitProtocol::kCertified && num_starts > 1;
  if ((init != InitStrategy::kNearTruth || mixed_starts) &&
      loss.gauge == VoronoiGauge::kReferenceExpert) {
    warnings.push_back(
        "WARNING: the reference-expert gauge with a '" +
        std::string(mixed_starts ? "data/random" : ToString(init)) + "' start: the fit's last expert need not correspond to the true reference expert, "
        "so D1/D2 may be inflated by the labelling; use --gauge infimum (label-free)");
  }
  if (protocol == FitProtocol::kCertified &&
      (!(em.absolute_tolerance > 0.0) || em.relative_tolerance > 0.0)) {
    warnings.push_back(
        "WARNING: the certified protocol with em.relative_tolerance > 0 or no "
        "em.absolute_tolerance: fits stop by the relative rule and will mostly not be "
        "certified; set relative_tolerance = 0 and absolute_tolerance = 1e-8 (the CLI's "
        "--protocol certified does)");
  }
  return warnings;
}

std::vector<std::string> RateStudyConfig::ValueColumns() const {
  const bool over = fitted.num_experts > truth.num_experts();
  std::vector<std::string> columns = {over ? "loss_d2" : "loss_d1", "weight_err"};
  std::vector<std::string> parameters = kParameters;
  if (TauIsCoordinate(*this)) parameters.push_back("tau");
  for (const auto& p : parameters) columns.push_back("single_" + p);
  if (over)
    for (const auto& p : parameters) columns.push_back("multi_" + p);
  if (WantsRatioLoss(*this)) columns.push_back("loss_ratio");
  if (measure_density) {
    columns.push_back("hellinger");
    columns.push_back("tv");
  }
  for (const char* c : {"loglik_excess", "iterations", "n_multi_atoms", "n_empty_cells",
                        "variance_floor_hits", "empty_expert_events"})
    columns.push_back(c);
  for (const char* c : {"certified", "score_norm", "newton_decrement", "probe_gain",
                        "last_change", "parameter_change", "agreeing_starts", "gate_diverged",
                        "loss_saturated", "data_passes"})
    columns.push_back(c);
  return columns;
}

TheorySetting RateStudyConfig::Setting() const {
  TheorySetting s;
  s.gate = fitted.gate;
  s.true_experts = truth.num_experts();
  s.fitted_experts = fitted.num_experts;
  s.temperature_fitted = fit_temperature();
  return s;
}

std::string RateStudyConfig::IdentityJson() const {
  using nlohmann::json;
  json j;
  j["name"] = name;
  j["truth"] = json::parse(ParamsToJson(truth));
  j["design"] = {{"kind", ToString(design.kind)}, {"dim", design.dim},
                 {"lower", design.lower}, {"upper", design.upper}};
  j["fitted"] = {{"gate", ToString(fitted.gate)}, {"num_experts", fitted.num_experts},
                 {"top_k", fitted.top_k}, {"ranking", ToString(fitted.ranking)},
                 {"activation", ToString(fitted.activation)},
                 {"temperature", fitted.temperature}};
  j["estimator"] = ToString(estimator);
  switch (estimator) {
    case EstimatorKind::kEm:
      j["em"] = {{"max_iterations", em.max_iterations},
                 {"relative_tolerance", em.relative_tolerance},
                 {"absolute_tolerance", em.absolute_tolerance},
                 {"parameter_tolerance", em.parameter_tolerance},
                 {"variance_floor", em.variance_floor},
                 {"min_expert_mass", em.min_expert_mass},
                 {"gate_max_iterations", em.gate_max_iterations},
                 {"gate_tolerance", em.gate_tolerance},
                 {"fit_temperature", em.fit_temperature}};
      break;
    case EstimatorKind::kMleNlopt:
      j["mle"] = {{"algorithm", mle.algorithm}, {"max_evaluations", mle.max_evaluations},
                  {"relative_tolerance", mle.relative_tolerance},
                  {"parameter_tolerance", mle.parameter_tolerance},
                  {"variance_floor", mle.variance_floor},
                  {"fit_temperature", mle.fit_temperature}};
      break;
    case EstimatorKind::kLseCeres:
      j["lse"] = {{"max_iterations", lse.max_iterations},
                  {"function_tolerance", lse.function_tolerance},
                  {"gradient_tolerance", lse.gradient_tolerance},
                  {"parameter_tolerance", lse.parameter_tolerance},
                  {"variance_floor", lse.variance_floor}};
      break;
  }
  j["protocol"] = ToString(protocol);
  j["certificate"] = {{"absolute_tolerance", certificate.absolute_tolerance},
                      {"parameter_tolerance", certificate.parameter_tolerance},
                      {"score_tolerance", certificate.score_tolerance},
                      {"decrement_tolerance", certificate.decrement_tolerance},
                      {"hessian_step", certificate.hessian_step},
                      {"probe", certificate.probe},
                      {"probe_pairs", certificate.probe_pairs},
                      {"probe_radius", certificate.probe_radius},
                      {"probe_separation", certificate.probe_separation},
                      {"probe_tolerance", certificate.probe_tolerance},
                      {"start_tolerance", certificate.start_tolerance},
                      {"min_agreeing_starts", certificate.min_agreeing_starts},
                      {"global_test", ToString(certificate.global_test)},
                      {"probe_max_iterations", probe_max_iterations},
                      {"max_probe_rounds", max_probe_rounds}};
  j["init"] = ToString(init);
  j["num_starts"] = num_starts;
  j["sample_sizes"] = sample_sizes;
  j["replications"] = replications;
  j["base_seed"] = base_seed;
  j["seed_rule"] = "cell seed = DeriveSeed(base_seed, n, replication)";
  json rbar = json::object();
  for (const auto& [size, value] : loss.rbar_overrides) rbar[std::to_string(size)] = value;
  j["loss"] = {{"kind", ToString(loss.kind)}, {"norm", ToString(loss.norm)},
               {"gauge", ToString(loss.gauge)}, {"fitted_reference", loss.fitted_reference},
               {"temperature", ToString(loss.temperature)},
               {"max_alternations", loss.max_alternations}, {"rbar_overrides", rbar}};
  j["density"] = {{"measure", measure_density}, {"grid_points", density_grid_points}};
  j["columns"] = ValueColumns();
  return j.dump(2);
}

CellRecord RunMoeCell(const RateStudyConfig& config, const CellKey& key) {
  Rng rng(key.seed);
  const Dataset data = Simulate(config.truth, config.design, key.n, rng);
  const auto make_start = [&](Rng& r) {
    return MakeInitialParams(config.init, data, config.fitted, &config.truth, r);
  };
  const auto fit = [&](const MoeParams& start) {
    switch (config.estimator) {
      case EstimatorKind::kEm: return FitEm(data, start, config.em);
      case EstimatorKind::kMleNlopt: return FitMleNlopt(data, start, config.mle);
      case EstimatorKind::kLseCeres: return FitLseCeres(data, start, config.lse);
    }
    throw std::logic_error("RunMoeCell: unknown estimator");
  };
  FitResult result;
  FitCertificate certificate;
  const double l_true = GaussianMoe(config.truth).LogLikelihood(data);
  CertificateOptions certificate_options = config.certificate;
  certificate_options.reference_log_likelihood = l_true;
  if (config.protocol == FitProtocol::kCertified) {
    // All starts drawn first, in order (near-truth, data, random...), so they
    // depend on the seed only.
    std::vector<MoeParams> starts;
    for (int s = 0; s < config.num_starts; ++s) {
      const InitStrategy strategy = s == 0   ? InitStrategy::kNearTruth
                                    : s == 1 ? InitStrategy::kDataDriven
                                             : InitStrategy::kRandom;
      starts.push_back(MakeInitialParams(strategy, data, config.fitted, &config.truth, rng));
    }
    CertifiedFitOptions options;
    options.fitter.em = config.em;
    options.certificate = certificate_options;
    options.probe_max_iterations = config.probe_max_iterations;
    options.max_probe_rounds = config.max_probe_rounds;
    CertifiedFit certified = FitCertified(data, starts, options);
    result = std::move(certified.fit);
    certificate = std::move(certified.certificate);
  } else {
    std::vector<double> start_log_likelihoods;
    const auto fit_and_record = [&](const MoeParams& start) {
      FitResult r = fit(start);
      start_log_likelihoods.push_back(r.IsUsable() ? r.log_likelihood : kNaN);
      return r;
    };
    result = BestOfStarts(config.num_starts, make_start, fit_and_record, rng);
    // The short refit of the certificate's probe: accelerated EM with the
    // study's EM options (the MLE's floor and temperature for an NLopt study).
    AcceleratedEmOptions probe_fitter = CertifiedFitterDefaults();
    const bool fit_tau = config.fit_temperature();
    const double variance_floor = config.estimator == EstimatorKind::kMleNlopt
                                      ? config.mle.variance_floor
                                      : config.em.variance_floor;
    if (config.estimator == EstimatorKind::kEm) {
      probe_fitter.em = config.em;
      probe_fitter.em.relative_tolerance = 0.0;
      if (!(probe_fitter.em.absolute_tolerance > 0.0)) probe_fitter.em.absolute_tolerance = 1e-8;
    }
    probe_fitter.em.variance_floor = variance_floor;
    probe_fitter.em.fit_temperature = fit_tau;
    probe_fitter.em.max_iterations = config.probe_max_iterations;
    const ProbeRefit refit = [&](const MoeParams& start) {
      return FitAcceleratedEm(data, start, probe_fitter);
    };
    certificate = CertifyFit(data, result, fit_tau, variance_floor, start_log_likelihoods, refit,
                             certificate_options);
    result.data_passes += certificate.data_passes;
  }

  const std::vector<std::string> columns = config.ValueColumns();
  CellRecord record;
  record.status = ToString(result.termination);
  record.values.assign(columns.size(), kNaN);
  const auto set = [&](const std::string& column, double value) {
    for (std::size_t c = 0; c < columns.size(); ++c)
      if (columns[c] == column) record.values[c] = value;
  };
  set("iterations", result.iterations);
  set("variance_floor_hits", result.variance_floor_hits);
  set("empty_expert_events", result.empty_expert_events);
  set("certified", certificate.certified ? 1.0 : 0.0);
  set("score_norm", certificate.score_norm);
  set("newton_decrement", certificate.newton_decrement);
  set("probe_gain", certificate.probe_gain);
  set("last_change", certificate.last_change);
  set("parameter_change", certificate.last_parameter_change);
  set("agreeing_starts", certificate.agreeing_starts);
  set("data_passes", static_cast<double>(result.data_passes));
  if (!result.IsUsable()) return record;
  set("gate_diverged", GateSpread(result.params.gate) > 10.0 * GateSpread(config.truth.gate) ? 1.0 : 0.0);

  try {
    const VoronoiLossResult loss = ComputeVoronoiLoss(config.truth, result.params, config.loss);
    set(columns[0], loss.value);
    set("loss_saturated", loss.saturated ? 1.0 : 0.0);
    set("weight_err", loss.errors.summary.weight_error_sum);
    set("n_multi_atoms", static_cast<double>(loss.errors.summary.num_multi_atoms));
    set("n_empty_cells", static_cast<double>(loss.errors.summary.num_empty_cells));
    // Largest error per parameter among atoms in singleton / larger cells
    // (NaN when the group is empty, so it does not enter the means).
    for (const char* group : {"single_", "multi_"}) {
      const bool single = std::string(group) == "single_";
      double beta1 = kNaN, a = kNaN, b = kNaN, var = kNaN, tau = kNaN;
      const auto update = [](double& m, double v) { m = std::isnan(m) ? v : std::max(m, v); };
      for (const AtomError& e : loss.errors.atoms) {
        if ((e.cell_size == 1) != single) continue;
        update(beta1, e.gate_slope);
        update(a, e.expert_slope);
        update(b, e.intercept);
        update(var, e.variance);
        update(tau, e.temperature);
      }
      set(std::string(group) + "beta1", beta1);
      set(std::string(group) + "a", a);
      set(std::string(group) + "b", b);
      set(std::string(group) + "var", var);
      set(std::string(group) + "tau", tau);
    }
    if (WantsRatioLoss(config)) {
      VoronoiLossOptions ratio = config.loss;
      ratio.temperature = TemperatureHandling::kRatio;
      set("loss_ratio", ComputeVoronoiLoss(config.truth, result.params, ratio).value);
    }
    if (config.measure_density) {
      DensityDistanceOptions density;
      density.grid_points = config.density_grid_points;
      if (config.design.dim == 1) density.x_integration = XIntegration::kMidpointGrid;
      set("hellinger", ExpectedHellinger(result.params, config.truth, config.design, density, rng).value);
      set("tv", ExpectedTotalVariation(result.params, config.truth, config.design, density, rng).value);
    }
    set("loglik_excess", (result.log_likelihood - l_true) / static_cast<double>(key.n));
  } catch (const std::exception& e) {
    // A metric that cannot be computed for this fit (e.g. a Voronoi cell of 4
    // or more atoms, whose rbar is unknown) is recorded, not thrown: the
    // study goes on and the summary counts the statuses.
    record.status = std::string("metric-error: ") + e.what();
  }
  return record;
}

RateStudyResult RunRateStudy(const RateStudyConfig& config, const std::string& out_dir,
                             const RateStudyRunOptions& options) {
  config.Validate();
  CellRunnerOptions runner;
  runner.out_dir = out_dir;
  runner.identity = config.IdentityJson();
  runner.value_columns = config.ValueColumns();
  runner.num_threads = options.num_threads;
  runner.progress = options.progress;
  runner.label = config.name;
  runner.stop_after = options.stop_after;
  runner.shard = options.shard;
  const auto cells = MakeCells(config.sample_sizes, config.replications, config.base_seed);
  const CellEngine engine = options.engine ? options.engine : CellEngine(RunCells);
  RateStudyResult result;
  result.run = engine(cells, [&](const CellKey& key) { return RunMoeCell(config, key); }, runner);
  if (result.run.complete && !result.run.cells_csv.empty())
    result.records = ReadCellRecords(result.run.cells_csv, runner.value_columns);
  return result;
}

RateStudyResult MergeRateStudy(const RateStudyConfig& config,
                               const std::vector<std::string>& shard_dirs, const std::string& out_dir) {
  config.Validate();
  CellRunnerOptions runner;
  runner.out_dir = out_dir;
  runner.identity = config.IdentityJson();
  runner.value_columns = config.ValueColumns();
  RateStudyResult result;
  result.run = MergeShards(shard_dirs, MakeCells(config.sample_sizes, config.replications, config.base_seed),
                           runner);
  result.records = ReadCellRecords(result.run.cells_csv, runner.value_columns);
  return result;
}

}  // namespace moelab
