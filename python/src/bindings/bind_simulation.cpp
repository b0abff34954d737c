// simulation/ and io/dataset_csv: covariate designs, presets, Simulate().
#include "common.hpp"
#include "moelab/io/dataset_csv.hpp"
#include "moelab/simulation/design.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab::python {

void BindSimulation(py::module_& m) {
  py::class_<CovariateDesign>(m, "CovariateDesign",
                              "How X is drawn: kind uniform (on [lower, upper]^d), normal "
                              "(N(0, 1)^d) or grid (linspace(lower, upper, n), d = 1).")
      .def(py::init<>())
      .def(py::init([](const std::string& kind, Index dim, double lower, double upper) {
             CovariateDesign d{ParseDesignKind(kind), dim, lower, upper};
             d.Validate();
             return d;
           }),
           py::arg("kind") = "uniform", py::arg("dim") = 1, py::arg("lower") = -1.0,
           py::arg("upper") = 1.0)
      .MOELAB_ENUM_PROPERTY(CovariateDesign, DesignKind, kind, DesignKind::kUniform,
                            DesignKind::kNormal, DesignKind::kGrid)
      .def_readwrite("dim", &CovariateDesign::dim)
      .def_readwrite("lower", &CovariateDesign::lower)
      .def_readwrite("upper", &CovariateDesign::upper)
      .def("validate", &CovariateDesign::Validate);
  m.def("draw_covariates", &DrawCovariates, py::arg("design"), py::arg("n"), py::arg("rng"),
        ReleaseGil());

  py::class_<Preset>(m, "Preset", "A named true model with its design and fitted shape.")
      .def_readonly("name", &Preset::name)
      .def_readonly("description", &Preset::description)
      .def_readonly("truth", &Preset::truth)
      .def_readonly("design", &Preset::design)
      .def_readonly("fitted_experts", &Preset::fitted_experts)
      .def_readonly("fitted_top_k", &Preset::fitted_top_k)
      .def("__repr__", [](const Preset& p) { return "moelab.Preset('" + p.name + "')"; });
  m.def("preset_names", &PresetNames);
  m.def("get_preset", &GetPreset, py::arg("name"));

  m.def("simulate", &Simulate, py::arg("truth"), py::arg("design"), py::arg("n"), py::arg("rng"),
        ReleaseGil(),
        "Draws n pairs: X from the design, then row by row z ~ g(x), y ~ N(a_z' x + b_z, "
        "variance_z). The Dataset carries the labels z.");
  m.def("simulate_at", &SimulateAt, py::arg("truth"), py::arg("X"), py::arg("rng"), ReleaseGil());
  m.def("read_dataset_csv", &ReadDatasetCsv, py::arg("path"), ReleaseGil(),
        "Header x1,...,xd,y[,z]; errors name the file, line and column.");
  m.def("write_dataset_csv", &WriteDatasetCsv, py::arg("data"), py::arg("path"), ReleaseGil());
}

}  // namespace moelab::python
