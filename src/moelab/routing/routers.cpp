#include "moelab/routing/routers.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "moelab/core/check.hpp"
#include "moelab/core/log_sum_exp.hpp"

namespace moelab {

const char* ToString(RouterKind kind) {
  switch (kind) {
    case RouterKind::kTopK: return "topk";
    case RouterKind::kGroupedTopK: return "grouped-topk";
    case RouterKind::kGroupLimitedTopK: return "group-limited-topk";
    case RouterKind::kTopP: return "top-p";
  }
  return "unknown";
}

RouterKind ParseRouterKind(const std::string& name) {
  for (RouterKind k : {RouterKind::kTopK, RouterKind::kGroupedTopK, RouterKind::kGroupLimitedTopK,
                       RouterKind::kTopP}) {
    if (name == ToString(k)) return k;
  }
  throw std::invalid_argument("unknown router '" + name +
                              "' (valid: topk, grouped-topk, group-limited-topk, top-p)");
}

int RouterOptions::slots(Index num_scored_experts) const {
  if (kind == RouterKind::kTopP) {
    return max_k > 0 ? max_k : static_cast<int>(num_scored_experts - num_null_experts);
  }
  return top_k;
}

void RouterOptions::Validate(Index num_scored_experts) const {
  constexpr const char* kFn = "RouterOptions::Validate";
  const auto str = [](auto v) { return std::to_string(v); };
  if (num_null_experts < 0) ThrowInvalid(kFn, "num_null_experts must be >= 0");
  if (num_shared_experts < 0) ThrowInvalid(kFn, "num_shared_experts must be >= 0");
  const Index routed = num_scored_experts - num_null_experts;
  if (routed < 1) ThrowInvalid(kFn, "no routed experts: num_null_experts (" + str(num_null_experts) +
                                        ") >= number of scored experts (" + str(num_scored_experts) + ")");
  if (num_null_experts > 0 && kind != RouterKind::kTopK) {
    ThrowInvalid(kFn, "null experts are supported with the topk router only");
  }
  if (kind != RouterKind::kTopP) {
    if (top_k < 1 || top_k > num_scored_experts) {
      ThrowInvalid(kFn, "top_k = " + str(top_k) + " must be in [1, E = " + str(num_scored_experts) + "]");
    }
  }
  if (kind == RouterKind::kGroupedTopK || kind == RouterKind::kGroupLimitedTopK) {
    if (num_groups < 1 || num_scored_experts % num_groups != 0) {
      ThrowInvalid(kFn, "num_groups = " + str(num_groups) + " must be >= 1 and divide E = " +
                            str(num_scored_experts));
    }
  }
  if (kind == RouterKind::kGroupedTopK && top_k % num_groups != 0) {
    ThrowInvalid(kFn, "grouped-topk needs num_groups (" + str(num_groups) + ") to divide top_k (" +
                          str(top_k) + ")");
  }
  if (kind == RouterKind::kGroupedTopK && top_k / num_groups > num_scored_experts / num_groups) {
    ThrowInvalid(kFn, "grouped-topk: top_k / num_groups exceeds the group size");
  }
  if (kind == RouterKind::kGroupLimitedTopK) {
    if (group_topk < 1 || group_topk > num_groups) {
      ThrowInvalid(kFn, "group_topk = " + str(group_topk) + " must be in [1, num_groups = " +
                            str(num_groups) + "]");
    }
    if (top_k > group_topk * (num_scored_experts / num_groups)) {
      ThrowInvalid(kFn, "group-limited-topk: top_k exceeds the experts in group_topk groups");
    }
    if (top_k < group_topk) {
      ThrowInvalid(kFn, "group-limited-topk: top_k (" + str(top_k) + ") must be >= group_topk (" +
                            str(group_topk) + ")");
    }
  }
  if (kind == RouterKind::kTopP) {
    if (!(top_p > 0.0 && top_p <= 1.0)) {
      ThrowInvalid(kFn, "top_p = " + std::to_string(top_p) + " must lie in (0, 1]");
    }
    if (max_k < 0 || max_k > routed) {
      ThrowInvalid(kFn, "max_k = " + str(max_k) + " must be in [0, E = " + str(routed) + "]");
    }
  }
}

RoutingResult Route(const RouterOptions& options, const Eigen::Ref<const Matrix>& scores,
                    const Eigen::Ref<const Vector>& bias) {
  const Index e = scores.cols();
  options.Validate(e);
  CheckSize("Route", "bias", bias.size(), e);
  RoutingResult result;
  result.num_tokens = scores.rows();
  result.slots = options.slots(e);
  const int slots = result.slots;
  result.selected.assign(static_cast<std::size_t>(scores.rows() * slots), -1);
  result.count.assign(static_cast<std::size_t>(scores.rows()), 0);
  if (options.compute_weights) result.weights = Matrix::Zero(scores.rows(), slots);
  const int ei = static_cast<int>(e);
  const int routed = ei - options.num_null_experts;
  std::vector<double> v(e), group_score(std::max(options.num_groups, 1));
  std::vector<int> order(e), group_pick(std::max(options.num_groups, 1)), inner(e);
  // One token's scores are a row of a column-major matrix (stride B):
  // transposing a tile of kTile tokens at a time makes every token's E
  // shifted scores contiguous while the tile stays in cache.
  constexpr Index kTile = 16;
  Matrix shifted(e, kTile);
  for (Index t = 0; t < scores.rows(); ++t) {
    if (t % kTile == 0) {
      const Index rows = std::min(kTile, scores.rows() - t);
      // By hand: Eigen's expression for this transposed block is not
      // vectorised and cost as much as the top-K (perf, routing_step_benchmark).
      // Two columns at a time, so each token's pair of shifted scores is
      // one store (the compiler pairs them).
      Index j = 0;
      for (; j + 2 <= e; j += 2) {
        const double* src0 = scores.data() + j * scores.outerStride() + t;
        const double* src1 = src0 + scores.outerStride();
        const double b0 = bias[j], b1 = bias[j + 1];
        double* dst = shifted.data() + j;
        for (Index r = 0; r < rows; ++r) {
          dst[r * e] = src0[r] - b0;
          dst[r * e + 1] = src1[r] - b1;
        }
      }
      for (; j < e; ++j) {
        const double* src = scores.data() + j * scores.outerStride() + t;
        const double bj = bias[j];
        double* dst = shifted.data() + j;
        for (Index r = 0; r < rows; ++r) dst[r * e] = src[r] - bj;
      }
    }
    const double* col = shifted.data() + (t % kTile) * e;
    if (options.kind != RouterKind::kTopK) std::copy(col, col + e, v.begin());  // modified / sorted on
    int* out = &result.selected[static_cast<std::size_t>(t * slots)];
    int n = 0;
    switch (options.kind) {
      case RouterKind::kTopK:
        TopKOfRow(col, 0, ei, options.top_k, out);
        n = options.top_k;
        break;
      case RouterKind::kGroupedTopK: {
        const int size = ei / options.num_groups, per = options.top_k / options.num_groups;
        for (int g = 0; g < options.num_groups; ++g) {
          TopKOfRow(v.data(), g * size, (g + 1) * size, per, out + g * per);
        }
        n = options.top_k;
        break;
      }
      case RouterKind::kGroupLimitedTopK: {
        const int size = ei / options.num_groups, per = options.top_k / options.group_topk;
        for (int g = 0; g < options.num_groups; ++g) {
          TopKOfRow(v.data(), g * size, (g + 1) * size, per, inner.data());
          double sum = 0.0;
          for (int i = 0; i < per; ++i) sum += v[inner[i]];
          group_score[g] = sum;
        }
        TopKOfRow(group_score.data(), 0, options.num_groups, options.group_topk, group_pick.data());
        std::vector<char> keep(options.num_groups, 0);
        for (int i = 0; i < options.group_topk; ++i) keep[group_pick[i]] = 1;
        for (int j = 0; j < ei; ++j)
          if (!keep[j / size]) v[j] = kNegInf;
        TopKOfRow(v.data(), 0, ei, options.top_k, out);
        n = options.top_k;
        break;
      }
      case RouterKind::kTopP: {
        std::iota(order.begin(), order.begin() + routed, 0);
        std::stable_sort(order.begin(), order.begin() + routed,
                         [&](int a, int b) { return v[a] > v[b]; });
        double mass = 0.0;
        while (n < slots && mass <= options.top_p) {
          out[n] = order[n];
          mass += scores(t, order[n]);
          ++n;
        }
        break;
      }
    }
    // Grouped selections come group by group; present them in decreasing v.
    if (options.kind == RouterKind::kGroupedTopK) {
      std::stable_sort(out, out + n, [&](int a, int b) { return v[a] > v[b]; });
    }
    result.count[static_cast<std::size_t>(t)] = n;
    if (options.compute_weights) {
      if (options.kind == RouterKind::kTopP) {
        for (int i = 0; i < n; ++i) result.weights(t, i) = scores(t, out[i]);
      } else {
        double sum = 0.0;
        for (int i = 0; i < n; ++i)
          if (out[i] < routed) sum += scores(t, out[i]);
        for (int i = 0; i < n; ++i)
          if (out[i] < routed && sum > 0.0) result.weights(t, i) = scores(t, out[i]) / sum;
      }
    }
  }
  return result;
}

Vector CountLoads(const RoutingResult& routing, Index num_scored_experts, Index begin, Index end) {
  // Integer counts (an add with no floating-point latency), converted once.
  std::vector<Index> counts(static_cast<std::size_t>(num_scored_experts), 0);
  for (Index t = begin; t < end; ++t) {
    const int n = routing.count[static_cast<std::size_t>(t)];
    const int* row = &routing.selected[static_cast<std::size_t>(t * routing.slots)];
    for (int i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(row[i])];
  }
  Vector loads(num_scored_experts);
  for (Index j = 0; j < num_scored_experts; ++j) loads[j] = static_cast<double>(counts[static_cast<std::size_t>(j)]);
  return loads;
}

}  // namespace moelab
