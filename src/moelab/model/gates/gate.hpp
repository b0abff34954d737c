// The gate interface: everything an estimator, a loss, a rate study or an
// experiment may branch on is a question to the Gate of a GateKind
// (GateFor, gate_registry.cpp). Code outside model/gates/ never switches on
// GateKind.
//
// A gate maps covariates to logits s_i(x) and a selection (which experts may
// receive weight). Gate weights are the softmax of the logits over the
// selected experts; unselected experts get log-weight exactly -inf.
//
// What a gate describes about itself:
//   * fields():      which optional GateParams fields it reads (tau, K,
//                    ranking, activation) - validation, JSON, CLIs;
//   * Gauge():       the translations that leave its weights unchanged, i.e.
//                    what NormaliseGauge fixes and what the Voronoi losses
//                    may shift;
//   * HasScaleSymmetry(): (beta, tau) -> c (beta, tau) leaves it unchanged
//                    (tau is then not identifiable jointly with beta);
//   * IdentifiedAtOneExpert(): whether its parameters enter the density when
//                    k = 1 (never for a normalised gate: g = 1);
//   * SparseK():     K when it keeps the K top-ranked experts of a row;
//   * AffineScale(): c when every selected logit is c (beta1_i' x + beta0_i)
//                    - the EM engine then runs its fused, IRLS kernels;
//   * MixingAtoms(), LossFamily(): the weights and gate coordinates of the
//                    mixing measure the Voronoi losses compare, and which
//                    gates' measures are comparable;
//   * TheoryKey():   which rows of the rate table (rates/theory.hpp) apply;
//                    "" = none ("no theory", never the softmax rates).
//
// Evaluation, on whole matrices (MLE, LSE, metrics) or on blocks of rows
// (the EM engine; results of a block do not depend on other rows):
//   * GateLogWeights: log g_i(x_n) for a batch (n x k);
//   * GateObjective:  Q = sum_n sum_i r_ni log g_i(x_n)   (0 log 0 := 0);
//   * GateObjectiveGradient: dQ/dtheta for the packed gate vector theta.
// The gradient is assembled by the chain rule: dQ/ds_ni = r_ni - R_n g_ni on
// the selected set (R_n = sum_i r_ni), contracted with ds/dtheta by the
// concrete gate (Gate::AccumulateLogitGradient). For a sparse gate the
// selection is frozen at theta: Q is only piecewise smooth in beta.
//
// Packed layout (PackGate / UnpackGate): expert i occupies entries
// [i*(d+1), (i+1)*(d+1)) as (beta0_i, beta1_i1, ..., beta1_id); when
// `with_temperature` is set, log(tau) follows as the last entry.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "moelab/core/types.hpp"
#include "moelab/model/gate_params.hpp"

namespace moelab {

// The common translations that leave a gate's weights unchanged; NormaliseGauge
// fixes them with the reference (last) expert.
enum class GateGauge {
  kNone,          // none: nothing is fixed
  kBias,          // beta0_i + t0: beta0_k = 0
  kBiasAndSlope,  // (beta0_i + t0, beta1_i + t1): beta0_k = 0 and beta1_k = 0
};

const char* ToString(GateGauge gauge);

// The optional GateParams fields a gate reads.
struct GateFields {
  enum class TopK { kUnused, kRequired, kOptional };  // kOptional: 0 = all experts
  bool temperature = false;
  TopK top_k = TopK::kUnused;
  bool ranking = false;
  bool activation = false;
};

// A gate's part of the mixing measure G = sum_i exp(w_i) delta_{theta_i}.
struct GateAtoms {
  Vector log_weight;                  // w_i (k)
  Matrix gate_slope;                  // the gate coordinates of theta_i (k x d)
  std::optional<double> temperature;  // tau, when it is an atom coordinate
};

class Gate {
 public:
  virtual ~Gate() = default;

  // ---- What the gate is.
  virtual const char* name() const = 0;
  virtual GateFields fields() const { return {}; }
  virtual GateGauge Gauge(const GateParams& params) const = 0;
  virtual bool HasScaleSymmetry(const GateParams&) const { return false; }
  virtual bool IdentifiedAtOneExpert() const { return false; }
  virtual int SparseK(const GateParams&) const { return 0; }
  virtual std::optional<double> AffineScale(const GateParams&) const { return std::nullopt; }
  // `scale_ratio`: for a gate with the scale symmetry, measure beta/tau
  // (identifiable) rather than (beta1, tau) literally.
  virtual GateAtoms MixingAtoms(const GateParams& params, bool scale_ratio) const;
  virtual std::string LossFamily(const GateParams&) const { return name(); }
  virtual std::string TheoryKey() const { return ""; }
  // Sets params' beta so that its logits approximate the softmax logits
  // beta0_i + beta1_i' x (used by data-driven starts); keeps tau and options.
  virtual void ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                                  GateParams* params) const = 0;

  // ---- Whole-matrix evaluation.
  // Logits (n x k) with -inf for experts the gate does not select.
  virtual Matrix SelectedLogits(const GateParams& params,
                                const Eigen::Ref<const Matrix>& X) const;

  // Adds sum_n sum_i dlogits(n, i) * d s_ni / d theta to `gradient` (packed
  // layout above). `logits` is SelectedLogits(params, X); dlogits is zero
  // wherever logits is -inf.
  virtual void AccumulateLogitGradient(const GateParams& params,
                                       const Eigen::Ref<const Matrix>& X,
                                       const Matrix& logits, const Matrix& dlogits,
                                       bool with_temperature,
                                       Eigen::Ref<Vector> gradient) const;

  // ---- Block evaluation (rows Xb of X). `value` and `derivative` (Xb.rows()
  // x k each) are the caller's work space: BlockLogits stores there what
  // AccumulateBlockGradient needs (with_derivative = true), and the caller
  // passes the same blocks back (the logits it may overwrite).
  // Logits of every expert, before selection.
  virtual void BlockLogits(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                           bool with_derivative, Eigen::Ref<Matrix> value,
                           Eigen::Ref<Matrix> derivative, Eigen::Ref<Matrix> logits) const = 0;
  // Sparse gates: the scores whose K largest select the experts of a row
  // (ties: lower index). Default: the logits themselves.
  virtual void BlockRanking(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                            const Eigen::Ref<const Matrix>& logits,
                            Eigen::Ref<Matrix> ranking) const;
  // Adds sum_n sum_i dlogits(n, i) d s_ni / d theta to `gradient` (packed).
  virtual void AccumulateBlockGradient(const GateParams& params,
                                       const Eigen::Ref<const Matrix>& Xb,
                                       const Eigen::Ref<const Matrix>& value,
                                       const Eigen::Ref<const Matrix>& derivative,
                                       const Eigen::Ref<const Matrix>& dlogits,
                                       bool with_temperature,
                                       Eigen::Ref<Vector> gradient) const = 0;
};

// The implementation for a gate kind (a static instance; thread-safe).
const Gate& GateFor(GateKind kind);
inline const Gate& GateOf(const GateParams& params) { return GateFor(params.kind); }

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

// Indices of the K largest entries of `scores` (ties: lower index first),
// written to `selected[0..K)` in decreasing score order.
void TopKIndices(const Eigen::Ref<const Vector>& scores, int K, std::vector<Index>* selected);

}  // namespace moelab
