// Routers: which experts each token is sent to, given its scores s_t (one row
// of a B x E matrix) and the selection bias p (one price per scored expert).
//
// Every router selects on the shifted scores v_t = s_t - p. The bias changes
// the selection only: combine weights are computed from the unbiased s
// (Wang et al. Eq. 3; DeepSeek-V3 `Gate`). p = -b in ALF-LB's sign
// convention (docs/theory.md §7.1, §7.3).
//
//   kTopK             TopK(v_t, K). Maximises the per-token Lagrangian
//                     sum_j (s_tj - p_j) x_tj over |x_t| = K (docs/theory.md §7.2).
//   kGroupedTopK      MoGE (Pangu Pro MoE Eqs. 5–6): E experts in G equal
//                     contiguous groups (a group = a device), K/G per group.
//                     Every group gets exactly K/G per token: zero imbalance
//                     across groups by construction.
//   kGroupLimitedTopK DeepSeek-V3 / Megatron `group_limited_topk`: a group's
//                     score is the sum of its top-(K / group_topk) entries of
//                     v_t (integer division, as Megatron); keep the
//                     group_topk best groups, then TopK(v_t, K) inside them.
//   kTopP             Dynamic routing (Huang et al., Dynamic_MoE code): take
//                     experts in decreasing v_t order and add their unbiased
//                     score until the cumulative sum exceeds top_p, at most
//                     max_k experts. With p = 0 and softmax scores this is the
//                     smallest prefix whose mass exceeds top_p.
//
// Null experts (AdaMoE): the last num_null_experts scored columns are
// zero-cost experts in the same candidate pool (top-K only). They absorb
// selections; only real experts count towards the routed load. Shared experts
// (DeepSeekMoE) are always on, unscored, and counted separately
// (shared load = B * num_shared_experts per batch).
//
// Combine weights (when requested): s_tj / sum over the token's selected real
// experts of s_tj (DeepSeek-V3 normalisation; AdaMoE renormalises among real
// experts; null experts get 0). Top-p keeps the unrenormalised s_tj, as the
// Dynamic_MoE code. Weights assume positive scores (softmax, sigmoid,
// sqrt-softplus).
//
// Ties: the lower expert (or group) index wins, always (torch.topk gives no
// such guarantee; docs/theory.md §7). Cost: O(E K) per token for top-K, O(E log E)
// for top-p.
#pragma once

#include <string>
#include <vector>

#include "moelab/core/types.hpp"
#include "moelab/routing/top_k_row.hpp"  // TopKOfRow, the selection kernel

namespace moelab {

enum class RouterKind { kTopK, kGroupedTopK, kGroupLimitedTopK, kTopP };

const char* ToString(RouterKind kind);
// topk, grouped-topk, group-limited-topk, top-p.
RouterKind ParseRouterKind(const std::string& name);

struct RouterOptions {
  RouterKind kind = RouterKind::kTopK;
  int top_k = 2;             // K (top-K and both group routers)
  int num_groups = 1;        // G (grouped / group-limited); must divide E
  int group_topk = 1;        // groups kept per token (group-limited)
  double top_p = 0.5;        // threshold in (0, 1] (top-p)
  int max_k = 0;             // top-p cap; 0 = all routed experts
  int num_null_experts = 0;  // m: last m scored columns are null experts (top-K only)
  int num_shared_experts = 0;
  bool compute_weights = false;

  // Largest number of selections a token can get.
  int slots(Index num_scored_experts) const;
  // Throws std::invalid_argument naming the field. `num_scored_experts` is the
  // number of score columns (routed + null).
  void Validate(Index num_scored_experts) const;
};

struct RoutingResult {
  Index num_tokens = 0;
  int slots = 0;
  // Row-major num_tokens x slots; entries in decreasing order of v_t, padded
  // with -1 after `count[t]` entries.
  std::vector<int> selected;
  std::vector<int> count;  // selections per token (real + null)
  Matrix weights;          // num_tokens x slots combine weights (if requested)

  int at(Index t, int slot) const { return selected[static_cast<std::size_t>(t * slots + slot)]; }
};

// Routes every row of `scores` (B x E, E = routed + null) with bias p
// (length E). Validates the options and sizes (throws std::invalid_argument).
RoutingResult Route(const RouterOptions& options, const Eigen::Ref<const Matrix>& scores,
                    const Eigen::Ref<const Vector>& bias);

// Loads c_j (number of selections of scored expert j) over tokens
// [begin, end). Length E (routed + null).
Vector CountLoads(const RoutingResult& routing, Index num_scored_experts, Index begin, Index end);

}  // namespace moelab
