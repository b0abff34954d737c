#include "moelab/routing/learning_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "moelab/core/check.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/metrics/density_distance.hpp"
#include "moelab/metrics/voronoi_loss.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/routing/best_fixed_bias.hpp"
#include "moelab/routing/capacity.hpp"
#include "moelab/routing/dual_objective.hpp"
#include "moelab/routing/learning_loss.hpp"
#include "moelab/routing/load_metrics.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Rng SeedRng(std::uint64_t seed, std::uint64_t a, std::uint64_t b) { return Rng(DeriveSeed(seed, a, b)); }

TokenStream MakeStream(const LearningRunOptions& o) {
  o.Validate();
  Rng rng = SeedRng(o.seed, 0, 0);
  return TokenStream(o.stream, rng);
}

ModelShape ShapeFor(const LearningRunOptions& o) {
  ModelShape shape;
  const Index e = o.stream.num_experts;
  shape.gate = o.top_k < e ? GateKind::kTopK : GateKind::kSoftmax;
  shape.num_experts = e;
  shape.dim = o.stream.design.dim;
  shape.top_k = o.top_k < e ? o.top_k : 0;
  shape.ranking = TopKRanking::kFullLogit;
  return shape;
}

MoeParams MakeTruth(const LearningRunOptions& o, const TokenStream& stream) {
  const Index e = o.stream.num_experts, d = o.stream.design.dim;
  Rng rng = SeedRng(o.seed, 0, 1);
  MoeParams truth;
  truth.gate = stream.gate();
  const ModelShape shape = ShapeFor(o);
  truth.gate.kind = shape.gate;
  truth.gate.top_k = shape.top_k;
  truth.gate.ranking = TopKRanking::kFullLogit;
  truth.experts.slope.resize(e, d);
  truth.experts.intercept.resize(e);
  truth.experts.variance = Vector::Constant(e, o.noise_variance);
  for (Index i = 0; i < e; ++i) {
    for (Index c = 0; c < d; ++c) truth.experts.slope(i, c) = o.expert_slope_scale * StandardNormal(rng);
    truth.experts.intercept[i] =
        e > 1 ? -o.expert_intercept_spread + 2.0 * o.expert_intercept_spread * i / (e - 1) : 0.0;
  }
  truth.Validate();
  return truth;
}

// Adam on theta (Kingma & Ba 2015, bias-corrected).
struct Adam {
  Vector m, v;
  Index t = 0;
  void Step(Vector* theta, const Vector& g, double rate) {
    constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    if (m.size() == 0) m = v = Vector::Zero(g.size());
    ++t;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g.cwiseAbs2();
    const double c1 = 1 - std::pow(b1, double(t)), c2 = 1 - std::pow(b2, double(t));
    theta->array() -= rate * (m.array() / c1) / ((v.array() / c2).sqrt() + eps);
  }
};

double RateAt(const LearningRunOptions& o, Index t) {
  switch (o.schedule) {
    case LearningRateSchedule::kConstant: return o.learning_rate;
    case LearningRateSchedule::kLinearDecay: {
      const double frac = o.num_steps > 1 ? double(t) / double(o.num_steps - 1) : 1.0;
      return o.learning_rate * (1.0 - (1.0 - o.final_rate_fraction) * frac);
    }
    case LearningRateSchedule::kInverseSqrt: return o.learning_rate / std::sqrt(1.0 + double(t) / 100.0);
  }
  return o.learning_rate;
}

