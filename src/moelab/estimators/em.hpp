// Expectation-maximisation for the Gaussian mixture of experts, every gate.
//
// Model: p(y | x) = sum_i g_i(x) N(y | a_i' x + b_i, variance_i) with any gate
// of model/gates. With z_n = (1, x_n')' and responsibilities
//
//   r_ni = g_i(x_n) N(y_n | gamma_i' z_n, nu_i) / sum_l g_l(x_n) N(y_n | gamma_l' z_n, nu_l)
//
// (computed in log space, exactly 0 for experts a top-K gate did not select),
// one EM iteration is (docs/theory.md §6.1-6.3):
//
//   experts  gamma_i = (Z' R_i Z)^{-1} Z' R_i y   (weighted normal equations,
//            LDLT; column-pivoting QR when the system is ill-conditioned),
//            nu_i = max(variance_floor Var(y), sum_n r_ni (y_n - gamma_i' z_n)^2 / sum_n r_ni);
//            an expert whose mass sum_n r_ni < min_expert_mass * n keeps its
//            previous parameters (counted as an empty-expert event).
//   gate     maximise Q(gate) = sum_n sum_i r_ni log g_i(x_n), warm-started:
//     softmax      Newton / IRLS on the k-1 free (beta0_i, beta1_i) blocks (the
//                  reference expert k is fixed at 0: the gauge), closed-form
//                  gradient sum_n (r_ni - pi_ni) z_n and Hessian
//                  -sum_n pi_ni (delta_il - pi_nl) z_n z_n', step halving on Q.
//     temperature  with tau fixed the logits are (beta' z)/tau, so the same
//                  IRLS runs on w = beta / tau (exact; no scale symmetry left).
//     top-K        docs/theory.md §6.2: the selection S_K(x_n) is frozen at the current gate,
//                  IRLS runs on the restricted softmax, the selection is then
//                  recomputed; if the observed log-likelihood fell, the gate
//                  step is halved (at most 10 times) and finally dropped, which
//                  restores monotonicity because with the old gate the
//                  selection is unchanged. Selection switches are recorded in
//                  IterationSummary::selection_changed.
//     activation   (and temperature with fit_temperature) NLopt LD_LBFGS on -Q
//                  with the analytic gradient over the gauge-free parameters
//                  (+ log tau); the step is kept only if Q increased.
//
// Every M-step part does not decrease its share of the expected complete-data
// log-likelihood, so the observed log-likelihood never decreases (generalised
// EM) except by round-off; a decrease larger than 1e-10 * max(1, |l|) is
// counted in FitResult::likelihood_decreases.
//
// Stopping: |l_t - l_{t-1}| <= relative_tolerance * |l_{t-1}| (the [Demyst]
// protocol), or |l_t - l_{t-1}| <= absolute_tolerance, or the max-norm change of the parameters (gate packed as in
// gates/gate.hpp, expert slopes, intercepts and variances) <= parameter_tolerance,
// or max_iterations, or the callback. Numerical trouble (a non-finite
// log-likelihood) ends the fit with kNumericalFailure and the last finite
// iterate; it is never thrown.
//
// Speed: the E-step, the log-likelihood, the gate derivatives at the current
// gate and the experts' normal equations come from one pass over the data
// (for the IRLS gates one fused sweep per 64-row chunk,
// detail/affine_block_kernel.hpp); the
// data are processed in fixed blocks of rows whose partial sums are reduced in
// block order, so results are bit-identical for every num_threads. For the
// IRLS gates (softmax, top-K, temperature with tau fixed) that pass, run at
// the gate's first Newton trial, also serves as the trial's evaluation, and
// the experts' sums are taken about their current means, so that the new
// variances need no second pass (detail/em_engine.hpp): near convergence an
// iteration costs one pass (the fusion pauses while IRLS needs several
// Newton steps, when it would cost a pass more). exp and log are vectorised
// (detail/vector_math.hpp); the AVX-512, AVX2 + FMA and portable SSE2 copies
// of the kernels (chosen at run time; MOELAB_SIMD caps the level) agree to
// round-off, each giving the same bits on every x86-64 machine that runs it.
// gate_newton_steps = 1 (generalised EM) makes every iteration of an IRLS
// gate one such pass.
// Measured costs: README "Performance".
#pragma once

#include "moelab/core/dataset.hpp"
#include "moelab/core/termination.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/estimators/free_parameters.hpp"  // NumFreeParameters: the minimum n
#include "moelab/estimators/variance_floor.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct EmOptions {
  int max_iterations = 2000;          // published protocol (docs/theory.md §5.1); >= 1
  double relative_tolerance = 1e-6;   // the published [Demyst] rule: stop when
                                      // |l_t - l_{t-1}| <= tol * |l_{t-1}|; >= 0 (0: only an
                                      // exact fixed point stops).
                                      // An absolute tolerance growing with n: at large n
                                      // it stops over-fitted EM early (use the next one)
  double absolute_tolerance = 0.0;    // stop when |l_t - l_{t-1}| <= tol (log-likelihood
                                      // units, the same meaning at every n); >= 0 (0 = off)
  double parameter_tolerance = 0.0;   // stop when max-norm parameter change <= tol
                                      // (0 = off); >= 0
  double variance_floor = kDefaultVarianceFloor;  // relative to Var(y): expert variances
                                      // never go below variance_floor * Var(y) (hits
                                      // counted; variance_floor.hpp); in (0, 1)
  double min_expert_mass = 1e-8;      // an expert whose total responsibility is below
                                      // this * n keeps its previous parameters (counted
                                      // as an empty-expert event); in [0, 1)
  int gate_max_iterations = 300;      // inner gate M-step: Newton iterations (IRLS) or
                                      // objective evaluations (L-BFGS); >= 1
  double gate_tolerance = 1e-10;      // inner gate M-step stops when the (predicted)
                                      // increase of Q is <= tol * max(1, |Q|); >= 0
  int gate_newton_steps = 0;          // IRLS gates (softmax, top-K, temperature with tau
                                      // fixed): generalised EM - at most this many Newton
                                      // steps of the gate M-step per EM iteration while
                                      // the relative log-likelihood change is above 1e-6,
                                      // the full solve (gate_max_iterations,
                                      // gate_tolerance) below; still monotone, fewer
                                      // passes per fit. 0 = off (full solve every
                                      // iteration); >= 0
  bool fit_temperature = false;       // temperature/activation gates: also fit log tau
                                      // (ignored by gates without a temperature). The
                                      // temperature gate's tau is not identifiable
                                      // jointly with beta; keep this off there.
  bool record_history = false;        // fill FitResult::history (iteration 0 = start)
  int num_threads = 1;                // E-step / M-step threads; results do not depend
                                      // on it. Use 1 inside parallel rate studies.
  IterationCallback callback;         // called after every iteration; may stop the fit

  // Throws std::invalid_argument naming the offending field.
  void Validate() const;
};

// Fits by EM from `init`. Throws std::invalid_argument for bad options, NaN/Inf
// in the data, constant y, mismatched dimensions (d, k), invalid init (k < 1,
// K > k, variance <= 0, ...) or n smaller than the number of free parameters.
// Returns gauge-normalised parameters (NormaliseGauge) and the observed
// log-likelihood at them. Scale-equivariant: EM runs on standardised data
// (detail/fit_input.hpp), so the floor and the stopping rules do not depend
// on the units of x and y; in the history and the callback, log_likelihood
// is in the data's units, relative and parameter changes are those of the
// standardised problem.
FitResult FitEm(const Dataset& data, const MoeParams& init, const EmOptions& options);

}  // namespace moelab
