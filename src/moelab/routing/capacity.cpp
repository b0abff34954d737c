#include "moelab/routing/capacity.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "moelab/core/check.hpp"

namespace moelab {

Index ExpertCapacity(double capacity_factor, Index group_tokens, int top_k, Index num_experts) {
  constexpr const char* kFn = "ExpertCapacity";
  CheckFinite(kFn, "capacity_factor", capacity_factor);
  CheckPositive(kFn, "capacity_factor", capacity_factor);
  if (group_tokens < 1) ThrowInvalid(kFn, "group_tokens must be >= 1");
  if (top_k < 1) ThrowInvalid(kFn, "top_k must be >= 1");
  if (num_experts < 1) ThrowInvalid(kFn, "num_experts must be >= 1");
  const double c = std::ceil(capacity_factor * static_cast<double>(group_tokens) * top_k /
                             static_cast<double>(num_experts));
  return std::max<Index>(1, static_cast<Index>(c));
}

CapacityResult ApplyCapacity(const RoutingResult& routing, Index num_experts, Index group_size,
                             double capacity_factor) {
  constexpr const char* kFn = "ApplyCapacity";
  const Index n = routing.num_tokens;
  if (group_size < 1 || n % group_size != 0)
    ThrowInvalid(kFn, "group_size (" + std::to_string(group_size) + ") must divide the " +
                          std::to_string(n) + " tokens");
  CapacityResult out;
  out.kept.assign(routing.selected.size(), 0);
  out.kept_loads = Vector::Zero(num_experts);
  std::vector<Index> used(static_cast<std::size_t>(num_experts), 0);
  for (Index begin = 0; begin < n; begin += group_size) {
    out.capacity = ExpertCapacity(capacity_factor, group_size, std::max(routing.slots, 1), num_experts);
    std::fill(used.begin(), used.end(), 0);
    for (Index t = begin; t < begin + group_size; ++t) {
      const int count = routing.count[static_cast<std::size_t>(t)];
      int kept = 0;
      for (int i = 0; i < count; ++i) {
        const int j = routing.at(t, i);
        ++out.assignments;
        const std::size_t slot = static_cast<std::size_t>(t * routing.slots + i);
        if (j >= num_experts) {  // null expert: never capped
          out.kept[slot] = 1;
          ++kept;
          continue;
        }
        if (used[static_cast<std::size_t>(j)] < out.capacity) {
          ++used[static_cast<std::size_t>(j)];
          out.kept_loads[j] += 1.0;
          out.kept[slot] = 1;
          ++kept;
        } else {
          ++out.dropped_assignments;
        }
      }
      if (count > 0 && kept == 0) ++out.dropped_tokens;
    }
  }
  return out;
}

ExpertChoiceResult ExpertChoiceRoute(const Eigen::Ref<const Matrix>& scores, Index group_size, int top_k,
                                     double capacity_factor) {
  constexpr const char* kFn = "ExpertChoiceRoute";
  const Index n = scores.rows(), e = scores.cols();
  if (group_size < 1 || n % group_size != 0)
    ThrowInvalid(kFn, "group_size (" + std::to_string(group_size) + ") must divide the " +
                          std::to_string(n) + " tokens");
  ExpertChoiceResult out;
  out.capacity = std::min(group_size, ExpertCapacity(capacity_factor, group_size, top_k, e));
  RoutingResult& r = out.routing;
  r.num_tokens = n;
  r.slots = static_cast<int>(e);
  r.selected.assign(static_cast<std::size_t>(n * e), -1);
  r.count.assign(static_cast<std::size_t>(n), 0);
  out.loads = Vector::Zero(e);
  std::vector<Index> order(static_cast<std::size_t>(group_size));
  for (Index begin = 0; begin < n; begin += group_size) {
    for (Index j = 0; j < e; ++j) {
      std::iota(order.begin(), order.end(), begin);
      // The C best tokens (higher score first, lower token index on ties;
      // a strict total order, so the chosen set is unique): O(n) selection.
      if (out.capacity < group_size)
        std::nth_element(order.begin(), order.begin() + (out.capacity - 1), order.end(), [&](Index a, Index b) {
          const double sa = scores(a, j), sb = scores(b, j);
          return sa > sb || (sa == sb && a < b);
        });
      for (Index i = 0; i < out.capacity; ++i) {
        const Index t = order[static_cast<std::size_t>(i)];
        int& c = r.count[static_cast<std::size_t>(t)];
        r.selected[static_cast<std::size_t>(t * e + c)] = static_cast<int>(j);
        ++c;
        out.loads[j] += 1.0;
      }
    }
  }
  for (int c : r.count) out.unrouted_tokens += c == 0;
  return out;
}

}  // namespace moelab
