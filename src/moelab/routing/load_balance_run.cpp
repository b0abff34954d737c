#include "moelab/routing/load_balance_run.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "moelab/core/check.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/routing/aux_loss.hpp"
#include "moelab/routing/capacity.hpp"
#include "moelab/routing/dual_objective.hpp"
#include "moelab/routing/load_metrics.hpp"

namespace moelab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Rng SetupRng(std::uint64_t seed, std::uint64_t purpose) { return Rng(DeriveSeed(seed, purpose, 0)); }

TokenStream MakeStream(const LoadBalanceOptions& options) {
  options.Validate();
  Rng rng = SetupRng(options.seed, 0);
  return TokenStream(options.stream, rng);
}

// Appends the rows of `part` to `whole` (same slot width).
void Append(const RoutingResult& part, RoutingResult* whole) {
  whole->num_tokens += part.num_tokens;
  whole->slots = part.slots;
  whole->selected.insert(whole->selected.end(), part.selected.begin(), part.selected.end());
  whole->count.insert(whole->count.end(), part.count.begin(), part.count.end());
}

}  // namespace

void LoadBalanceOptions::Validate() const {
  constexpr const char* kFn = "LoadBalanceOptions::Validate";
  stream.Validate();
  router.Validate(stream.num_experts);
  regret.Validate();
  if (num_steps < 1) ThrowInvalid(kFn, "num_steps must be >= 1");
  if (eval_tokens < 0) ThrowInvalid(kFn, "eval_tokens must be >= 0");
  if (eval_every < 1) ThrowInvalid(kFn, "eval_every must be >= 1");
  if (dynamic.every < 0) ThrowInvalid(kFn, "dynamic.every must be >= 0 (0 = off)");
  if (dynamic.held_out_tokens < 1) ThrowInvalid(kFn, "dynamic.held_out_tokens must be >= 1");
  if (!(capacity_factor >= 0.0) || !std::isfinite(capacity_factor))
    ThrowInvalid(kFn, "capacity_factor must be >= 0 and finite (0 = off)");
  const Index routed = stream.num_experts - router.num_null_experts;
  const Index devices = num_devices > 0 ? num_devices : router.num_groups;
  if (devices < 1 || routed % devices != 0) {
    ThrowInvalid(kFn, "num_devices (" + std::to_string(devices) + ") must divide the " +
                          std::to_string(routed) + " routed experts");
  }
}

LoadBalanceSetup::LoadBalanceSetup(const LoadBalanceOptions& opts)
    : options(opts), stream_template(MakeStream(opts)) {
  if (options.eval_tokens > 0) {
    Rng rng = SetupRng(options.seed, 2);
    eval_batch = stream_template.Sample(options.eval_tokens, 0, rng);
  }
  Rng rng = SetupRng(options.seed, 3);
  regret = MakeRegretReference(stream_template, options.router, options.regret, rng);
  if (options.dynamic.every > 0)
    dynamic = std::make_shared<const DynamicRegret>(stream_template, options.router, options.dynamic, options.seed);
}

