#include "moelab/routing/regret.hpp"

#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "moelab/core/check.hpp"
#include "moelab/rates/slope_fit.hpp"
#include "moelab/routing/best_fixed_bias.hpp"
#include "moelab/routing/dual_objective.hpp"
#include "moelab/routing/gumbel_pool_objective.hpp"

namespace moelab {

const char* ToString(RegretReferenceKind kind) {
  switch (kind) {
    case RegretReferenceKind::kNone: return "none";
    case RegretReferenceKind::kAuto: return "auto";
    case RegretReferenceKind::kGumbelPoolExact: return "gumbel-exact";
    case RegretReferenceKind::kPoolLp: return "pool-lp";
    case RegretReferenceKind::kHeldOutLp: return "held-out-lp";
  }
  return "unknown";
}

RegretReferenceKind ParseRegretReferenceKind(const std::string& name) {
  for (auto k : {RegretReferenceKind::kNone, RegretReferenceKind::kAuto,
                 RegretReferenceKind::kGumbelPoolExact, RegretReferenceKind::kPoolLp,
                 RegretReferenceKind::kHeldOutLp}) {
    if (name == ToString(k)) return k;
  }
  throw std::invalid_argument("unknown regret reference '" + name +
                              "' (valid: none, auto, gumbel-exact, pool-lp, held-out-lp)");
}

void RegretOptions::Validate() const {
  constexpr const char* kFn = "RegretOptions::Validate";
  if (held_out_tokens < 1) ThrowInvalid(kFn, "held_out_tokens must be >= 1");
  if (every < 1) ThrowInvalid(kFn, "every must be >= 1");
}

RegretReference MakeRegretReference(const TokenStream& stream, const RouterOptions& router,
                                    const RegretOptions& options, Rng& rng) {
  constexpr const char* kFn = "MakeRegretReference";
  options.Validate();
  const TokenStreamOptions& so = stream.options();
  const Index e = so.num_experts;
  router.Validate(e);
  const bool routable = router.kind == RouterKind::kTopK && router.num_null_experts == 0 &&
                        router.top_k < e && so.drift_per_step == 0.0;
  const bool gumbel_ok = so.pool_size > 0 && so.gumbel_scale > 0.0 && router.top_k == 1 &&
                         so.score_function == ScoreFunction::kLogit;
  const bool pool_ok = so.pool_size > 0 && so.gumbel_scale == 0.0 &&
                       (so.pool_size * router.top_k) % e == 0;
  RegretReferenceKind kind = options.kind;
  if (kind == RegretReferenceKind::kAuto) {
    kind = !routable ? RegretReferenceKind::kNone
           : gumbel_ok ? RegretReferenceKind::kGumbelPoolExact
           : pool_ok   ? RegretReferenceKind::kPoolLp
                       : RegretReferenceKind::kHeldOutLp;
  }
  RegretReference ref;
  ref.kind = kind;
  if (kind == RegretReferenceKind::kNone) {
    ref.description = "not defined (needs plain top-K routing without null experts, K < E, no drift)";
    return ref;
  }
  if (!routable) ThrowInvalid(kFn, "regret needs plain top-K routing without null experts, K < E, no drift");
  const Index B = so.batch_size;
  const int K = router.top_k;
  std::ostringstream os;
  if (kind == RegretReferenceKind::kGumbelPoolExact) {
    if (!gumbel_ok) ThrowInvalid(kFn, "gumbel-exact needs pool_size > 0, gumbel_scale > 0, K = 1, logit scores");
    auto objective = std::make_shared<GumbelPoolObjective>(stream.PoolLogits(), so.gumbel_scale, B);
    ref.best_bias = objective->Minimise();
    ref.optimum = objective->Value(ref.best_bias);
    ref.strong_convexity = objective->RestrictedStrongConvexity(ref.best_bias);
    ref.accuracy = objective->Gradient(ref.best_bias).squaredNorm() / (2.0 * ref.strong_convexity);
    ref.objective = [objective](const Vector& p) { return objective->Value(p); };
    os << "closed-form Gumbel-pool F (M = " << so.pool_size << "), Newton p*; |grad F(p*)| = "
       << objective->Gradient(ref.best_bias).norm() << ", mu_sc = " << ref.strong_convexity;
  } else {
    Matrix sample;
    if (kind == RegretReferenceKind::kPoolLp) {
      if (!pool_ok) ThrowInvalid(kFn, "pool-lp needs a noise-free pool with pool_size * K divisible by E");
      sample = ApplyScoreFunction(so.score_function, stream.PoolLogits());
    } else {
      Index n = options.held_out_tokens;
      if ((n * K) % e != 0) n = ((n + e - 1) / e) * e;
      sample = stream.Sample(n, 0, rng).scores;
    }
    const BestFixedBiasResult lp = SolveBestFixedBias(sample, K);
    const double scale = static_cast<double>(B) / sample.rows();
    ref.best_bias = lp.bias;
    ref.optimum = scale * lp.primal_value;
    ref.accuracy = scale * std::abs(lp.gap);
    auto shared = std::make_shared<Matrix>(std::move(sample));
    ref.objective = [shared, K, B](const Vector& p) { return ExpectedDual(*shared, p, K, B); };
    os << (kind == RegretReferenceKind::kPoolLp ? "exact pool F (M = " : "held-out F_S (N = ")
       << shared->rows() << "), transportation-LP p* by successive shortest paths ("
       << lp.augmentations << " augmentations), duality gap per step " << ref.accuracy;
    if (kind == RegretReferenceKind::kHeldOutLp) {
      os << "; Monte-Carlo F: comparator bias adds a linear term (see regret.hpp)";
    }
  }
  ref.description = os.str();
  return ref;
}

double DoublingRatio(double r_t, double r_2t, double r_4t) {
  const double denominator = r_2t - r_t;
  if (denominator == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return (r_4t - r_2t) / denominator;
}

double RegretGrowthExponent(const std::vector<double>& cumulative, Index from, Index to) {
  const Index n = static_cast<Index>(cumulative.size());
  if (from < 1 || to <= from || to > n) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> x, y;
  Index last = 0;
  for (int i = 0; i <= 40; ++i) {
    const Index t = static_cast<Index>(std::round(from * std::pow(double(to) / from, i / 40.0)));
    if (t == last || !(cumulative[t - 1] > 0)) continue;
    last = t;
    x.push_back(std::log(double(t)));
    y.push_back(std::log(cumulative[t - 1]));
  }
  if (x.size() < 3) return std::numeric_limits<double>::quiet_NaN();
  return FitLine(x, y).slope;
}

}  // namespace moelab
