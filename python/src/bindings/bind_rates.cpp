// rates/: the rate-study configuration, one cell, a whole (threaded,
// resumable) study, slopes with bootstrap intervals and the theory table.
#include "common.hpp"
#include "moelab/rates/rate_study.hpp"
#include "moelab/rates/sample_grid.hpp"
#include "moelab/rates/slope_fit.hpp"
#include "moelab/rates/study_report.hpp"
#include "moelab/rates/theory.hpp"

namespace moelab::python {

namespace {
#define MOELAB_ESTIMATOR_KINDS EstimatorKind::kEm, EstimatorKind::kMleNlopt, EstimatorKind::kLseCeres
#define MOELAB_INITS InitStrategy::kNearTruth, InitStrategy::kRandom, InitStrategy::kDataDriven
}  // namespace

void BindRates(py::module_& m) {
  py::class_<RateStudyConfig>(m, "RateStudyConfig",
                              "A rate study: truth, design, fitted shape, estimator and its "
                              "options, init (near-truth, random, data), num_starts, "
                              "sample_sizes, replications, base_seed, loss options "
                              "(rates/rate_study.hpp).")
      .def(py::init<>())
      .def_readwrite("name", &RateStudyConfig::name)
      .def_readwrite("truth", &RateStudyConfig::truth)
      .def_readwrite("design", &RateStudyConfig::design)
      .def_readwrite("fitted", &RateStudyConfig::fitted)
      .MOELAB_ENUM_PROPERTY(RateStudyConfig, EstimatorKind, estimator, MOELAB_ESTIMATOR_KINDS)
      .def_readwrite("em", &RateStudyConfig::em)
      .def_readwrite("mle", &RateStudyConfig::mle)
      .def_readwrite("lse", &RateStudyConfig::lse)
      .MOELAB_ENUM_PROPERTY(RateStudyConfig, InitStrategy, init, MOELAB_INITS)
      .def_readwrite("num_starts", &RateStudyConfig::num_starts)
      .def_readwrite("sample_sizes", &RateStudyConfig::sample_sizes)
      .def_readwrite("replications", &RateStudyConfig::replications)
      .def_readwrite("base_seed", &RateStudyConfig::base_seed)
      .def_readwrite("loss", &RateStudyConfig::loss)
      .def_readwrite("measure_density", &RateStudyConfig::measure_density)
      .def_readwrite("density_grid_points", &RateStudyConfig::density_grid_points)
      .def("validate", &RateStudyConfig::Validate)
      .def("value_columns", &RateStudyConfig::ValueColumns)
      .def("identity_json", &RateStudyConfig::IdentityJson)
      .def("setting", &RateStudyConfig::Setting)
      .def("warnings", &RateStudyConfig::Warnings);

  m.def("log_spaced_grid", &LogSpacedGrid, py::arg("n_min"), py::arg("n_max"), py::arg("count"));
  m.def("cell_seed", &CellSeed, py::arg("base_seed"), py::arg("n"), py::arg("replication"));

  py::class_<CellRecord>(m, "CellRecord", "One cell: n, replication, seed, status, values.")
      .def(py::init([](Index n, int replication, std::uint64_t seed, std::string status,
                       std::vector<double> values, double seconds) {
             return CellRecord{CellKey{n, replication, seed}, std::move(status), std::move(values),
                               seconds};
           }),
           py::arg("n"), py::arg("replication"), py::arg("seed"), py::arg("status"),
           py::arg("values"), py::arg("seconds") = 0.0)
      .def_property_readonly("n", [](const CellRecord& r) { return r.key.n; })
      .def_property_readonly("replication", [](const CellRecord& r) { return r.key.replication; })
      .def_property_readonly("seed", [](const CellRecord& r) { return r.key.seed; })
      .def_readonly("status", &CellRecord::status)
      .def_readonly("values", &CellRecord::values)
      .def_readonly("seconds", &CellRecord::seconds);
  m.def("run_cell",
        [](const RateStudyConfig& config, Index n, int replication) {
          config.Validate();
          return RunMoeCell(config, CellKey{n, replication, CellSeed(config.base_seed, n, replication)});
        },
        py::arg("config"), py::arg("n"), py::arg("replication"), ReleaseGil(),
        "One cell (simulate, fit, measure) from its derived seed alone.");

  py::class_<CellRunSummary>(m, "CellRunSummary")
      .def_readonly("total", &CellRunSummary::total)
      .def_readonly("resumed", &CellRunSummary::resumed)
      .def_readonly("computed", &CellRunSummary::computed)
      .def_readonly("complete", &CellRunSummary::complete)
      .def_readonly("seconds", &CellRunSummary::seconds)
      .def_readonly("cells_csv", &CellRunSummary::cells_csv);
  py::class_<RateStudyResult>(m, "RateStudyResult")
      .def_readonly("run", &RateStudyResult::run)
      .def_readonly("records", &RateStudyResult::records);
  m.def("run_rate_study",
        [](const RateStudyConfig& config, const std::string& out_dir, int num_threads) {
          RateStudyRunOptions options;
          options.num_threads = num_threads;
          options.progress = CellRunnerOptions::Progress::kOff;
          return RunRateStudy(config, out_dir, options);
        },
        py::arg("config"), py::arg("out_dir"), py::arg("num_threads") = 0, ReleaseGil(),
        "Validates, then runs (or resumes) the study in out_dir (cells.csv, cells.log, "
        "timings.csv, study.json); cells in parallel on num_threads (0 = all cores).");
  m.def("read_cell_records", &ReadCellRecords, py::arg("path"), py::arg("value_columns"));

  py::class_<SlopeFitOptions>(m, "SlopeFitOptions")
      .def(py::init<>())
      .def_readwrite("trim_smallest", &SlopeFitOptions::trim_smallest)
      .def_readwrite("bootstrap_samples", &SlopeFitOptions::bootstrap_samples)
      .def_readwrite("confidence", &SlopeFitOptions::confidence)
      .def_readwrite("bootstrap_seed", &SlopeFitOptions::bootstrap_seed)
      .def("validate", &SlopeFitOptions::Validate);
  py::class_<LineFit>(m, "LineFit")
      .def_readonly("slope", &LineFit::slope)
      .def_readonly("intercept", &LineFit::intercept)
      .def_readonly("std_error", &LineFit::std_error)
      .def_readonly("r_squared", &LineFit::r_squared);
  py::class_<SlopeFit>(m, "SlopeFit",
                       "OLS of log(mean) and log(median) on log n with a percentile-bootstrap "
                       "interval of the mean slope (rates/slope_fit.hpp).")
      .def_readonly("ok", &SlopeFit::ok)
      .def_readonly("message", &SlopeFit::message)
      .def_readonly("num_points", &SlopeFit::num_points)
      .def_readonly("dropped_values", &SlopeFit::dropped_values)
      .def_readonly("dropped_points", &SlopeFit::dropped_points)
      .def_readonly("n_min", &SlopeFit::n_min)
      .def_readonly("n_max", &SlopeFit::n_max)
      .def_readonly("mean", &SlopeFit::mean)
      .def_readonly("median", &SlopeFit::median)
      .def_readonly("ci_lower", &SlopeFit::ci_lower)
      .def_readonly("ci_upper", &SlopeFit::ci_upper)
      .def_readonly("confidence", &SlopeFit::confidence)
      .def_readonly("used_n", &SlopeFit::used_n)
      .def_readonly("used_mean", &SlopeFit::used_mean)
      .def_readonly("used_median", &SlopeFit::used_median)
      .def_readonly("mean_lower", &SlopeFit::mean_lower)
      .def_readonly("mean_upper", &SlopeFit::mean_upper);
  m.def("fit_log_log_slope",
        [](std::vector<double> sample_sizes, std::vector<std::vector<double>> values,
           const SlopeFitOptions& options) {
          return FitLogLogSlope(LossSeries{std::move(sample_sizes), std::move(values)}, options);
        },
        py::arg("sample_sizes"), py::arg("values"), py::arg("options") = SlopeFitOptions{},
        ReleaseGil(), "values[g] are the replication values at sample_sizes[g].");

  py::class_<TheorySetting>(m, "TheorySetting")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(TheorySetting, GateKind, gate, MOELAB_GATE_KINDS)
      .def_readwrite("true_experts", &TheorySetting::true_experts)
      .def_readwrite("fitted_experts", &TheorySetting::fitted_experts)
      .def_readwrite("temperature_fitted", &TheorySetting::temperature_fitted);
  py::class_<TheoryRate>(m, "TheoryRate")
      .def_property_readonly("kind",
                             [](const TheoryRate& t) {
                               switch (t.kind) {
                                 case TheoryRate::Kind::kPolynomial: return "polynomial";
                                 case TheoryRate::Kind::kSlowerThanPolynomial:
                                   return "slower than polynomial";
                                 case TheoryRate::Kind::kNone: return "none";
                               }
                               return "none";
                             })
      .def_readonly("slope", &TheoryRate::slope)
      .def_readonly("text", &TheoryRate::text)
      .def_readonly("source", &TheoryRate::source);
  m.def("theory_for", &TheoryFor, py::arg("column"), py::arg("setting"));
  py::class_<SlopeRow>(m, "SlopeRow")
      .def_readonly("study", &SlopeRow::study)
      .def_readonly("column", &SlopeRow::column)
      .def_readonly("fit", &SlopeRow::fit)
      .def_readonly("theory", &SlopeRow::theory)
      .def_property_readonly("verdict", [](const SlopeRow& r) { return std::string(ToString(r.verdict)); })
      .def_readonly("trimmed", &SlopeRow::trimmed)
      .def("__repr__", &FormatSlopeRow);
  m.def("is_slope_column", &IsSlopeColumn, py::arg("column"));
  m.def("fit_study_slopes", &FitStudySlopes, py::arg("study"), py::arg("setting"),
        py::arg("value_columns"), py::arg("records"), py::arg("options") = SlopeFitOptions{},
        ReleaseGil(),
        "Slope, interval, theory and verdict of every loss-like column (rates/study_report.hpp).");
}

}  // namespace moelab::python
