// routing/: the load-balancing lab. A run returns its summary and the
// per-step table (one entry per StepRecord field, NumPy arrays) with the
// per-expert loads and biases as step x expert matrices.
#include <vector>

#include "common.hpp"
#include "moelab/routing/load_balance_run.hpp"

namespace moelab::python {

namespace {

#define MOELAB_SCORES ScoreFunction::kSoftmax, ScoreFunction::kSigmoid, \
                      ScoreFunction::kSqrtSoftplus, ScoreFunction::kLogit
#define MOELAB_ROUTERS RouterKind::kTopK, RouterKind::kGroupedTopK, \
                       RouterKind::kGroupLimitedTopK, RouterKind::kTopP
#define MOELAB_REGRETS RegretReferenceKind::kNone, RegretReferenceKind::kAuto,             \
                       RegretReferenceKind::kGumbelPoolExact, RegretReferenceKind::kPoolLp, \
                       RegretReferenceKind::kHeldOutLp

// Rows of `records` stacked into a steps x width matrix (width of the first).
Matrix Stack(const std::vector<StepRecord>& records, Vector StepRecord::*field) {
  const Index width = records.empty() ? 0 : (records.front().*field).size();
  Matrix out(static_cast<Index>(records.size()), width);
  for (std::size_t t = 0; t < records.size(); ++t) out.row(static_cast<Index>(t)) = (records[t].*field).transpose();
  return out;
}

template <class T>
py::array_t<T> Column(const std::vector<StepRecord>& records, T StepRecord::*field) {
  py::array_t<T> out(static_cast<py::ssize_t>(records.size()));
  auto view = out.template mutable_unchecked<1>();
  for (std::size_t t = 0; t < records.size(); ++t) view(static_cast<py::ssize_t>(t)) = records[t].*field;
  return out;
}

}  // namespace

void BindRouting(py::module_& m) {
  py::class_<TokenStreamOptions>(m, "TokenStreamOptions",
                                 "Token stream of the load-balancing lab "
                                 "(routing/token_stream.hpp).")
      .def(py::init<>())
      .def_readwrite("num_experts", &TokenStreamOptions::num_experts)
      .def_readwrite("design", &TokenStreamOptions::design)
      .def_readwrite("gate", &TokenStreamOptions::gate)
      .def_readwrite("slope_scale", &TokenStreamOptions::slope_scale)
      .def_readwrite("offset_scale", &TokenStreamOptions::offset_scale)
      .MOELAB_ENUM_PROPERTY(TokenStreamOptions, ScoreFunction, score_function, MOELAB_SCORES)
      .def_readwrite("gumbel_scale", &TokenStreamOptions::gumbel_scale)
      .def_readwrite("pool_size", &TokenStreamOptions::pool_size)
      .def_readwrite("batch_size", &TokenStreamOptions::batch_size)
      .def_readwrite("num_microbatches", &TokenStreamOptions::num_microbatches)
      .def_readwrite("sequence_length", &TokenStreamOptions::sequence_length)
      .def_readwrite("num_domains", &TokenStreamOptions::num_domains)
      .def_readwrite("domain_spread", &TokenStreamOptions::domain_spread)
      .def_readwrite("domain_per_microbatch", &TokenStreamOptions::domain_per_microbatch)
      .def_readwrite("drift_per_step", &TokenStreamOptions::drift_per_step)
      .def("validate", &TokenStreamOptions::Validate);

  py::class_<RouterOptions>(m, "RouterOptions", "kind: topk, grouped-topk, group-limited-topk, top-p.")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(RouterOptions, RouterKind, kind, MOELAB_ROUTERS)
      .def_readwrite("top_k", &RouterOptions::top_k)
      .def_readwrite("num_groups", &RouterOptions::num_groups)
      .def_readwrite("group_topk", &RouterOptions::group_topk)
      .def_readwrite("top_p", &RouterOptions::top_p)
      .def_readwrite("max_k", &RouterOptions::max_k)
      .def_readwrite("num_null_experts", &RouterOptions::num_null_experts)
      .def_readwrite("num_shared_experts", &RouterOptions::num_shared_experts)
      .def_readwrite("compute_weights", &RouterOptions::compute_weights);

  py::class_<RegretOptions>(m, "RegretOptions",
                            "kind: none, auto, gumbel-exact, pool-lp, held-out-lp.")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(RegretOptions, RegretReferenceKind, kind, MOELAB_REGRETS)
      .def_readwrite("held_out_tokens", &RegretOptions::held_out_tokens)
      .def_readwrite("every", &RegretOptions::every)
      .def("validate", &RegretOptions::Validate);

  py::class_<DynamicRegretOptions>(m, "DynamicRegretOptions",
                                   "Dynamic regret against the per-step best price "
                                   "(routing/dynamic_regret.hpp); every = 0 is off.")
      .def(py::init<>())
      .def_readwrite("held_out_tokens", &DynamicRegretOptions::held_out_tokens)
      .def_readwrite("every", &DynamicRegretOptions::every)
      .def("validate", &DynamicRegretOptions::Validate);

  py::class_<LoadBalanceOptions>(m, "LoadBalanceOptions")
      .def(py::init<>())
      .def_readwrite("stream", &LoadBalanceOptions::stream)
      .def_readwrite("router", &LoadBalanceOptions::router)
      .def_readwrite("num_steps", &LoadBalanceOptions::num_steps)
      .def_readwrite("seed", &LoadBalanceOptions::seed)
      .def_readwrite("eval_tokens", &LoadBalanceOptions::eval_tokens)
      .def_readwrite("eval_every", &LoadBalanceOptions::eval_every)
      .def_readwrite("num_devices", &LoadBalanceOptions::num_devices)
      .def_readwrite("regret", &LoadBalanceOptions::regret)
      .def_readwrite("capacity_factor", &LoadBalanceOptions::capacity_factor)
      .def_readwrite("dynamic", &LoadBalanceOptions::dynamic)
      .def("validate", &LoadBalanceOptions::Validate);

  py::class_<BalancerOptions>(m, "BalancerOptions",
                              "kind: none, aux-loss, dual-subgradient; level: micro, sequence, "
                              "global; update: sign, linear; schedule: const, inv, isqrt "
                              "(routing/balancers.hpp).")
      .def(py::init<>())
      .MOELAB_ENUM_PROPERTY(BalancerOptions, BalancerKind, kind, BalancerKind::kNone,
                            BalancerKind::kAuxLoss, BalancerKind::kDualSubgradient)
      .MOELAB_ENUM_PROPERTY(BalancerOptions, CountingLevel, level, CountingLevel::kMicroBatch,
                            CountingLevel::kSequence, CountingLevel::kGlobal)
      .def_readwrite("aux_coeff", &BalancerOptions::aux_coeff)
      .def_readwrite("aux_learning_rate", &BalancerOptions::aux_learning_rate)
      .MOELAB_ENUM_PROPERTY(BalancerOptions, DualUpdate, update, DualUpdate::kSign,
                            DualUpdate::kLinear)
      .MOELAB_ENUM_PROPERTY(BalancerOptions, StepSchedule, schedule, StepSchedule::kConstant,
                            StepSchedule::kInverse, StepSchedule::kInverseSqrt)
      .def_readwrite("rate", &BalancerOptions::rate)
      .def_readwrite("offset", &BalancerOptions::offset)
      .def_readwrite("per_microbatch", &BalancerOptions::per_microbatch)
      .def("validate", &BalancerOptions::Validate);

  py::class_<LoadBalanceSetup>(m, "LoadBalanceSetup",
                               "The stream, held-out set and regret reference shared by every "
                               "policy of one configuration (built once; may take seconds).")
      .def(py::init<const LoadBalanceOptions&>(), py::arg("options"), ReleaseGil())
      .def_readonly("options", &LoadBalanceSetup::options)
      .def_property_readonly("regret_description",
                             [](const LoadBalanceSetup& s) { return s.regret.description; })
      .def_property_readonly("regret_defined", [](const LoadBalanceSetup& s) { return s.regret.defined(); })
      .def_property_readonly("regret_optimum", [](const LoadBalanceSetup& s) { return s.regret.optimum; })
      .def_property_readonly("best_bias", [](const LoadBalanceSetup& s) { return s.regret.best_bias; })
      .def_property_readonly("strong_convexity",
                             [](const LoadBalanceSetup& s) { return s.regret.strong_convexity; })
      .def_property_readonly("gate", [](const LoadBalanceSetup& s) { return s.stream_template.gate(); });

  py::class_<LoadBalanceResult>(m, "LoadBalanceResult")
      .def_readonly("policy", &LoadBalanceResult::policy)
      .def_readonly("steps", &LoadBalanceResult::steps)
      .def_readonly("cumulative_regret", &LoadBalanceResult::cumulative_regret)
      .def_readonly("maxvio_batch", &LoadBalanceResult::maxvio_batch)
      .def_readonly("final_maxvio_batch", &LoadBalanceResult::final_maxvio_batch)
      .def_readonly("final_maxvio_global", &LoadBalanceResult::final_maxvio_global)
      .def_readonly("final_drop_rate", &LoadBalanceResult::final_drop_rate)
      .def_readonly("cumulative_dynamic_regret", &LoadBalanceResult::cumulative_dynamic_regret)
      .def_readonly("seconds", &LoadBalanceResult::seconds);

  m.def("doubling_ratio", &DoublingRatio, py::arg("r_t"), py::arg("r_2t"), py::arg("r_4t"),
        "rho = [R(4T) - R(2T)] / [R(2T) - R(T)]: 2 linear, sqrt(2) sqrt T, 1 log T regret.");

  m.def("run_load_balance",
        [](const LoadBalanceSetup& setup, const BalancerOptions& balancer, const std::string& policy) {
          std::vector<StepRecord> records;
          LoadBalanceResult result;
          {
            py::gil_scoped_release release;
            records.reserve(static_cast<std::size_t>(setup.options.num_steps));
            result = RunLoadBalance(setup, balancer, policy,
                                    [&](const StepRecord& r) { records.push_back(r); });
          }
          py::dict steps;
          steps["step"] = Column(records, &StepRecord::step);
          steps["maxvio_batch"] = Column(records, &StepRecord::maxvio_batch);
          steps["maxvio_micro"] = Column(records, &StepRecord::maxvio_micro);
          steps["maxvio_global"] = Column(records, &StepRecord::maxvio_global);
          steps["minvio"] = Column(records, &StepRecord::minvio);
          steps["cv"] = Column(records, &StepRecord::cv);
          steps["idle"] = Column(records, &StepRecord::idle);
          steps["imbalance"] = Column(records, &StepRecord::imbalance);
          steps["dual"] = Column(records, &StepRecord::dual);
          steps["regret_increment"] = Column(records, &StepRecord::regret_increment);
          steps["cumulative_regret"] = Column(records, &StepRecord::cumulative_regret);
          steps["bias_distance"] = Column(records, &StepRecord::bias_distance);
          steps["real_per_token"] = Column(records, &StepRecord::real_per_token);
          steps["shared_load"] = Column(records, &StepRecord::shared_load);
          steps["aux_loss"] = Column(records, &StepRecord::aux_loss);
          steps["drop_rate"] = Column(records, &StepRecord::drop_rate);
          steps["dropped_tokens"] = Column(records, &StepRecord::dropped_tokens);
          steps["ec_unrouted"] = Column(records, &StepRecord::ec_unrouted);
          steps["dynamic_increment"] = Column(records, &StepRecord::dynamic_increment);
          steps["cumulative_dynamic_regret"] = Column(records, &StepRecord::cumulative_dynamic_regret);
          return py::make_tuple(result, steps, Stack(records, &StepRecord::loads),
                                Stack(records, &StepRecord::bias));
        },
        py::arg("setup"), py::arg("balancer"), py::arg("policy"),
        "Runs one policy for options.num_steps steps. Returns (result, steps, loads, bias): "
        "steps maps each per-step metric (routing/load_balance_run.hpp) to an array, loads "
        "and bias are steps x experts. NaN marks a metric the run cannot compute.");
}

}  // namespace moelab::python
