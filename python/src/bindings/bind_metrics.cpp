// metrics/: Voronoi losses (D1, D2) with cells and per-parameter errors, and
// the density distances E_X h, E_X V between a fit and a truth.
#include "common.hpp"
#include "moelab/metrics/density_distance.hpp"
#include "moelab/metrics/voronoi_loss.hpp"

namespace moelab::python {

void BindMetrics(py::module_& m) {
  py::class_<VoronoiLossOptions>(m, "VoronoiLossOptions",
                                 "kind: auto, D1, D2; norm: l1, euclidean; gauge: reference, "
                                 "infimum; temperature: ratio, raw (metrics/voronoi_loss.hpp).")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(VoronoiLossOptions, VoronoiLossKind, kind, VoronoiLossKind::kAuto,
                            VoronoiLossKind::kD1, VoronoiLossKind::kD2)
      .MOELAB_ENUM_PROPERTY(VoronoiLossOptions, VoronoiNorm, norm, VoronoiNorm::kL1,
                            VoronoiNorm::kEuclidean)
      .MOELAB_ENUM_PROPERTY(VoronoiLossOptions, VoronoiGauge, gauge,
                            VoronoiGauge::kReferenceExpert, VoronoiGauge::kTranslationInfimum)
      .def_readwrite("fitted_reference", &VoronoiLossOptions::fitted_reference)
      .def_readwrite("rbar_overrides", &VoronoiLossOptions::rbar_overrides)
      .MOELAB_ENUM_PROPERTY(VoronoiLossOptions, TemperatureHandling, temperature,
                            TemperatureHandling::kRatio, TemperatureHandling::kRaw)
      .def_readwrite("max_alternations", &VoronoiLossOptions::max_alternations)
      .def("validate", &VoronoiLossOptions::Validate);

  py::class_<VoronoiCells>(m, "VoronoiCells")
      .def_readonly("assignment", &VoronoiCells::assignment)
      .def_readonly("members", &VoronoiCells::members)
      .def_readonly("distance", &VoronoiCells::distance)
      .def("sizes", &VoronoiCells::sizes)
      .def("__repr__", &VoronoiCells::ToString);

  py::class_<AtomError>(m, "AtomError")
      .def_readonly("atom", &AtomError::atom)
      .def_readonly("cell", &AtomError::cell)
      .def_readonly("cell_size", &AtomError::cell_size)
      .def_readonly("weight", &AtomError::weight)
      .def_readonly("gate_slope", &AtomError::gate_slope)
      .def_readonly("expert_slope", &AtomError::expert_slope)
      .def_readonly("intercept", &AtomError::intercept)
      .def_readonly("variance", &AtomError::variance)
      .def_readonly("temperature", &AtomError::temperature);
  py::class_<CellError>(m, "CellError")
      .def_readonly("cell", &CellError::cell)
      .def_readonly("size", &CellError::size)
      .def_readonly("fitted_weight", &CellError::fitted_weight)
      .def_readonly("true_weight", &CellError::true_weight)
      .def_readonly("weight_error", &CellError::weight_error);
  py::class_<ParameterErrors>(m, "ParameterErrors")
      .def_readonly("atoms", &ParameterErrors::atoms)
      .def_readonly("cells", &ParameterErrors::cells)
      .def_property_readonly("summary",
                             [](const ParameterErrors& e) { return e.summary.Columns(); },
                             "(column, value) pairs: weight_err_max, ..., n_empty_cells.")
      .def("__repr__", &ParameterErrors::ToString);

  py::class_<VoronoiLossResult>(m, "VoronoiLossResult")
      .def_readonly("value", &VoronoiLossResult::value)
      .def_property_readonly("kind", [](const VoronoiLossResult& r) { return std::string(ToString(r.kind)); })
      .def_property_readonly("gauge", [](const VoronoiLossResult& r) { return std::string(ToString(r.gauge)); })
      .def_property_readonly("norm", [](const VoronoiLossResult& r) { return std::string(ToString(r.norm)); })
      .def_readonly("weight_term", &VoronoiLossResult::weight_term)
      .def_readonly("parameter_term", &VoronoiLossResult::parameter_term)
      .def_readonly("shift_log_weight", &VoronoiLossResult::shift_log_weight)
      .def_readonly("saturated", &VoronoiLossResult::saturated)
      .def_readonly("shift_gate_slope", &VoronoiLossResult::shift_gate_slope)
      .def_readonly("cells", &VoronoiLossResult::cells)
      .def_readonly("errors", &VoronoiLossResult::errors)
      .def_readonly("warnings", &VoronoiLossResult::warnings)
      .def("brief_report", &VoronoiLossResult::BriefReport)
      .def("full_report", &VoronoiLossResult::FullReport)
      .def("__repr__", [](const VoronoiLossResult& r) { return "<" + r.BriefReport() + ">"; });
  m.def("voronoi_loss", &ComputeVoronoiLoss, py::arg("truth"), py::arg("fitted"),
        py::arg("options") = VoronoiLossOptions{}, ReleaseGil(),
        "D1 (k = k*) or D2 (k > k*) of `fitted` against `truth`.");

  py::class_<DensityDistanceOptions>(m, "DensityDistanceOptions",
                                     "x_integration: monte-carlo or midpoint-grid "
                                     "(metrics/density_distance.hpp).")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(DensityDistanceOptions, XIntegration, x_integration,
                            XIntegration::kMonteCarlo, XIntegration::kMidpointGrid)
      .def_readwrite("target_relative_error", &DensityDistanceOptions::target_relative_error)
      .def_readwrite("target_absolute_error", &DensityDistanceOptions::target_absolute_error)
      .def_readwrite("min_x", &DensityDistanceOptions::min_x)
      .def_readwrite("max_x", &DensityDistanceOptions::max_x)
      .def_readwrite("batch_x", &DensityDistanceOptions::batch_x)
      .def_readwrite("grid_points", &DensityDistanceOptions::grid_points)
      .def_readwrite("y_relative_tolerance", &DensityDistanceOptions::y_relative_tolerance)
      .def_readwrite("y_absolute_tolerance", &DensityDistanceOptions::y_absolute_tolerance)
      .def_readwrite("y_range_sds", &DensityDistanceOptions::y_range_sds)
      .def_readwrite("y_max_intervals", &DensityDistanceOptions::y_max_intervals)
      .def("validate", &DensityDistanceOptions::Validate);
  py::class_<DensityDistance>(m, "DensityDistance")
      .def_readonly("value", &DensityDistance::value)
      .def_readonly("standard_error", &DensityDistance::standard_error)
      .def_readonly("num_x", &DensityDistance::num_x)
      .def_readonly("deterministic", &DensityDistance::deterministic)
      .def_readonly("target_met", &DensityDistance::target_met)
      .def_readonly("y_unconverged", &DensityDistance::y_unconverged)
      .def("brief_report", &DensityDistance::BriefReport)
      .def("__repr__", [](const DensityDistance& d) { return "<" + d.BriefReport() + ">"; });

  const auto parse_kind = [](const std::string& kind) {
    return ParseByName<DensityDistanceKind>(
        "kind", kind, {DensityDistanceKind::kHellinger, DensityDistanceKind::kTotalVariation});
  };
  m.def("expected_density_distance",
        [parse_kind](const std::string& kind, const MoeParams& p, const MoeParams& q,
                     const CovariateDesign& design, Rng& rng, const DensityDistanceOptions& options) {
          const DensityDistanceKind k = parse_kind(kind);
          py::gil_scoped_release release;
          return ExpectedDensityDistance(k, p, q, design, options, rng);
        },
        py::arg("kind"), py::arg("p"), py::arg("q"), py::arg("design"), py::arg("rng"),
        py::arg("options") = DensityDistanceOptions{},
        "E_X of the conditional Hellinger (kind 'hellinger') or total-variation ('tv') distance "
        "under `design`, with its standard error.");
  m.def("conditional_density_distance",
        [parse_kind](const std::string& kind, const MoeParams& p, const MoeParams& q,
                     const Eigen::Ref<const Matrix>& X, const DensityDistanceOptions& options) {
          const DensityDistanceKind k = parse_kind(kind);
          py::gil_scoped_release release;
          return ConditionalDensityDistance(k, p, q, X, options);
        },
        py::arg("kind"), py::arg("p"), py::arg("q"), py::arg("X"),
        py::arg("options") = DensityDistanceOptions{}, "h(x_n) or V(x_n) for every row of X.");
}

}  // namespace moelab::python