// D1 with the fit's labels matched to the truth's: the permutation that
// minimises sum_i ||a_i - a*_pi(i)||_1 + |b - b*| + |nu - nu*| (expert
// parameters only: they carry no gauge), exhaustive for E <= 8, greedy
// above; then the reference-expert gauge (both last atoms matched).
double AlignedD1(const MoeParams& truth, const MoeParams& fit) {
  const Index e = truth.num_experts();
  Matrix cost(e, e);
  for (Index i = 0; i < e; ++i)
    for (Index j = 0; j < e; ++j)
      cost(i, j) = (fit.experts.slope.row(i) - truth.experts.slope.row(j)).cwiseAbs().sum() +
                   std::abs(fit.experts.intercept[i] - truth.experts.intercept[j]) +
                   std::abs(fit.experts.variance[i] - truth.experts.variance[j]);
  std::vector<Index> perm(static_cast<std::size_t>(e)), best;
  for (Index j = 0; j < e; ++j) perm[static_cast<std::size_t>(j)] = j;
  if (e <= 8) {
    double best_cost = std::numeric_limits<double>::infinity();
    do {  // perm[j] = fitted atom for true atom j
      double c = 0.0;
      for (Index j = 0; j < e; ++j) c += cost(perm[static_cast<std::size_t>(j)], j);
      if (c < best_cost) best_cost = c, best = perm;
    } while (std::next_permutation(perm.begin(), perm.end()));
  } else {
    std::vector<char> used(static_cast<std::size_t>(e), 0);
    best.assign(static_cast<std::size_t>(e), 0);
    for (Index j = 0; j < e; ++j) {
      Index arg = -1;
      for (Index i = 0; i < e; ++i)
        if (!used[static_cast<std::size_t>(i)] && (arg < 0 || cost(i, j) < cost(arg, j))) arg = i;
      used[static_cast<std::size_t>(arg)] = 1;
      best[static_cast<std::size_t>(j)] = arg;
    }
  }
  return ComputeVoronoiLoss(truth, PermuteExperts(fit, best)).value;
}

double MeanOfTail(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  const std::size_t n = std::max<std::size_t>(1, v.size() / 10);
  double s = 0.0;
  for (std::size_t i = v.size() - n; i < v.size(); ++i) s += v[i];
  return s / static_cast<double>(n);
}

}  // namespace

const char* ToString(LearningRateSchedule s) {
  switch (s) {
    case LearningRateSchedule::kConstant: return "const";
    case LearningRateSchedule::kLinearDecay: return "linear";
    case LearningRateSchedule::kInverseSqrt: return "isqrt";
  }
  return "unknown";
}

LearningRateSchedule ParseLearningRateSchedule(const std::string& name) {
  for (auto s : {LearningRateSchedule::kConstant, LearningRateSchedule::kLinearDecay,
                 LearningRateSchedule::kInverseSqrt})
    if (name == ToString(s)) return s;
  throw std::invalid_argument("unknown learning-rate schedule '" + name + "' (valid: const, linear, isqrt)");
}

void LearningRunOptions::Validate() const {
  constexpr const char* kFn = "LearningRunOptions::Validate";
  stream.Validate();
  const Index e = stream.num_experts, d = stream.design.dim;
  if (stream.pool_size > 0) ThrowInvalid(kFn, "stream.pool_size must be 0 (fresh covariates)");
  if (stream.gumbel_scale != 0.0) ThrowInvalid(kFn, "stream.gumbel_scale must be 0 (the gate is learned)");
  if (top_k < 1 || top_k > e) ThrowInvalid(kFn, "top_k must be in [1, num_experts]");
  if (top_k == 1 && e > 1)
    ThrowInvalid(kFn, "top_k must be >= 2: with K = 1 the selected weight is 1 and the gate's slopes are "
                      "not identifiable");
  for (auto [name, v] : {std::pair{"expert_slope_scale", expert_slope_scale},
                         std::pair{"expert_intercept_spread", expert_intercept_spread}}) {
    CheckFinite(kFn, name, v);
    CheckNonNegative(kFn, name, v);
  }
  CheckFinite(kFn, "noise_variance", noise_variance);
  CheckPositive(kFn, "noise_variance", noise_variance);
  CheckFinite(kFn, "learning_rate", learning_rate);
  CheckPositive(kFn, "learning_rate", learning_rate);
  if (!(final_rate_fraction >= 0.0 && final_rate_fraction <= 1.0))
    ThrowInvalid(kFn, "final_rate_fraction must be in [0, 1]");
  if (num_steps < 1) ThrowInvalid(kFn, "num_steps must be >= 1");
  if (init_tokens < 10 * e * (d + 2))
    ThrowInvalid(kFn, "init_tokens must be >= 10 E (d + 2) = " + std::to_string(10 * e * (d + 2)));
  if (eval_tokens < 1) ThrowInvalid(kFn, "eval_tokens must be >= 1");
  if (eval_every < 1) ThrowInvalid(kFn, "eval_every must be >= 1");
  if (metrics_every < 0) ThrowInvalid(kFn, "metrics_every must be >= 0");
  CheckFinite(kFn, "capacity_factor", capacity_factor);
  CheckPositive(kFn, "capacity_factor", capacity_factor);
  if (hellinger_max_x < 256) ThrowInvalid(kFn, "hellinger_max_x must be >= 256");
  if (dynamic_every < 0) ThrowInvalid(kFn, "dynamic_every must be >= 0 (0 = off)");
  if (dynamic_tokens < 1) ThrowInvalid(kFn, "dynamic_tokens must be >= 1");
  if (dynamic_every > 0 && top_k >= e)
    ThrowInvalid(kFn, "dynamic_every > 0 needs top_k < num_experts (with K = E there is no price to choose)");
}

