// model/ and io/params_json: parameters (gate + experts), their shape, the
// gauge, the Gaussian MoE density, and the JSON parameter files.
#include "common.hpp"
#include "moelab/core/dataset.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/estimators/free_parameters.hpp"
#include "moelab/io/params_json.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab::python {

namespace {

#define MOELAB_RANKINGS TopKRanking::kSlopeOnly, TopKRanking::kFullLogit
#define MOELAB_ACTIVATIONS Activation::kTanh, Activation::kSigmoid, Activation::kIdentity

Dataset MakeData(const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y) {
  Dataset d{X, y, std::nullopt};
  return d;
}

}  // namespace

void BindModel(py::module_& m) {
  py::class_<GateParams>(m, "GateParams",
                         "Gate parameters: bias beta0 (k), slope beta1 (k x d), temperature tau, "
                         "top_k K, ranking, activation. kind: softmax, topk, temperature, "
                         "activation.")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(GateParams, GateKind, kind, MOELAB_GATE_KINDS)
      .def_readwrite("bias", &GateParams::bias)
      .def_readwrite("slope", &GateParams::slope)
      .def_readwrite("temperature", &GateParams::temperature)
      .def_readwrite("top_k", &GateParams::top_k)
      .MOELAB_ENUM_PROPERTY(GateParams, TopKRanking, ranking, MOELAB_RANKINGS)
      .MOELAB_ENUM_PROPERTY(GateParams, Activation, activation, MOELAB_ACTIVATIONS)
      .def_property_readonly("num_experts", &GateParams::num_experts)
      .def_property_readonly("dim", &GateParams::dim)
      .def("validate", &GateParams::Validate);

  py::class_<ExpertParams>(m, "ExpertParams",
                           "Linear Gaussian experts: slope a (k x d), intercept b (k), variance "
                           "nu (k; the variance, not the standard deviation).")
      .def(py::init<>())
      .def_readwrite("slope", &ExpertParams::slope)
      .def_readwrite("intercept", &ExpertParams::intercept)
      .def_readwrite("variance", &ExpertParams::variance)
      .def_property_readonly("num_experts", &ExpertParams::num_experts)
      .def_property_readonly("dim", &ExpertParams::dim)
      .def("validate", &ExpertParams::Validate);

  py::class_<MoeParams>(m, "MoeParams", "A full parameter set: gate + experts.")
      .def(py::init<>())
      .def(py::init([](GateParams gate, ExpertParams experts) {
             MoeParams p{std::move(gate), std::move(experts)};
             p.Validate();
             return p;
           }),
           py::arg("gate"), py::arg("experts"))
      .def_readwrite("gate", &MoeParams::gate)
      .def_readwrite("experts", &MoeParams::experts)
      .def_property_readonly("num_experts", &MoeParams::num_experts)
      .def_property_readonly("dim", &MoeParams::dim)
      .def("validate", &MoeParams::Validate)
      .def("to_json", &ParamsToJson, "The parameter-file JSON text (io/params_json.hpp).")
      .def_static("from_json", &ParamsFromJson, py::arg("text"), py::arg("source") = "<string>",
                  "Parses and validates parameter-file JSON (errors name the source and field).")
      .def("__repr__", [](const MoeParams& p) { return "moelab.MoeParams(" + ParamsToJson(p) + ")"; })
      .def(py::pickle([](const MoeParams& p) { return ParamsToJson(p); },
                      [](const std::string& text) { return ParamsFromJson(text, "<pickle>"); }));

  m.def("read_params_json", &ReadParamsJson, py::arg("path"));
  m.def("write_params_json", &WriteParamsJson, py::arg("params"), py::arg("path"));
  m.def("normalise_gauge", &NormaliseGauge, py::arg("params"),
        "Reference (last) expert's gate intercept (and slope, where that is a symmetry) set to 0; "
        "the density is unchanged.");
  m.def("permute_experts", &PermuteExperts, py::arg("params"), py::arg("perm"),
        "Expert j of the result is expert perm[j] of params.");

  py::class_<ModelShape>(m, "ModelShape",
                         "The shape of a model to fit: gate, num_experts k, dim d, top_k (top-K "
                         "gates), ranking, activation, starting temperature.")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(ModelShape, GateKind, gate, MOELAB_GATE_KINDS)
      .def_readwrite("num_experts", &ModelShape::num_experts)
      .def_readwrite("dim", &ModelShape::dim)
      .def_readwrite("top_k", &ModelShape::top_k)
      .MOELAB_ENUM_PROPERTY(ModelShape, TopKRanking, ranking, MOELAB_RANKINGS)
      .MOELAB_ENUM_PROPERTY(ModelShape, Activation, activation, MOELAB_ACTIVATIONS)
      .def_readwrite("temperature", &ModelShape::temperature)
      .def("validate", &ModelShape::Validate);
  m.def("shape_of", &ShapeOf, py::arg("params"));
  m.def("num_free_parameters",
        py::overload_cast<const MoeParams&, bool>(&NumFreeParameters), py::arg("params"),
        py::arg("fit_temperature") = false,
        "Free parameters once the gauge is fixed (the minimum n of every estimator).");
  m.def("num_free_parameters",
        py::overload_cast<const ModelShape&, bool>(&NumFreeParameters), py::arg("shape"),
        py::arg("fit_temperature") = false);

  m.def("gate_log_weights", &GateLogWeights, py::arg("gate"), py::arg("X"), ReleaseGil(),
        "log g_i(x_n) (n x k); -inf where a top-K gate does not select an expert.");
  m.def("gate_probabilities",
        [](const GateParams& gate, const Eigen::Ref<const Matrix>& X) {
          return ExpOfLog(GateLogWeights(gate, X));
        },
        py::arg("gate"), py::arg("X"), ReleaseGil(),
        "g_i(x_n) (n x k), exactly 0 where a top-K gate does not select an expert (the "
        "gate_probabilities of predict(), without its other outputs).");

  py::class_<GaussianMoe>(m, "GaussianMoe",
                          "p(y | x) = sum_i g_i(x) N(y | a_i' x + b_i, variance_i). Methods take "
                          "X (n x d) and y (n).")
      .def(py::init<MoeParams>(), py::arg("params"))
      .def_property_readonly("params", &GaussianMoe::params)
      .def_property_readonly("num_experts", &GaussianMoe::num_experts)
      .def_property_readonly("dim", &GaussianMoe::dim)
      .def("log_densities", &GaussianMoe::LogDensities, py::arg("X"), py::arg("y"), ReleaseGil(),
           "log p(y_n | x_n) for every row.")
      .def("joint_log_terms", &GaussianMoe::JointLogTerms, py::arg("X"), py::arg("y"), ReleaseGil())
      .def("log_likelihood",
           [](const GaussianMoe& self, const Eigen::Ref<const Matrix>& X,
              const Eigen::Ref<const Vector>& y) { return self.LogLikelihood(MakeData(X, y)); },
           py::arg("X"), py::arg("y"), ReleaseGil(), "sum_n log p(y_n | x_n) (checks the data).")
      .def("responsibilities",
           [](const GaussianMoe& self, const Eigen::Ref<const Matrix>& X,
              const Eigen::Ref<const Vector>& y) { return self.Responsibilities(MakeData(X, y)); },
           py::arg("X"), py::arg("y"), ReleaseGil(), "P(z_n = i | x_n, y_n) (n x k).")
      .def("conditional_mean", &GaussianMoe::ConditionalMean, py::arg("X"), ReleaseGil(),
           "E[y | x] for every row of X.")
      .def("conditional_variance", &GaussianMoe::ConditionalVariance, py::arg("X"), ReleaseGil(),
           "Var[y | x] for every row of X.")
      .def("gate_log_weights",
           [](const GaussianMoe& self, const Eigen::Ref<const Matrix>& X) {
             return GateLogWeights(self.params().gate, X);
           },
           py::arg("X"), ReleaseGil());
}

}  // namespace moelab::python
