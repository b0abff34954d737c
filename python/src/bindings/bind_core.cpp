// core/: the explicit generator, seed derivation, data sets, terminations.
#include "common.hpp"
#include "moelab/core/dataset.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/core/termination.hpp"

namespace moelab::python {

void BindCore(py::module_& m) {
  py::class_<Rng>(m, "Rng",
                  "The explicit random generator (std::mt19937_64). Every function that draws "
                  "takes one; the same seed gives the same draws as the C++ library.")
      .def(py::init<std::uint64_t>(), py::arg("seed"))
      .def("next", [](Rng& self) { return static_cast<std::uint64_t>(self()); },
           "The next raw 64-bit engine output (advances the generator).")
      .def("__repr__", [](const Rng&) { return std::string("moelab.Rng(<mt19937_64>)"); });

  m.def("derive_seed", &DeriveSeed, py::arg("base"), py::arg("a"), py::arg("b"),
        "DeriveSeed(base, a, b) = Mix64(Mix64(Mix64(base) ^ a) ^ (b + 0x9E3779B97F4A7C15)): "
        "the seed of rate-study cell (n = a, replication = b).");

  py::class_<Dataset>(m, "Dataset",
                      "Covariates X (n x d), responses y (n) and, for simulated data, the latent "
                      "expert labels (0-based). Fields are views of the C++ arrays.")
      .def(py::init([](Matrix X, Vector y, std::optional<IntVector> labels) {
             Dataset d{std::move(X), std::move(y), std::move(labels)};
             d.Validate();
             return d;
           }),
           py::arg("X"), py::arg("y"), py::arg("labels") = py::none(),
           "Validates: shapes agree, n >= 1, no NaN/Inf (the message names row and column).")
      .def_readwrite("X", &Dataset::X)
      .def_readwrite("y", &Dataset::y)
      .def_readwrite("labels", &Dataset::labels)
      .def_property_readonly("n", &Dataset::size)
      .def_property_readonly("dim", &Dataset::dim)
      .def("validate", &Dataset::Validate)
      .def("__len__", &Dataset::size)
      .def("__repr__", [](const Dataset& d) {
        return "moelab.Dataset(n=" + std::to_string(d.size()) + ", d=" + std::to_string(d.dim()) +
               (d.labels ? ", labels" : "") + ")";
      });

  m.def("is_usable", [](const std::string& termination) {
    return IsUsable(ParseByName<TerminationType>(
        "termination", termination, {MOELAB_TERMINATIONS}));
  }, py::arg("termination"), "True when a fit with this termination is a meaningful estimate.");
}

}  // namespace moelab::python
