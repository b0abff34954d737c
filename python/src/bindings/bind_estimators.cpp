// estimators/: options, FitResult, EM / MLE / LSE fits, starts, the
// multi-start fit of the scikit-learn estimator (glue.hpp), information
// criteria.
#include "common.hpp"
#include "glue.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/model_selection.hpp"

namespace moelab::python {

namespace {

#define MOELAB_TERMINATIONS                                                               \
  TerminationType::kConverged, TerminationType::kMaxIterations, TerminationType::kStalled, \
      TerminationType::kNumericalFailure, TerminationType::kUserStopped,                  \
      TerminationType::kInvalidInput
#define MOELAB_ESTIMATORS EstimatorKind::kEm, EstimatorKind::kMleNlopt, EstimatorKind::kLseCeres

}  // namespace

void BindEstimators(py::module_& m) {
  py::class_<IterationSummary>(m, "IterationSummary")
      .def_readonly("iteration", &IterationSummary::iteration)
      .def_readonly("log_likelihood", &IterationSummary::log_likelihood)
      .def_readonly("relative_change", &IterationSummary::relative_change)
      .def_readonly("parameter_change", &IterationSummary::parameter_change)
      .def_readonly("gradient_norm", &IterationSummary::gradient_norm)
      .def_readonly("seconds", &IterationSummary::seconds)
      .def_readonly("selection_changed", &IterationSummary::selection_changed);

  // Options: every field but the iteration callback (a Python callback would
  // need the GIL inside the released fit).
  py::class_<EmOptions>(m, "EmOptions", "EM options; defaults as in estimators/em.hpp.")
      .def(py::init<>())
      .def_readwrite("max_iterations", &EmOptions::max_iterations)
      .def_readwrite("relative_tolerance", &EmOptions::relative_tolerance)
      .def_readwrite("parameter_tolerance", &EmOptions::parameter_tolerance)
      .def_readwrite("variance_floor", &EmOptions::variance_floor)
      .def_readwrite("min_expert_mass", &EmOptions::min_expert_mass)
      .def_readwrite("gate_max_iterations", &EmOptions::gate_max_iterations)
      .def_readwrite("gate_tolerance", &EmOptions::gate_tolerance)
      .def_readwrite("fit_temperature", &EmOptions::fit_temperature)
      .def_readwrite("record_history", &EmOptions::record_history)
      .def_readwrite("num_threads", &EmOptions::num_threads)
      .def("validate", &EmOptions::Validate);
  py::class_<MleNloptOptions>(m, "MleNloptOptions", "Direct MLE (NLopt) options.")
      .def(py::init<>())
      .def_readwrite("algorithm", &MleNloptOptions::algorithm)
      .def_readwrite("max_evaluations", &MleNloptOptions::max_evaluations)
      .def_readwrite("relative_tolerance", &MleNloptOptions::relative_tolerance)
      .def_readwrite("parameter_tolerance", &MleNloptOptions::parameter_tolerance)
      .def_readwrite("variance_floor", &MleNloptOptions::variance_floor)
      .def_readwrite("fit_temperature", &MleNloptOptions::fit_temperature)
      .def_readwrite("record_history", &MleNloptOptions::record_history)
      .def("validate", &MleNloptOptions::Validate);
  py::class_<LseCeresOptions>(m, "LseCeresOptions", "Least-squares (Ceres) options.")
      .def(py::init<>())
      .def_readwrite("max_iterations", &LseCeresOptions::max_iterations)
      .def_readwrite("function_tolerance", &LseCeresOptions::function_tolerance)
      .def_readwrite("gradient_tolerance", &LseCeresOptions::gradient_tolerance)
      .def_readwrite("parameter_tolerance", &LseCeresOptions::parameter_tolerance)
      .def_readwrite("record_history", &LseCeresOptions::record_history)
      .def("validate", &LseCeresOptions::Validate);

  py::class_<FitResult>(m, "FitResult",
                        "What every estimator returns: gauge-normalised parameters, the "
                        "log-likelihood, why it stopped, and the repairs on the way.")
      .def_readonly("estimator", &FitResult::estimator)
      .def_readonly("params", &FitResult::params)
      .def_readonly("log_likelihood", &FitResult::log_likelihood)
      .def_readonly("objective", &FitResult::objective)
      .def_readonly("iterations", &FitResult::iterations)
      .def_property_readonly("termination",
                             [](const FitResult& r) { return std::string(ToString(r.termination)); })
      .def_readonly("message", &FitResult::message)
      .def_readonly("history", &FitResult::history)
      .def_readonly("variance_floor_hits", &FitResult::variance_floor_hits)
      .def_readonly("empty_expert_events", &FitResult::empty_expert_events)
      .def_readonly("likelihood_decreases", &FitResult::likelihood_decreases)
      .def_readonly("restarts", &FitResult::restarts)
      .def_readonly("best_restart", &FitResult::best_restart)
      .def_readonly("seconds", &FitResult::seconds)
      .def("is_usable", &FitResult::IsUsable)
      .def("brief_report", &FitResult::BriefReport)
      .def("full_report", &FitResult::FullReport)
      .def("__repr__", [](const FitResult& r) { return "<moelab.FitResult " + r.BriefReport() + ">"; });

  m.def("fit_em", &FitEm, py::arg("data"), py::arg("init"), py::arg("options") = EmOptions{},
        ReleaseGil(), "EM from `init` (estimators/em.hpp).");
  m.def("fit_mle_nlopt", &FitMleNlopt, py::arg("data"), py::arg("init"),
        py::arg("options") = MleNloptOptions{}, ReleaseGil(), "Direct MLE through NLopt.");
  m.def("fit_lse_ceres", &FitLseCeres, py::arg("data"), py::arg("init"),
        py::arg("options") = LseCeresOptions{}, ReleaseGil(), "Least squares through Ceres.");

  py::class_<MultiStartOptions>(m, "MultiStartOptions",
                                "Options of fit_multi_start: num_starts, seed, estimator (em, "
                                "mle-nlopt, lse-ceres) and that estimator's options.")
      .def(py::init<>())
      .def_readwrite("num_starts", &MultiStartOptions::num_starts)
      .def_readwrite("seed", &MultiStartOptions::seed)
      .MOELAB_ENUM_PROPERTY(MultiStartOptions, EstimatorKind, estimator, MOELAB_ESTIMATORS)
      .def_readwrite("em", &MultiStartOptions::em)
      .def_readwrite("mle", &MultiStartOptions::mle)
      .def_readwrite("lse", &MultiStartOptions::lse)
      .def("validate", &MultiStartOptions::Validate);
  m.def("fit_multi_start", &FitMultiStart, py::arg("data"), py::arg("shape"), py::arg("options"),
        ReleaseGil(),
        "Best log-likelihood of num_starts fits from Rng(seed); starts alternate data-driven "
        "(even) and random (odd).");

  m.def("init_data_driven", &InitDataDriven, py::arg("data"), py::arg("shape"), py::arg("rng"),
        ReleaseGil());
  m.def("init_random", &InitRandom, py::arg("data"), py::arg("shape"), py::arg("rng"),
        ReleaseGil());
  m.def("init_near_truth", &InitNearTruth, py::arg("truth"), py::arg("shape"), py::arg("n"),
        py::arg("rng"), ReleaseGil());

  py::class_<InformationCriteria>(m, "InformationCriteria",
                                  "AIC = -2 l + 2 p, BIC = -2 l + p log n, ICL = BIC + 2 EN "
                                  "(soft-classification entropy); smaller is better.")
      .def_readonly("log_likelihood", &InformationCriteria::log_likelihood)
      .def_readonly("num_parameters", &InformationCriteria::num_parameters)
      .def_readonly("entropy", &InformationCriteria::entropy)
      .def_readonly("aic", &InformationCriteria::aic)
      .def_readonly("bic", &InformationCriteria::bic)
      .def_readonly("icl", &InformationCriteria::icl);
  m.def("information_criteria", &ComputeInformationCriteria, py::arg("data"), py::arg("params"),
        py::arg("num_parameters"), ReleaseGil());

  m.attr("TERMINATIONS") = [] {
    py::list names;
    for (TerminationType t : {MOELAB_TERMINATIONS}) names.append(ToString(t));
    return names;
  }();
}

}  // namespace moelab::python
