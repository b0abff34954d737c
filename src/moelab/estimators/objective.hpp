// The negative observed log-likelihood of a Gaussian MoE as a smooth function
// of one packed, gauge-fixed parameter vector, with its analytic gradient.
// Shared by the direct MLE (mle_nlopt) and reusable by any other optimiser.
//
//   l(theta) = sum_n log sum_i g_i(x_n) N(y_n | a_i' x_n + b_i, nu_i)
//
// Packed layout (P entries, "gauge-fixed"):
//   1. the free gate entries, in PackGate order (expert 0..k-1, each
//      (beta0_i, beta1_i)) with the reference (last) expert's fixed entries
//      left out: the gate density is invariant under a common translation,
//      so the reference expert's (beta0, beta1) are held at 0. For a
//      non-linear activation gate only beta0 translates, so only the
//      reference beta0 is fixed and its beta1 stays free
//      (HasSlopeTranslationSymmetry). Without this the Hessian would be
//      singular along the translation and quasi-Newton steps would drift.
//   2. log(tau), when the temperature is fitted (temperature and activation
//      gates only; for other gates the request is ignored). Note that under a
//      temperature gate (beta, tau) -> c (beta, tau) is an exact symmetry, so
//      fitting log tau there leaves one flat direction (docs/theory.md §2.3).
//   3. per expert i = 0..k-1: (b_i, a_i1..a_id, log nu_i). The variance is on
//      a log scale so every packed vector is a valid model; a variance floor
//      becomes a simple lower bound on log nu_i.
//
// Gradient (chain rule). With responsibilities r_ni = P(z_n = i | x_n, y_n)
// and gate weights g_ni,
//   dl/ds_ni        = r_ni - g_ni   on the selected set (s = gate logits),
// contracted with ds/dtheta by the gate's own AccumulateLogitGradient (so
// every gate kind works, the top-K gate with its selection frozen at theta);
// with residuals e_ni = y_n - a_i' x_n - b_i,
//   dl/db_i         = sum_n r_ni e_ni / nu_i,
//   dl/da_i         = sum_n r_ni e_ni x_n / nu_i,
//   dl/dlog(nu_i)   = sum_n r_ni (e_ni^2 / (2 nu_i) - 1/2).
//
// Speed: for the gates with affine logits and the reference-expert gauge
// (softmax, top-K, temperature with tau fixed) the value and gradient come
// from EM's fused per-chunk kernel (detail/affine_block_kernel.hpp): by
// Fisher's identity the gradient of l is that of EM's Q at the current
// parameters, whose gate part and expert sums the kernel forms in one sweep.
// Every other gate takes the generic blocked path (the same formulas through
// Gate::SelectedLogits / AccumulateLogitGradient). The two agree to
// round-off (tested).
//
// Non-finite values (parameters so large that logits or residuals overflow)
// give NegativeLogLikelihood = +inf and a zero gradient; the caller decides
// what to do (mle_nlopt stops with the last finite iterate).
#pragma once

#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/free_parameters.hpp"  // FreeGateEntries: the gauge-free gate entries
#include "moelab/model/moe_params.hpp"

namespace moelab {

class MoeObjective {
 public:
  // `shape` fixes the gate kind and options, k and d (its values are not
  // used). The data set is referenced, not copied: it must outlive the
  // objective. Throws std::invalid_argument when data and shape disagree on d
  // or either is invalid.
  MoeObjective(const Dataset& data, const MoeParams& shape, bool fit_temperature);

  Index num_parameters() const { return num_parameters_; }
  bool fits_temperature() const { return fit_temperature_; }
  // Position of log(tau) (only when fits_temperature()).
  Index temperature_index() const { return free_gate_.size(); }
  // Position of expert i's block (b_i, a_i, log nu_i); log nu_i is at
  // expert_offset(i) + d + 1.
  Index expert_offset(Index i) const;
  Index log_variance_index(Index i) const { return expert_offset(i) + dim_ + 1; }

  // Gauge-normalises `params` (NormaliseGauge) and packs it. Throws
  // std::invalid_argument when params do not match the shape.
  Vector Pack(const MoeParams& params) const;
  // The gauge-normalised parameters of a packed vector.
  MoeParams Unpack(const Eigen::Ref<const Vector>& packed) const;

  // -l(theta); writes -dl/dtheta to *gradient when it is not null (resized
  // to num_parameters()). Returns +inf (gradient zero) when l or its
  // gradient is not finite.
  double NegativeLogLikelihood(const Eigen::Ref<const Vector>& packed,
                               Vector* gradient) const;

  // Whether NegativeLogLikelihood runs the fused kernel (see "Speed").
  bool uses_fused_kernel() const { return fused_; }
  // Forces the generic path (tests compare the two; benchmarks time them).
  void UseGenericPath() { fused_ = false; }

 private:
  const Dataset& data_;
  MoeParams shape_;
  bool fit_temperature_;
  Index num_experts_;
  Index dim_;
  std::vector<Index> free_gate_;
  Index num_parameters_;
  bool fused_ = false;
  Matrix Z_;  // [1 X] for the fused kernel (empty otherwise)

  double GenericNegativeLogLikelihood(const MoeParams& params, Vector* gradient) const;
  double FusedNegativeLogLikelihood(const MoeParams& params, Vector* gradient) const;
};

}  // namespace moelab
