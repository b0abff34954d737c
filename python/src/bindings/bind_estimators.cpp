// estimators/: options, FitResult, EM / MLE / LSE fits, starts, the
// one-call fit FitMoe (behind moelab.MixtureOfExperts) with model selection,
// prediction, standard errors and fit warnings, information criteria.
#include "common.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/fit_diagnostics.hpp"
#include "moelab/estimators/fit_moe.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/lse_ceres.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/estimators/model_selection.hpp"
#include "moelab/estimators/prediction.hpp"
#include "moelab/estimators/select_num_experts.hpp"
#include "moelab/estimators/standard_errors.hpp"

namespace moelab::python {

namespace {

#define MOELAB_FIT_ESTIMATORS FitEstimator::kEm, FitEstimator::kMle, FitEstimator::kLse
#define MOELAB_ICL_KINDS IclKind::kSoftEntropy, IclKind::kHardClassification

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
      .def_readwrite("gate_newton_steps", &EmOptions::gate_newton_steps)
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

  py::class_<FitOptions>(m, "FitOptions",
                         "Options of fit_moe (estimators/fit_moe.hpp): estimator (em, mle, lse), "
                         "num_starts, seed, num_threads, min_prior, fit_temperature, icl (soft, "
                         "hard), initial_params, and the estimators' own options em, mle, lse.")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(FitOptions, FitEstimator, estimator, MOELAB_FIT_ESTIMATORS)
      .def_readwrite("num_starts", &FitOptions::num_starts)
      .def_readwrite("seed", &FitOptions::seed)
      .def_readwrite("num_threads", &FitOptions::num_threads)
      .def_readwrite("min_prior", &FitOptions::min_prior)
      .def_readwrite("fit_temperature", &FitOptions::fit_temperature)
      .def_readwrite("squarem", &FitOptions::squarem)
      .MOELAB_ENUM_PROPERTY(FitOptions, IclKind, icl, MOELAB_ICL_KINDS)
      .def_readwrite("initial_params", &FitOptions::initial_params)
      .def_readwrite("em", &FitOptions::em)
      .def_readwrite("mle", &FitOptions::mle)
      .def_readwrite("lse", &FitOptions::lse)
      .def("validate", &FitOptions::Validate);

  py::class_<FitWarning>(m, "FitWarning",
                         "kind: not-converged, quasi-separation, spurious-component, "
                         "variance-floor, empty-expert, likelihood-drop, min-prior-not-met.")
      .def_property_readonly("kind", [](const FitWarning& w) { return std::string(ToString(w.kind)); })
      .def_readonly("expert", &FitWarning::expert)
      .def_readonly("other_expert", &FitWarning::other_expert)
      .def_readonly("message", &FitWarning::message)
      .def("__repr__", [](const FitWarning& w) {
        return "<moelab.FitWarning " + std::string(ToString(w.kind)) + ": " + w.message + ">";
      });
  m.def("diagnose_fit", &DiagnoseFit, py::arg("data"), py::arg("result"), ReleaseGil());

  py::class_<MoeFit>(m, "MoeFit",
                     "fit_moe's result: the kept FitResult, information criteria, component "
                     "sizes, start counts and warnings.")
      .def_readonly("shape", &MoeFit::shape)
      .def_property_readonly("estimator", [](const MoeFit& f) { return std::string(ToString(f.estimator)); })
      .def_readonly("fit_temperature", &MoeFit::fit_temperature)
      .def_readonly("result", &MoeFit::result)
      .def_readonly("criteria", &MoeFit::criteria)
      .def_readonly("icl_soft", &MoeFit::icl_soft)
      .def_readonly("icl_hard", &MoeFit::icl_hard)
      .def_readonly("component_size", &MoeFit::component_size)
      .def_readonly("starts_failed", &MoeFit::starts_failed)
      .def_readonly("starts_below_min_prior", &MoeFit::starts_below_min_prior)
      .def_readonly("warnings", &MoeFit::warnings)
      .def_property_readonly("params", &MoeFit::params)
      .def_property_readonly("log_likelihood", &MoeFit::log_likelihood)
      .def("is_usable", &MoeFit::IsUsable)
      .def("converged", &MoeFit::converged);
  m.def("fit_moe", &FitMoe, py::arg("data"), py::arg("shape"), py::arg("options") = FitOptions{},
        ReleaseGil(),
        "The best of several starts (initial_params, then num_starts drawn ones alternating "
        "data-driven and random, from DeriveSeed(seed, k, 0)) with criteria and warnings.");
  m.def("num_model_parameters",
        py::overload_cast<const ModelShape&, bool>(&NumModelParameters), py::arg("shape"),
        py::arg("fit_temperature") = false,
        "Free parameters of a model of this shape (a single expert has no gate parameters).");
  m.def("num_model_parameters",
        py::overload_cast<const MoeParams&, bool>(&NumModelParameters), py::arg("params"),
        py::arg("fit_temperature") = false);

