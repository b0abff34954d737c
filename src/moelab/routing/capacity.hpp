// Expert capacity: token dropping for token-choice routing and expert-choice
// routing (Switch Transformer, Fedus et al. 2021; GShard, Lepikhin et al.
// 2020; Expert Choice, Zhou et al. 2022).
//
// Capacity of an expert in a group of n tokens (a micro-batch: the set one
// device dispatches together):
//   C = ceil(capacity_factor * n * K / E)   (Megatron get_capacity with
//                                             num_tokens * topk; Switch's
//                                             "tokens per batch / experts *
//                                             capacity factor" for K = 1)
//
// Token choice with dropping: tokens are taken in position order (GShard /
// Switch; Megatron's drop policy "position"); a token's selection of expert j
// is kept while j has received fewer than C assignments in the group, and
// dropped otherwise. A token all of whose selections are dropped is a dropped
// token (it passes only through the residual in a transformer).
//
// Expert choice: every expert takes the C tokens of the group with the
// highest scores for it (ties: lower token index), so every expert gets
// exactly min(C, n) tokens, a token gets 0..E experts, and a token chosen by
// no expert is unrouted. It looks at the whole group's scores at once, so it
// is not causal (Wang et al. 2024 §5.2): a reference arm, not a policy.
#pragma once

#include <vector>

#include "moelab/core/types.hpp"
#include "moelab/routing/routers.hpp"

namespace moelab {

// ceil(factor * n * K / E), at least 1. Throws std::invalid_argument for
// factor <= 0 or non-finite, n < 1, K < 1, E < 1.
Index ExpertCapacity(double capacity_factor, Index group_tokens, int top_k, Index num_experts);

struct CapacityResult {
  Index capacity = 0;         // C per expert and group (of the last group)
  std::vector<char> kept;     // per (token, slot) of the routing, row-major; 1 = kept
  Vector kept_loads;          // assignments kept per expert (all groups)
  Index assignments = 0;      // selections routed (real + null experts)
  Index dropped_assignments = 0;
  Index dropped_tokens = 0;   // tokens with >= 1 selection, all of them dropped
  double drop_rate() const {  // dropped / all assignments
    return assignments > 0 ? static_cast<double>(dropped_assignments) / assignments : 0.0;
  }
};

// Applies capacity group by group (consecutive groups of group_size tokens;
// group_size must divide the number of tokens). K in the capacity is
// routing.slots. Null experts (index >= num_experts) are never capped.
CapacityResult ApplyCapacity(const RoutingResult& routing, Index num_experts, Index group_size,
                             double capacity_factor);

struct ExpertChoiceResult {
  Index capacity = 0;           // tokens per expert and group
  RoutingResult routing;        // per token its experts in index order (slots = E, count 0..E)
  Vector loads;                 // per expert
  Index unrouted_tokens = 0;    // tokens no expert chose
};

// Expert-choice routing of `scores` (B x E) in groups of group_size tokens,
// capacity C = ExpertCapacity(capacity_factor, group_size, top_k, E) (K
// assignments per token on average when factor = 1).
ExpertChoiceResult ExpertChoiceRoute(const Eigen::Ref<const Matrix>& scores, Index group_size, int top_k,
                                     double capacity_factor);

}  // namespace moelab
