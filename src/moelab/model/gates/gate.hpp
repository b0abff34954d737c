// The gate interface that serves every estimator and the router.
//
// A gate maps covariates to logits s_i(x) and a selection (which experts may
// receive weight). Gate weights are the softmax of the logits over the
// selected experts; unselected experts get log-weight exactly -inf.
//
// Estimators never see the gate's formula. They need
//   * GateLogWeights: log g_i(x_n) for a batch (n x k);
//   * GateObjective:  Q = sum_n sum_i r_ni log g_i(x_n)   (0 log 0 := 0);
//   * GateObjectiveGradient: dQ/dtheta for the packed gate vector theta.
// The gradient is assembled by the chain rule: dQ/ds_ni = r_ni - R_n g_ni on
// the selected set (R_n = sum_i r_ni), contracted with ds/dtheta by the
// concrete gate (Gate::AccumulateLogitGradient). For the top-K gate the
// selection is frozen at theta: Q is only piecewise smooth in beta1.
//
// Packed layout (PackGate / UnpackGate): expert i occupies entries
// [i*(d+1), (i+1)*(d+1)) as (beta0_i, beta1_i1, ..., beta1_id); when
// `with_temperature` is set, log(tau) follows as the last entry.
#pragma once

#include "moelab/core/types.hpp"
#include "moelab/model/gate_params.hpp"

namespace moelab {

class Gate {
 public:
  virtual ~Gate() = default;

  // Logits (n x k) with -inf for experts the gate does not select.
  virtual Matrix SelectedLogits(const GateParams& params,
                                const Eigen::Ref<const Matrix>& X) const = 0;

  // Adds sum_n sum_i dlogits(n, i) * d s_ni / d theta to `gradient` (packed
  // layout above). `logits` is SelectedLogits(params, X); dlogits is zero
  // wherever logits is -inf.
  virtual void AccumulateLogitGradient(const GateParams& params,
                                       const Eigen::Ref<const Matrix>& X,
                                       const Matrix& logits, const Matrix& dlogits,
                                       bool with_temperature,
                                       Eigen::Ref<Vector> gradient) const = 0;
};

// The implementation for a gate kind (a static instance; thread-safe).
const Gate& GateFor(GateKind kind);

// log g(x_n) for every row of X (n x k), -inf where not selected.
Matrix GateLogWeights(const GateParams& params, const Eigen::Ref<const Matrix>& X);

// Q(theta) = sum_n sum_i R(n,i) log g_i(x_n) with 0 log 0 = 0. Returns -inf
// when positive responsibility falls on an unselected expert.
double GateObjective(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                     const Eigen::Ref<const Matrix>& R);

// dQ/dtheta in the packed layout (length k(d+1) [+1]).
Vector GateObjectiveGradient(const GateParams& params, const Eigen::Ref<const Matrix>& X,
                             const Eigen::Ref<const Matrix>& R, bool with_temperature);

Index PackedGateSize(Index num_experts, Index dim, bool with_temperature);
Vector PackGate(const GateParams& params, bool with_temperature);
// Writes the packed vector into `params` (which fixes kind, k, d and options).
void UnpackGate(const Eigen::Ref<const Vector>& packed, bool with_temperature,
                GateParams* params);

}  // namespace moelab