  py::class_<ModelSelectionRow>(m, "ModelSelectionRow")
      .def_readonly("shape", &ModelSelectionRow::shape)
      .def_readonly("fitted", &ModelSelectionRow::fitted)
      .def_readonly("skip_reason", &ModelSelectionRow::skip_reason)
      .def_readonly("fit", &ModelSelectionRow::fit)
      .def("usable", &ModelSelectionRow::usable);
  m.def("select_num_experts",
        [](const Dataset& data, const ModelShape& shape, const std::vector<Index>& num_experts,
           const FitOptions& options) {
          return SelectNumExperts(data, shape, num_experts, options).rows;
        },
        py::arg("data"), py::arg("shape"), py::arg("num_experts"), py::arg("options") = FitOptions{},
        ReleaseGil(), "fit_moe for every k in num_experts (rows in that order).");

  py::class_<MoePrediction>(m, "MoePrediction")
      .def_readonly("mean", &MoePrediction::mean)
      .def_readonly("variance", &MoePrediction::variance)
      .def_readonly("gate_probabilities", &MoePrediction::gate_probabilities)
      .def_readonly("expert_means", &MoePrediction::expert_means);
  m.def("predict", &Predict, py::arg("params"), py::arg("X"), ReleaseGil(),
        "Conditional mean and variance, gate probabilities and expert means at the rows of X.");
  m.def("posteriors", &Posteriors, py::arg("params"), py::arg("X"), py::arg("y"), ReleaseGil());
  m.def("map_labels", &MapLabels, py::arg("posteriors"));
  m.def("held_out_log_likelihood", &HeldOutLogLikelihood, py::arg("params"), py::arg("data"),
        ReleaseGil());

  py::class_<StandardErrorOptions>(m, "StandardErrorOptions")
      .def(py::init<>())
      .def_readwrite("level", &StandardErrorOptions::level)
      .def_readwrite("relative_step", &StandardErrorOptions::relative_step)
      .def_readwrite("singular_tolerance", &StandardErrorOptions::singular_tolerance)
      .def_readwrite("fit_temperature", &StandardErrorOptions::fit_temperature)
      .def("validate", &StandardErrorOptions::Validate);
  py::class_<BootstrapOptions>(m, "BootstrapOptions")
      .def(py::init<>())
      .def_readwrite("replicates", &BootstrapOptions::replicates)
      .def_readwrite("level", &BootstrapOptions::level)
      .def_readwrite("seed", &BootstrapOptions::seed)
      .def_readwrite("num_threads", &BootstrapOptions::num_threads)
      .def("validate", &BootstrapOptions::Validate);
  py::class_<ParameterInference>(m, "ParameterInference")
      .def_readonly("name", &ParameterInference::name)
      .def_readonly("estimate", &ParameterInference::estimate)
      .def_readonly("available", &ParameterInference::available)
      .def_readonly("standard_error", &ParameterInference::standard_error)
      .def_readonly("lower", &ParameterInference::lower)
      .def_readonly("upper", &ParameterInference::upper)
      .def_readonly("z", &ParameterInference::z)
      .def_readonly("reason", &ParameterInference::reason);
  py::class_<StandardErrorReport>(m, "StandardErrorReport")
      .def_readonly("method", &StandardErrorReport::method)
      .def_readonly("level", &StandardErrorReport::level)
      .def_readonly("available", &StandardErrorReport::available)
      .def_readonly("reason", &StandardErrorReport::reason)
      .def_readonly("parameters", &StandardErrorReport::parameters)
      .def_readonly("covariance", &StandardErrorReport::covariance);
  m.def("standard_errors", &ComputeStandardErrors, py::arg("data"), py::arg("params"),
        py::arg("options") = StandardErrorOptions{}, ReleaseGil(),
        "Wald standard errors from the observed information (or why there are none).");
  m.def("bootstrap_standard_errors", &BootstrapStandardErrors, py::arg("data"), py::arg("fit"),
        py::arg("fit_options"), py::arg("options") = BootstrapOptions{}, ReleaseGil(),
        "Parametric-bootstrap standard errors and percentile intervals.");
  m.def("free_parameter_names", &FreeParameterNames, py::arg("params"), py::arg("fit_temperature") = false);

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
  m.def("information_criteria",
        [](const Dataset& data, const MoeParams& params, Index num_parameters, const std::string& icl) {
          const IclKind kind = ParseByName<IclKind>("icl", icl, {MOELAB_ICL_KINDS});
          py::gil_scoped_release release;
          return ComputeInformationCriteria(data, params, num_parameters, kind);
        },
        py::arg("data"), py::arg("params"), py::arg("num_parameters"), py::arg("icl") = "soft",
        "ICL 'soft' (entropy of the posteriors) or 'hard' (MAP classification, as flexmix).");

  m.attr("TERMINATIONS") = [] {
    py::list names;
    for (TerminationType t : {MOELAB_TERMINATIONS}) names.append(ToString(t));
    return names;
  }();
}

}  // namespace moelab::python
