// The Switch / GShard auxiliary load-balancing loss (docs/theory.md §7.9)
// and its gradient with respect to per-expert logit offsets theta.
//
// For a counting set G of T tokens: LBL_G = E sum_i f_i P_i with
//   f_i = c_i / sum_l c_l   (share of the set's assignments sent to expert i;
//                            = c_i / (K T) for a fixed K, Megatron's convention)
//   P_i = (1/T) sum_{t in G} P_ti   (aux probabilities, score_function.hpp)
// f is a count and carries no gradient. With logits z + theta,
//   dLBL_G / dtheta_k = (E / T) sum_{t in G} w_tk (f_k - sum_i f_i P_ti),
// w the factors of AuxProbabilities. Uniform f and P give LBL = 1.
//
// Counting levels (Demons in the Detail, Eqs. 2–6; Megatron aux_loss,
// seq_aux_loss, global_aux_loss): the step's B tokens are cut into
// consecutive groups of `group_size` tokens (a micro-batch, a sequence, or
// the whole step for the global loss) and the loss is the mean of LBL_G over
// the groups. The global level with one group is Demons' LBL_global: f and P
// both from the whole step (the all-reduced, buffered counts).
#pragma once

#include "moelab/core/types.hpp"
#include "moelab/routing/routers.hpp"

namespace moelab {

struct AuxLossEvaluation {
  double loss = 0.0;
  Vector gradient;  // d loss / d theta, length E
};

// `routing` over the B rows of `probs` / `factors` (B x E). Throws
// std::invalid_argument unless group_size >= 1 divides B and sizes match.
AuxLossEvaluation SwitchAuxLoss(const RoutingResult& routing, const Eigen::Ref<const Matrix>& probs,
                                const Eigen::Ref<const Matrix>& factors, Index group_size);

}  // namespace moelab
