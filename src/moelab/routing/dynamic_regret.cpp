#include "moelab/routing/dynamic_regret.hpp"

#include <cmath>

#include "moelab/core/check.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/routing/best_fixed_bias.hpp"
#include "moelab/routing/dual_objective.hpp"

namespace moelab {

void DynamicRegretOptions::Validate() const {
  constexpr const char* kFn = "DynamicRegretOptions::Validate";
  if (held_out_tokens < 1) ThrowInvalid(kFn, "held_out_tokens must be >= 1");
  if (every < 1) ThrowInvalid(kFn, "every must be >= 1");
}

DynamicRegret::DynamicRegret(const TokenStream& stream, const RouterOptions& router,
                             const DynamicRegretOptions& options, std::uint64_t seed)
    : stream_(stream), top_k_(router.top_k), batch_size_(stream.options().batch_size), options_(options), seed_(seed) {
  options.Validate();
  const Index e = stream.options().num_experts;
  router.Validate(e);
  if (router.kind != RouterKind::kTopK || router.num_null_experts > 0 || router.top_k >= e)
    ThrowInvalid("DynamicRegret", "needs plain top-K routing without null experts and K < E");
  n_ = options.held_out_tokens;
  if ((n_ * top_k_) % e != 0) n_ = ((n_ + e - 1) / e) * e;
}

Matrix DynamicRegret::SampleScores(Index step) const {
  Rng rng(DeriveSeed(seed_, 6, 0));  // same draws at every step (common random numbers)
  return stream_.Sample(n_, step, rng).scores;
}

const DynamicRegret::Optimum& DynamicRegret::OptimumAt(Index step) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = cache_.find(step);
    if (it != cache_.end()) return it->second;
  }
  const BestFixedBiasResult lp = SolveBestFixedBias(SampleScores(step), top_k_);
  const double scale = static_cast<double>(batch_size_) / static_cast<double>(n_);
  Optimum o{scale * lp.primal_value, lp.bias, scale * std::abs(lp.gap)};
  std::lock_guard<std::mutex> lock(mutex_);
  return cache_.emplace(step, std::move(o)).first->second;
}

double DynamicRegret::Increment(Index step, const Eigen::Ref<const Vector>& p) const {
  const Optimum& opt = OptimumAt(step);
  return ExpectedDual(SampleScores(step), p, top_k_, batch_size_) - opt.value;
}

}  // namespace moelab