LearningSetup::LearningSetup(const LearningRunOptions& o)
    : options(o), stream_template(MakeStream(o)), truth(MakeTruth(o, stream_template)) {
  Rng eval_rng = SeedRng(o.seed, 2, 0);
  eval_batch = stream_template.Sample(o.eval_tokens, 0, eval_rng);
  Rng y_rng = SeedRng(o.seed, 2, 1);
  eval_y = SimulateAt(truth, eval_batch.X, y_rng).y;
  Rng init_rng = SeedRng(o.seed, 4, 0);
  const TokenBatch init_x = stream_template.Sample(o.init_tokens, 0, init_rng);
  const Dataset init_data = SimulateAt(truth, init_x.X, init_rng);
  start = InitDataDriven(init_data, ShapeFor(o), init_rng);
  LearningLossOptions lo;
  lo.top_k = o.top_k;
  lo.gradient = false;
  const LearningLoss at_truth = EvaluateLearningLoss(PackLearningParameters(truth), truth.num_experts(),
                                                     Vector::Zero(truth.num_experts()), eval_batch.X, eval_y, lo);
  truth_heldout_nll = at_truth.nll;
  truth_maxvio_global = MaxVio(at_truth.loads);
}

double LearningD1(const MoeParams& truth, const MoeParams& fit) { return AlignedD1(truth, fit); }

double HeldOutNll(const LearningSetup& setup, const MoeParams& params) {
  LearningLossOptions lo;
  lo.top_k = setup.options.top_k;
  lo.gradient = false;
  return EvaluateLearningLoss(PackLearningParameters(params), params.num_experts(),
                              Vector::Zero(params.num_experts()), setup.eval_batch.X, setup.eval_y, lo)
      .nll;
}

Dataset DrawTrainingTokens(const LearningSetup& setup, Index steps) {
  TokenStream stream = setup.stream_template;
  const Index B = setup.options.stream.batch_size;
  Dataset all;
  all.X.resize(steps * B, setup.options.stream.design.dim);
  all.y.resize(steps * B);
  for (Index t = 0; t < steps; ++t) {
    Rng rng = SeedRng(setup.options.seed, 1, static_cast<std::uint64_t>(t));
    const TokenBatch batch = stream.Next(rng);
    const Dataset data = SimulateAt(setup.truth, batch.X, rng);
    all.X.middleRows(t * B, B) = batch.X;
    all.y.segment(t * B, B) = data.y;
  }
  return all;
}

void CheckLearningPolicy(const BalancingPolicy& policy) {
  bool micro_prices = false, aux = false;
  for (const PolicyTerm& term : policy.terms) {
    micro_prices |= term.options.kind == BalancerKind::kDualSubgradient && term.options.per_microbatch;
    aux |= term.options.kind == BalancerKind::kAuxLoss;
  }
  if (micro_prices && aux)
    throw std::invalid_argument("policy '" + policy.name +
                                "': a per-micro-batch price update cannot be combined with aux terms");
}

