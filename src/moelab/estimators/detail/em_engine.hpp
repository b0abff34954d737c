// The EM iteration itself (private): preallocated work space, the fused
// E-step, the expert and gate M-steps and the top-K backtracking. FitEm
// (estimators/em.hpp) drives it and owns stopping, history and reporting; the
// benchmarks drive it directly to time single iterations.
//
// Layout of the work: Z = [1 X] (n x p, p = d + 1) is built once; R (n x k)
// holds the responsibilities of the current iterate. One E-step pass over
// fixed row blocks computes, per block, the gate log-weights, the expert log
// densities, R, the log-likelihood, Q(gate) and - for the IRLS gates - its
// gradient and information at the current gate, and the experts' weighted
// normal equations about their current means (sum r_i, Z'R_i Z, Z'R_i e_i,
// e_i'R_i e_i with e_i = y - Z gamma_i). The expert M-step is a weighted
// least-squares step from the current means, and its residual sum of squares
// e'Re - delta'Z'Re needs no second pass as long as the subtraction is
// benign, which it is near a fit (the change of the means is small); an
// exp-free pass computes it exactly otherwise (ExpertMStep). The
// column-wise baseline (fused_kernel = false) always takes that pass.
//
// The engine knows no gate formula; it asks the Gate (model/gates/gate.hpp).
// A gate whose logits are affine (Gate::AffineScale c) runs the fused kernel:
// logits Z W with W = c (beta0; beta1'), and - with c fixed and the
// reference-expert gauge - the IRLS gate M-step (softmax, top-K, temperature
// with tau fixed). Any other gate (or a fitted tau) takes the generic path:
// Gate::BlockLogits / AccumulateBlockGradient per block and L-BFGS on Q. A
// sparse gate (Gate::SparseK > 0) gets its selection recorded per row, frozen
// during the gate M-step and backtracked on as in the top-K case.
#pragma once

#include <memory>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/detail/block_runner.hpp"
#include "moelab/estimators/detail/kernel_coefficients.hpp"
#include "moelab/estimators/detail/selection_mask.hpp"
#include "moelab/estimators/detail/softmax_irls.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab::detail {

// Decreases of the observed log-likelihood smaller than this are round-off
// (1e-10 relative: far above the summation error of n <= 1e7 terms).
double LikelihoodRoundoff(double log_likelihood);

class EmEngine {
 public:
  struct StepReport {
    bool finite = true;             // false: the candidate's log-likelihood was not
                                    // finite; params() is still the previous iterate
    double log_likelihood = 0.0;
    double parameter_change = 0.0;  // max-norm change of the parameters
    Index selection_changes = 0;    // top-K: rows whose selected set switched
    int gate_backtracks = 0;        // top-K: halvings of the gate step
    bool gate_step_dropped = false; // top-K: every halving lowered the likelihood
  };

  // `start` must be valid and gauge-normalised; `data` and the options must
  // outlive the engine. Runs the first E-step. `fused_kernel` (IRLS gates):
  // run the E-step and the IRLS evaluations through the fused per-chunk
  // kernel (affine_block_kernel.hpp; used where the compiler has vector
  // extensions; also a leaner loop in the variance pass, every gate). false
  // gives the earlier column-wise block code - the
  // benchmarks' in-binary baseline and the tests' reference; the sums differ
  // in the last bits (summation order).
  EmEngine(const Dataset& data, const MoeParams& start, const EmOptions& options,
           bool fused_kernel = true);
  ~EmEngine();

  // One EM iteration (M-step, then the E-step at the new parameters).
  StepReport Step();
  // IRLS gates: fuse the gate M-step's first trial evaluation into the E-step
  // (TrySpeculativeGateStep; on by default). Off gives the plain sequence
  // M-step, then E-step - for tests and as the benchmarks' baseline; the
  // iterates agree up to round-off.
  void set_speculative_gate_step(bool on) { speculative_gate_step_ = on; }
  // How often the speculative E-step was final / served as IRLS's first trial.
  int speculative_accepted() const { return speculative_accepted_; }
  int speculative_trials_reused() const { return speculative_trials_reused_; }
  // Re-runs the E-step at the current parameters (benchmarks time it alone).
  void RefreshEStep() { EStep(params_, false); }

