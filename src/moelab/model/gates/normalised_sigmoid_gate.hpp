// Normalised sigmoid gate (the router of DeepSeek-V3-style models):
//
//   g_i(x) = sigmoid(z_i) / sum_{j in S(x)} sigmoid(z_j),  z_i = beta1_i' x + beta0_i,
//
// over every expert (top_k = 0, the default) or over S(x) = the top_k experts
// with the largest affinity sigmoid(z_i) (equivalently z_i; ties: lower
// index). As a softmax gate its logits are s_i = log sigmoid(z_i), with
// ds_i/dz_i = sigmoid(-z_i).
//
// No translation leaves it unchanged (sigmoid(z + t) is not proportional to
// sigmoid(z)), so its gauge is "none": NormaliseGauge fixes nothing and every
// beta0_i, beta1_i is a free parameter. It is only weakly identified where
// all affinities saturate: z_i << 0 gives sigmoid(z) ~ e^z (a softmax, only
// differences identified), z_i >> 0 gives weights near 1/|S|.
//
// Mixing measure (moelab's choice; the literature has none for this gate):
// atom i carries the weight sigmoid(beta0_i) - the affinity at x = 0 - and
// the gate coordinate beta1_i. There is no rate theory for it: rate studies
// report its measured slopes with "no theory".
#pragma once

#include "moelab/model/gates/gate.hpp"

namespace moelab {

class NormalisedSigmoidGate final : public Gate {
 public:
  const char* name() const override { return "normalised-sigmoid"; }
  GateFields fields() const override;
  GateGauge Gauge(const GateParams&) const override { return GateGauge::kNone; }
  int SparseK(const GateParams& params) const override { return params.top_k; }
  GateAtoms MixingAtoms(const GateParams& params, bool scale_ratio) const override;
  // beta = w: log sigmoid(z) ~ z for z << 0, a first-order start EM refines.
  void ApproximateSoftmax(const Vector& bias, const Matrix& slope,
                          GateParams* params) const override;
  // value = z, derivative = sigmoid(-z).
  void BlockLogits(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                   bool with_derivative, Eigen::Ref<Matrix> value,
                   Eigen::Ref<Matrix> derivative, Eigen::Ref<Matrix> logits) const override;
  // The affinity z itself (log sigmoid saturates near 0 for large z).
  void BlockRanking(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                    const Eigen::Ref<const Matrix>& logits,
                    Eigen::Ref<Matrix> ranking) const override;
  void AccumulateBlockGradient(const GateParams& params, const Eigen::Ref<const Matrix>& Xb,
                               const Eigen::Ref<const Matrix>& value,
                               const Eigen::Ref<const Matrix>& derivative,
                               const Eigen::Ref<const Matrix>& dlogits, bool with_temperature,
                               Eigen::Ref<Vector> gradient) const override;
};

}  // namespace moelab
