// Shared helpers of the binding files (one file per library module).
//
// Conventions of the Python API:
//   * enum-valued fields and arguments are strings, the library's own names
//     (ToString / Parse*), e.g. gate.kind = "softmax"; a bad name raises
//     ValueError listing the valid ones;
//   * Eigen arguments are Eigen::Ref: a NumPy array of float64 in the
//     layout Eigen expects (column-major for matrices, contiguous vectors)
//     is used in place; any other array is converted once;
//   * results are returned as NumPy arrays that take over the C++ buffer
//     (no copy); fields of structs are exposed as views of the C++ object;
//   * calls that do real work (fits, simulations, metrics, studies, load
//     balancing) release the GIL;
//   * library exceptions keep their message: std::invalid_argument and
//     std::domain_error -> ValueError (pybind11's translation), other
//     std::exception -> RuntimeError.
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <initializer_list>
#include <stdexcept>
#include <string>

namespace moelab::python {

namespace py = pybind11;
using ReleaseGil = py::call_guard<py::gil_scoped_release>;

// The value of `values` whose ToString is `name`; otherwise
// std::invalid_argument naming `field` and every valid name.
template <class Enum>
Enum ParseByName(const std::string& field, const std::string& name,
                 std::initializer_list<Enum> values) {
  std::string valid;
  for (Enum v : values) {
    if (name == ToString(v)) return v;
    if (!valid.empty()) valid.append(", ");
    valid.append(ToString(v));
  }
  throw std::invalid_argument(field + ": unknown name '" + name + "' (valid: " + valid + ")");
}

// A read/write string property for an enum-valued field.
#define MOELAB_ENUM_PROPERTY(cls, Type, field, ...)                                   \
  def_property(                                                                       \
      #field, [](const cls& self) { return std::string(ToString(self.field)); },      \
      [](cls& self, const std::string& name) {                                        \
        self.field = ::moelab::python::ParseByName<Type>(#cls "." #field, name, {__VA_ARGS__}); \
      })

// Value lists of enums bound in more than one file.
#define MOELAB_TERMINATIONS                                                               \
  TerminationType::kConverged, TerminationType::kMaxIterations, TerminationType::kStalled, \
      TerminationType::kNumericalFailure, TerminationType::kUserStopped,                  \
      TerminationType::kInvalidInput
#define MOELAB_GATE_KINDS \
  GateKind::kSoftmax, GateKind::kTopK, GateKind::kTemperature, GateKind::kActivation

void BindCore(py::module_& m);
void BindModel(py::module_& m);
void BindSimulation(py::module_& m);
void BindEstimators(py::module_& m);
void BindMetrics(py::module_& m);
void BindRates(py::module_& m);
void BindRouting(py::module_& m);

}  // namespace moelab::python
