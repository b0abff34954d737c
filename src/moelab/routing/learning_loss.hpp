// The training objective of the learning router (issue 17): a top-K Gaussian
// MoE trained by stochastic gradient on its log-likelihood while a balancing
// policy acts (learning_run.hpp).
//
// Model (model/gate_params.hpp, kTopK with full-logit ranking; K = E is the
// softmax gate): for token (x, y), logits z = beta1 x + beta0, prices p,
//   S      = TopK(z - p, K)            (prices select only, ties: lower index)
//   g_i    = exp(z_i) / sum_{l in S} exp(z_l),  i in S (weights unbiased)
//   p(y|x) = sum_{i in S} g_i N(y | a_i' x + b_i, nu_i)
// With p = 0 this is the model's own density; with ALF-LB prices it is the
// density of the biased routing used at training and inference time.
//
// Loss of a batch of B tokens:
//   NLL = -(1/B) sum_t log p(y_t | x_t)
//   aux = sum over terms of coeff * mean over groups G of LBL_G,
//   LBL_G = E sum_i f_i P_i  (Switch), f_i = c_i / sum c over the group's
//   actual (priced) selections, P_i = mean_{t in G} softmax(z_t)_i over all E
//   experts; groups = micro-batches, sequences or the whole step (Demons'
//   global batch). f is a count (no gradient), as in Megatron.
// Gradient (the selection S is piecewise constant in the parameters, so the
// gradient is exact wherever no token sits on a selection tie): with
// responsibilities r_i = g_i N_i / p(y|x) over S,
//   dNLL/dz_i   = (g_i - r_i) / B,           i in S
//   dNLL/dm_i   = -r_i (y - m_i) / (nu_i B), m_i = a_i' x + b_i
//   dNLL/dlognu = -r_i ((y - m_i)^2 / nu_i - 1) / (2 B)
//   dLBL_G/dz_tk = (E / |G|) P_tk (f_k - sum_i f_i P_ti)
// and z, m are affine in (beta0, beta1), (b, a).
//
// Parameter vector theta (PackLearningParameters), length E (2 d + 3):
//   [beta0 (E) | beta1 (E x d, row-major) | b (E) | a (E x d) | log nu (E)].
#pragma once

#include <vector>

#include "moelab/core/types.hpp"
#include "moelab/model/moe_params.hpp"
#include "moelab/routing/balancers.hpp"
#include "moelab/routing/routers.hpp"

namespace moelab {

Index NumLearningParameters(Index num_experts, Index dim);
// Throws std::invalid_argument unless params has a softmax or top-K gate.
Vector PackLearningParameters(const MoeParams& params);
// The parameters of theta with the gate kind / K / ranking of `like`.
MoeParams UnpackLearningParameters(const Vector& theta, const MoeParams& like);

struct AuxTerm {
  CountingLevel level = CountingLevel::kGlobal;
  double coeff = 0.0;
};

struct LearningLossOptions {
  int top_k = 2;                // K (= E for softmax)
  Index microbatch_size = 0;    // group size of kMicroBatch (0 = whole batch)
  Index sequence_length = 0;    // group size of kSequence (0 = micro-batch)
  std::vector<AuxTerm> aux;     // empty = no aux loss
  bool gradient = true;
};

struct LearningLoss {
  double nll = 0.0;   // mean negative log-likelihood
  double aux = 0.0;   // sum of coeff * LBL
  double total() const { return nll + aux; }
  Vector gradient;    // d total / d theta (empty unless requested)
  RoutingResult routing;  // S per token (slots = K)
  Vector loads;       // selections per expert
};

// Loss, gradient and routing of a batch (X: B x d, y: B) at theta with prices
// p (length E). Throws std::invalid_argument for mismatched sizes, K outside
// [1, E], group sizes that do not divide B.
LearningLoss EvaluateLearningLoss(const Vector& theta, Index num_experts, const Eigen::Ref<const Vector>& prices,
                                  const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                                  const LearningLossOptions& options);

}  // namespace moelab