LoadBalanceResult RunLoadBalance(const LoadBalanceSetup& setup, const BalancerOptions& balancer_options,
                                 const std::string& policy_name, const StepObserver& observer) {
  const auto start = std::chrono::steady_clock::now();
  const LoadBalanceOptions& opt = setup.options;
  const RouterOptions& router = opt.router;
  const ScoreFunction sf = opt.stream.score_function;
  const Index e = opt.stream.num_experts;
  const Index routed = e - router.num_null_experts;
  const Index B = opt.stream.batch_size;
  const Index mb = opt.stream.microbatch_size();
  const Index devices = opt.num_devices > 0 ? opt.num_devices : router.num_groups;
  const bool plain_topk = router.kind == RouterKind::kTopK && router.num_null_experts == 0;
  const bool aux = balancer_options.kind == BalancerKind::kAuxLoss;
  const bool regret_on = setup.regret.defined() && (!aux || sf == ScoreFunction::kLogit);
  const Index aux_group = balancer_options.level == CountingLevel::kGlobal       ? B
                          : balancer_options.level == CountingLevel::kMicroBatch ? mb
                                                                                 : opt.stream.resolved_sequence_length();

  TokenStream stream = setup.stream_template;
  Balancer balancer(balancer_options, e, routed);
  LoadBalanceResult result;
  result.policy = policy_name;
  result.final_maxvio_global = kNaN;
  double cumulative = 0.0;
  double drop_sum_tail = 0.0;
  double dynamic_cumulative = 0.0;
  StepRecord rec;
  for (Index t = 0; t < opt.num_steps; ++t) {
    Rng rng(DeriveSeed(opt.seed, 1, static_cast<std::uint64_t>(t)));
    const TokenBatch batch = stream.Next(rng);
    const Vector theta = balancer.logit_offset();
    const Vector p_start = balancer.bias();
    const bool shifted = aux && theta.cwiseAbs().maxCoeff() > 0.0;
    const Matrix scores = shifted ? RescoreWithOffsets(batch, sf, theta) : batch.scores;

    RoutingResult routing;
    double micro_vio = 0.0;
    for (Index begin = 0; begin < B; begin += mb) {
      const RoutingResult part = Route(router, scores.middleRows(begin, mb), balancer.bias());
      const Vector loads = CountLoads(part, e, 0, mb);
      micro_vio += MaxVio(loads.head(routed));
      balancer.ObserveMicroBatch(loads);
      Append(part, &routing);
    }
    const Vector all_loads = CountLoads(routing, e, 0, B);
    const Vector loads = all_loads.head(routed);

    rec.step = t;
    rec.loads = loads;
    rec.maxvio_batch = MaxVio(loads);
    rec.maxvio_micro = micro_vio / static_cast<double>(B / mb);
    rec.minvio = MinVio(loads);
    rec.cv = LoadCoefficientOfVariation(loads);
    rec.idle = IdleExperts(loads);
    rec.imbalance = ImbalanceScore(loads, devices, B);
    rec.real_per_token = loads.sum() / static_cast<double>(B);
    rec.shared_load = static_cast<double>(B * router.num_shared_experts);

    rec.dual = kNaN;
    if (plain_topk) {
      if (balancer_options.per_microbatch && balancer_options.kind == BalancerKind::kDualSubgradient) {
        rec.dual = DualObjective(scores, p_start, router.top_k);
      } else {
        double sum = 0.0;
        for (Index tok = 0; tok < B; ++tok)
          for (int i = 0; i < routing.count[static_cast<std::size_t>(tok)]; ++i) {
            const int j = routing.at(tok, i);
            sum += scores(tok, j) - p_start[j];
          }
        rec.dual = sum + static_cast<double>(router.top_k) * B / e * p_start.sum();
      }
    }

    const Vector p_eff = CentreBias((p_start - theta).head(routed));
    rec.bias = p_eff;
    rec.regret_increment = kNaN;
    rec.bias_distance = kNaN;
    if (regret_on) {
      rec.bias_distance = (p_eff - setup.regret.best_bias).norm();
      if (t % opt.regret.every == 0) {
        rec.regret_increment = setup.regret.objective(p_eff) - setup.regret.optimum;
        cumulative += static_cast<double>(opt.regret.every) * rec.regret_increment;
      }
      rec.cumulative_regret = cumulative;
      result.cumulative_regret.push_back(cumulative);
    } else {
      rec.cumulative_regret = kNaN;
    }

    rec.dynamic_increment = rec.cumulative_dynamic_regret = kNaN;
    if (setup.dynamic && (!aux || sf == ScoreFunction::kLogit)) {
      if (t % opt.dynamic.every == 0) {
        rec.dynamic_increment = setup.dynamic->Increment(t, p_eff);
        dynamic_cumulative += static_cast<double>(opt.dynamic.every) * rec.dynamic_increment;
      }
      rec.cumulative_dynamic_regret = dynamic_cumulative;
      result.cumulative_dynamic_regret.push_back(dynamic_cumulative);
    }

    rec.aux_loss = kNaN;
    Vector aux_gradient;
    if (aux) {
      Matrix z = batch.logits;
      z.rowwise() += theta.transpose();
      Matrix probs, factors;
      AuxProbabilities(sf, z, &probs, &factors);
      const AuxLossEvaluation lbl = SwitchAuxLoss(routing, probs, factors, aux_group);
      rec.aux_loss = lbl.loss;
      aux_gradient = lbl.gradient;
    }

    rec.maxvio_global = kNaN;
    if (setup.eval_batch.scores.rows() > 0 && (t % opt.eval_every == 0 || t + 1 == opt.num_steps)) {
      const Matrix eval_scores =
          shifted ? RescoreWithOffsets(setup.eval_batch, sf, theta) : setup.eval_batch.scores;
      const RoutingResult eval = Route(router, eval_scores, p_start);
      rec.maxvio_global = MaxVio(CountLoads(eval, e, 0, eval.num_tokens).head(routed));
      result.final_maxvio_global = rec.maxvio_global;
    }

    rec.drop_rate = rec.dropped_tokens = rec.ec_unrouted = kNaN;
    if (opt.capacity_factor > 0.0) {
      const CapacityResult cap = ApplyCapacity(routing, routed, mb, opt.capacity_factor);
      rec.drop_rate = cap.drop_rate();
      rec.dropped_tokens = static_cast<double>(cap.dropped_tokens) / static_cast<double>(B);
      if (router.kind == RouterKind::kTopK && router.num_null_experts == 0) {
        rec.ec_unrouted = static_cast<double>(ExpertChoiceRoute(scores, mb, router.top_k, opt.capacity_factor)
                                                  .unrouted_tokens) /
                          static_cast<double>(B);
      }
      drop_sum_tail += t >= opt.num_steps - std::max<Index>(1, opt.num_steps / 10) ? rec.drop_rate : 0.0;
    }
    result.maxvio_batch.push_back(rec.maxvio_batch);
    if (observer) observer(rec);
    balancer.EndStep(all_loads, aux ? &aux_gradient : nullptr);
  }
  result.steps = opt.num_steps;
  const Index tail = std::max<Index>(1, opt.num_steps / 10);
  double sum = 0.0;
  for (Index t = opt.num_steps - tail; t < opt.num_steps; ++t) sum += result.maxvio_batch[t];
  result.final_maxvio_batch = sum / static_cast<double>(tail);
  result.final_drop_rate = opt.capacity_factor > 0.0 ? drop_sum_tail / static_cast<double>(tail) : kNaN;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace moelab
