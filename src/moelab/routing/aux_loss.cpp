#include "moelab/routing/aux_loss.hpp"

#include <string>

#include "moelab/core/check.hpp"

namespace moelab {

AuxLossEvaluation SwitchAuxLoss(const RoutingResult& routing, const Eigen::Ref<const Matrix>& probs,
                                const Eigen::Ref<const Matrix>& factors, Index group_size) {
  constexpr const char* kFn = "SwitchAuxLoss";
  const Index b = probs.rows(), e = probs.cols();
  CheckSize(kFn, "routing.num_tokens", routing.num_tokens, b);
  CheckSize(kFn, "factors.rows", factors.rows(), b);
  CheckSize(kFn, "factors.cols", factors.cols(), e);
  if (group_size < 1 || b % group_size != 0) {
    ThrowInvalid(kFn, "group_size (" + std::to_string(group_size) + ") must divide B (" +
                          std::to_string(b) + ")");
  }
  AuxLossEvaluation out;
  out.gradient = Vector::Zero(e);
  const Index groups = b / group_size;
  for (Index g = 0; g < groups; ++g) {
    const Index begin = g * group_size;
    const Vector counts = CountLoads(routing, e, begin, begin + group_size);
    const double total = counts.sum();
    if (total <= 0.0) continue;
    const Vector f = counts / total;
    const auto block = probs.middleRows(begin, group_size);
    const Vector p_mean = block.colwise().mean().transpose();
    out.loss += static_cast<double>(e) * f.dot(p_mean);
    const Vector fp = block * f;  // sum_i f_i P_ti per token
    for (Index t = 0; t < group_size; ++t) {
      out.gradient += (factors.row(begin + t).transpose().array() * (f.array() - fp[t])).matrix();
    }
    // gradient accumulates (E / T) sum_t ...; the 1/T and E factors below.
  }
  out.loss /= static_cast<double>(groups);
  out.gradient *= static_cast<double>(e) / (static_cast<double>(group_size) * groups);
  return out;
}

}  // namespace moelab