LearningResult RunLearning(const LearningSetup& setup, const BalancingPolicy& policy,
                           const LearningObserver& observer) {
  const auto clock_start = std::chrono::steady_clock::now();
  const LearningRunOptions& o = setup.options;
  const Index e = o.stream.num_experts, B = o.stream.batch_size, mb = o.stream.microbatch_size();
  const Index num_micro = B / mb;

  // Policy terms.
  LearningLossOptions loss_opt;
  loss_opt.top_k = o.top_k;
  loss_opt.microbatch_size = mb;
  loss_opt.sequence_length = o.stream.resolved_sequence_length();
  BalancerOptions dual;  // kNone unless an alf-* term
  for (const PolicyTerm& term : policy.terms) {
    if (term.options.kind == BalancerKind::kAuxLoss)
      loss_opt.aux.push_back({term.options.level, term.options.aux_coeff});
    if (term.options.kind == BalancerKind::kDualSubgradient) dual = term.options;
  }
  CheckLearningPolicy(policy);
  Balancer balancer(dual, e, e);

  LearningResult result;
  result.policy = policy.name;
  Vector theta = PackLearningParameters(setup.start);
  Adam adam;
  TokenStream stream = setup.stream_template;
  std::vector<double> maxvio_batch, maxvio_micro, drop, ec;
  LearningStepRecord rec;
  LearningLossOptions eval_opt;
  eval_opt.top_k = o.top_k;
  eval_opt.gradient = false;
  const Index num_domains = std::max<Index>(1, o.stream.num_domains);
  DensityDistanceOptions hopt;
  hopt.max_x = o.hellinger_max_x;
  hopt.target_relative_error = 0.05;
  // Dynamic-regret sample size: N K / E whole, as DynamicRegret.
  Index dynamic_n = o.dynamic_tokens;
  if ((dynamic_n * o.top_k) % e != 0) dynamic_n = ((dynamic_n + e - 1) / e) * e;
  double dynamic_cumulative = 0.0;

  for (Index t = 0; t < o.num_steps; ++t) {
    Rng rng = SeedRng(o.seed, 1, static_cast<std::uint64_t>(t));
    const TokenBatch batch = stream.Next(rng);
    const Vector y = SimulateAt(setup.truth, batch.X, rng).y;
    rec = LearningStepRecord{};
    rec.step = t;
    rec.learning_rate = RateAt(o, t);
    rec.dynamic_increment = rec.cumulative_dynamic_regret = kNaN;
    if (o.dynamic_every > 0) {
      if (t % o.dynamic_every == 0) {
        Rng drng = SeedRng(o.seed, 6, 0);  // the same draws at every evaluated step
        const TokenBatch sample = setup.stream_template.Sample(dynamic_n, t, drng);
        const MoeParams now = UnpackLearningParameters(theta, setup.start);
        const Matrix z = (sample.X * now.gate.slope.transpose()).rowwise() + now.gate.bias.transpose();
        const BestFixedBiasResult best = SolveBestFixedBias(z, o.top_k);
        const double scale = static_cast<double>(B) / static_cast<double>(dynamic_n);
        rec.dynamic_increment = ExpectedDual(z, balancer.bias(), o.top_k, B) - scale * best.primal_value;
        dynamic_cumulative += static_cast<double>(o.dynamic_every) * rec.dynamic_increment;
      }
      rec.cumulative_dynamic_regret = dynamic_cumulative;
    }

    LearningLoss loss;
    double micro_vio = 0.0;
    if (dual.kind == BalancerKind::kDualSubgradient && dual.per_microbatch) {
      // Prices move between micro-batches: evaluate each with its own prices.
      loss.gradient = Vector::Zero(theta.size());
      loss.loads = Vector::Zero(e);
      loss.routing.num_tokens = 0;
      for (Index m = 0; m < num_micro; ++m) {
        LearningLoss part = EvaluateLearningLoss(theta, e, balancer.bias(), batch.X.middleRows(m * mb, mb),
                                                 y.segment(m * mb, mb), loss_opt);
        loss.nll += part.nll / num_micro;
        loss.gradient += part.gradient / static_cast<double>(num_micro);
        loss.loads += part.loads;
        micro_vio += MaxVio(part.loads);
        loss.routing.num_tokens += part.routing.num_tokens;
        loss.routing.slots = part.routing.slots;
        loss.routing.selected.insert(loss.routing.selected.end(), part.routing.selected.begin(),
                                     part.routing.selected.end());
        loss.routing.count.insert(loss.routing.count.end(), part.routing.count.begin(), part.routing.count.end());
        balancer.ObserveMicroBatch(part.loads);
      }
    } else {
      loss = EvaluateLearningLoss(theta, e, balancer.bias(), batch.X, y, loss_opt);
      for (Index m = 0; m < num_micro; ++m) {
        Vector c = Vector::Zero(e);
        for (Index tok = m * mb; tok < (m + 1) * mb; ++tok)
          for (int s = 0; s < loss.routing.count[static_cast<std::size_t>(tok)]; ++s) c[loss.routing.at(tok, s)] += 1;
        micro_vio += MaxVio(c);
      }
    }
    rec.train_nll = loss.nll;
    rec.aux_loss = loss_opt.aux.empty() ? kNaN : loss.aux;
    rec.loads = loss.loads;
    rec.maxvio_batch = MaxVio(loss.loads);
    rec.maxvio_micro = micro_vio / static_cast<double>(num_micro);
    const CapacityResult cap = ApplyCapacity(loss.routing, e, mb, o.capacity_factor);
    rec.drop_rate = cap.drop_rate();
    rec.dropped_tokens = static_cast<double>(cap.dropped_tokens) / static_cast<double>(B);
    {
      const MoeParams now = UnpackLearningParameters(theta, setup.start);
      Matrix z = (batch.X * now.gate.slope.transpose()).rowwise() + now.gate.bias.transpose();
      for (Index r = 0; r < z.rows(); ++r) {
        z.row(r) = (z.row(r).array() - z.row(r).maxCoeff()).exp();
        z.row(r) /= z.row(r).sum();
      }
      rec.ec_unrouted = static_cast<double>(ExpertChoiceRoute(z, mb, o.top_k, o.capacity_factor).unrouted_tokens) /
                        static_cast<double>(B);
    }
    if (!std::isfinite(loss.total()) || !loss.gradient.allFinite()) {
      result.finite = false;
      break;
    }

    adam.Step(&theta, loss.gradient, rec.learning_rate);
    balancer.EndStep(loss.loads, nullptr);
    maxvio_batch.push_back(rec.maxvio_batch);
    maxvio_micro.push_back(rec.maxvio_micro);
    drop.push_back(rec.drop_rate);
    ec.push_back(rec.ec_unrouted);

    const bool last = t + 1 == o.num_steps;
    rec.heldout_nll = rec.heldout_nll_unbiased = rec.maxvio_global = rec.domain_mi = kNaN;
    if (t % o.eval_every == 0 || last) {
      const LearningLoss held = EvaluateLearningLoss(theta, e, balancer.bias(), setup.eval_batch.X, setup.eval_y, eval_opt);
      rec.heldout_nll = held.nll;
      rec.heldout_nll_unbiased =
          dual.kind == BalancerKind::kDualSubgradient
              ? EvaluateLearningLoss(theta, e, Vector::Zero(e), setup.eval_batch.X, setup.eval_y, eval_opt).nll
              : held.nll;
      rec.maxvio_global = MaxVio(held.loads);
      Matrix table = Matrix::Zero(num_domains, e);
      for (Index tok = 0; tok < held.routing.num_tokens; ++tok) {
        const Index dom = setup.eval_batch.domain.size() > 0 ? setup.eval_batch.domain[tok] : 0;
        for (int s = 0; s < held.routing.count[static_cast<std::size_t>(tok)]; ++s)
          table(dom, held.routing.at(tok, s)) += 1.0;
      }
      rec.domain_mi = DomainExpertMutualInformation(table);
      result.final_heldout_nll = rec.heldout_nll;
      result.final_heldout_nll_unbiased = rec.heldout_nll_unbiased;
      result.final_maxvio_global = rec.maxvio_global;
      result.final_domain_mi = rec.domain_mi;
    }
    rec.d1 = rec.hellinger = rec.hellinger_se = kNaN;
    if (last || (o.metrics_every > 0 && (t + 1) % o.metrics_every == 0)) {
      const MoeParams now = UnpackLearningParameters(theta, setup.start);
      rec.d1 = AlignedD1(setup.truth, now);
      Rng hrng = SeedRng(o.seed, 5, static_cast<std::uint64_t>(t));
      const DensityDistance h = ExpectedHellinger(setup.truth, now, o.stream.design, hopt, hrng);
      rec.hellinger = h.value;
      rec.hellinger_se = h.standard_error;
      result.final_d1 = rec.d1;
      result.final_hellinger = rec.hellinger;
    }
    if (observer) observer(rec);
    result.steps = t + 1;
  }
  result.final_params = UnpackLearningParameters(theta, setup.start);
  result.final_prices = balancer.bias();
  result.final_maxvio_batch = MeanOfTail(maxvio_batch);
  result.final_maxvio_micro = MeanOfTail(maxvio_micro);
  result.final_drop_rate = MeanOfTail(drop);
  result.final_ec_unrouted = MeanOfTail(ec);
  result.final_dynamic_regret = o.dynamic_every > 0 ? dynamic_cumulative : kNaN;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count();
  return result;
}

}  // namespace moelab