  const MoeParams& params() const { return params_; }
  double log_likelihood() const { return log_likelihood_; }
  bool finite() const { return finite_; }
  const Matrix& responsibilities() const { return R_; }
  int variance_floor_hits() const { return variance_floor_hits_; }  // clamp events
  int evaluations() const { return evaluations_; }  // E-steps run (passes over the data)
  int empty_expert_events() const { return empty_expert_events_; }
  int dropped_gate_steps() const { return dropped_gate_steps_; }
  bool uses_irls() const { return irls_gate_; }

  // Q(gate) and its gradient in the packed layout (gates/gate.hpp, + log tau
  // when `with_temperature`), at `gate` with the current responsibilities:
  // the objective the L-BFGS gate M-step maximises. Exposed for tests.
  double GateObjectiveAndGradient(const GateParams& gate, bool with_temperature,
                                  Vector* gradient) const;

 private:
  struct Scratch;
  // `speculative`: also sum Q_old = sum_n sum_i r_ni log g_i(x_n) with the
  // responsibilities in R_previous_ (see TrySpeculativeGateStep).
  void EStep(const MoeParams& params, bool speculative);
  ExpertParams ExpertMStep();
  // The weighted residual sums of squares of `experts` (one exp-free pass).
  void ExactResidualSums(const ExpertParams& experts, Vector* rss);
  // IRLS gates. Near convergence SoftmaxIrls::Maximise takes one full Newton
  // step and stops, so its one evaluation (at the trial gate, with the old
  // responsibilities) and the E-step at the candidate see the same gate. This
  // runs the E-step at the trial gate and, in the same pass, Q_old(trial) and
  // its gradient. kAccepted: Maximise would have stopped after that step; the
  // candidate (trial gate) and the E-step are final, exactly as on the
  // ordinary path but one pass cheaper. kTrialEvaluated: IRLS must go on;
  // *trial holds Maximise's first trial evaluation (R_previous_ and
  // saved_totals_ the previous iterate's R and sums), and the E-step at the
  // trial stays in R_ / totals_ - final when IRLS ends at the trial, which is
  // the usual case after one more (too small) Newton step. kNotTried: state
  // untouched; IRLS keeps the gate without a pass, or a top-K selection moved
  // (the trial is not the frozen-selection one).
  enum class Speculation { kNotTried, kAccepted, kTrialEvaluated };
  Speculation TrySpeculativeGateStep(MoeParams* candidate, SoftmaxIrls::Evaluation* trial);
  // IRLS from the current gate with responsibilities R and E-step sums `totals`.
  GateParams GateMStepIrls(const Matrix& R, const Vector& totals,
                           const SoftmaxIrls::Evaluation* first_trial, int* newton_steps);
  // Newton steps the IRLS gate M-step may take this iteration
  // (EmOptions::gate_newton_steps).
  int GateNewtonCap() const;
  // Start of the per-expert sums in an E-step partials column.
  Index ExpertOffset() const;
  GateParams GateMStepLbfgs() const;

  const Dataset& data_;
  const EmOptions& options_;
  Index n_, d_, p_, k_;
  const Gate& gate_;
  bool top_k_, affine_, irls_gate_, fit_tau_;
  Matrix Z_;
  Matrix R_;
  Matrix R_previous_;               // IRLS gates: R of the previous iterate during a
                                    // speculative step
  BlockRunner runner_;
  std::unique_ptr<SoftmaxIrls> irls_;
  SelectionMask selection_, accepted_selection_;
  mutable std::vector<Scratch> scratch_;
  Matrix partials_;                 // E-step per-block sums (see em_engine.cpp)
  mutable Matrix gate_partials_;    // L-BFGS objective per-block sums
  Matrix rss_partials_;             // variance pass per-block sums
  Vector totals_;                   // reduced E-step sums of the current iterate
  Vector saved_totals_;             // totals_ kept across a speculative E-step
  bool speculative_gate_step_ = true;
  bool fused_kernel_ = true;
  bool speculate_next_ = true;      // the last IRLS took at most one Newton step
  MoeParams params_;
  double log_likelihood_ = 0.0;
  double last_relative_change_;     // of the log-likelihood at the last Step()
  bool finite_ = true;
  Index last_selection_changes_ = 0;
  int variance_floor_hits_ = 0;
  int evaluations_ = 0;
  int empty_expert_events_ = 0;
  int dropped_gate_steps_ = 0;
  int speculative_accepted_ = 0;
  int speculative_trials_reused_ = 0;
};

}  // namespace moelab::detail
