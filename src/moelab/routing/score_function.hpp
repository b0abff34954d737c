// Router score functions: the map from gate logits z (one row per token) to
// the routing scores s that top-K selection compares.
//
//   kSoftmax       s_j = exp(z_j) / sum_l exp(z_l)          (Megatron pre_softmax)
//   kSigmoid       s_j = 1 / (1 + exp(-z_j))                (DeepSeek-V3, Wang et al.)
//   kSqrtSoftplus  s_j = sqrt(log(1 + exp(z_j)))            (Megatron "sqrtsoftplus")
//   kLogit         s_j = z_j                                (top-K on raw logits,
//                                                             Megatron's default path)
//
// The auxiliary load-balancing loss needs per-token probabilities that sum to
// one (Megatron `compute_routing_scores_for_aux_loss`): softmax as is, the
// element-wise functions phi normalised as phi(z_j) / sum_l phi(z_l). The
// logit score has no such normalisation (it can be negative); the aux loss
// then uses softmax probabilities, as Megatron does for its default path.
// With a = phi(z) and P = a / sum(a), dP_i/dz_k = (phi'(z_k) / sum(a)) (d_ik - P_i);
// AuxProbabilities returns P and the factor w_k = phi'(z_k) / sum(a) so the
// gradient can be assembled without forming the Jacobian.
#pragma once

#include <string>

#include "moelab/core/types.hpp"

namespace moelab {

enum class ScoreFunction { kSoftmax, kSigmoid, kSqrtSoftplus, kLogit };

const char* ToString(ScoreFunction f);
// Accepts softmax, sigmoid, sqrt-softplus (or sqrtsoftplus), logit; throws
// std::invalid_argument listing the valid names.
ScoreFunction ParseScoreFunction(const std::string& name);

// Row-wise scores of a B x E logit matrix.
Matrix ApplyScoreFunction(ScoreFunction f, const Eigen::Ref<const Matrix>& logits);

// Per-token aux-loss probabilities P (B x E, rows sum to 1) and the
// derivative factors w (B x E) defined in the header comment.
void AuxProbabilities(ScoreFunction f, const Eigen::Ref<const Matrix>& logits, Matrix* probs,
                      Matrix* factors);

}  // namespace moelab
