// Newton / IRLS for the softmax gate M-step (private; docs/theory.md §6.1).
//
// Maximises Q(w) = sum_n sum_i r_ni log pi_ni(w),  pi_n = softmax(s_n),
// s_ni = w_i' z_n for i < k-1 and s_n,k-1 = 0 (reference expert: the gauge),
// z_n = (1, x_n')'. Reduced coordinates: w has (k-1) p entries, p = d + 1,
// expert i occupying [i p, (i+1) p) as (w0_i, w1_i, ..., wd_i) - the packed gate
// layout of gates/gate.hpp without the reference block. With R_n = sum_i r_ni:
//
//   gradient     g_i  = sum_n (r_ni - R_n pi_ni) z_n
//   information  I_il = -d2Q/dw_i dw_l = sum_n R_n pi_ni (delta_il - pi_nl) z_n z_n'
//
// I is positive semi-definite; the Newton step solves I delta = g by LDLT,
// adding a small ridge (1e-8 x the largest pivot, growing) when I is singular
// (e.g. an expert that a frozen top-K selection never picks: its block is 0
// and so is its gradient, so it does not move). The step is halved while Q
// does not increase, so Q never decreases - what generalised EM needs.
//
// A frozen selection (top-K, docs/theory.md §6.2) restricts the softmax to the selected
// experts: unselected logits are -inf and drop out of every sum.
//
// Work runs over the fixed row blocks of a BlockRunner; partial sums are
// reduced in block order, so results do not depend on the thread count. An
// instance keeps scratch space: do not call it from two threads at once.
#pragma once

#include <vector>

#include "moelab/core/types.hpp"
#include "moelab/estimators/detail/block_runner.hpp"
#include "moelab/estimators/detail/selection_mask.hpp"

namespace moelab::detail {

class SoftmaxIrls {
 public:
  struct Evaluation {
    double q = 0.0;
    Vector gradient;     // (k-1) p
    Matrix information;  // (k-1) p square, -Hessian (filled when asked)
  };
  struct Outcome {
    int iterations = 0;   // Newton steps accepted
    int evaluations = 0;  // passes over the data
    bool converged = false;
    double q = 0.0;
  };
  // Per-thread block scratch (also used by the EM E-step).
  struct Scratch {
    Matrix logits, probs, gram, pair;
    Vector lse, row_mass, residual;
    void Resize(Index rows, Index k, Index p);
  };

  // Z (n x p) must outlive the instance.
  SoftmaxIrls(const Matrix& Z, Index num_experts, const BlockRunner& runner);

  // Frozen selection (nullptr: every expert selected). Must outlive its use.
  void set_mask(const SelectionMask* mask) { mask_ = mask; }
  // Evaluate through the fused chunk kernel (affine_block_kernel.hpp; the
  // default where available) or the column-wise AccumulateBlock (off).
  void set_fused_kernel(bool on);

  Evaluation Evaluate(const Eigen::Ref<const Matrix>& R, const Vector& w,
                      bool with_information) const;

  // Newton iterations from *w (updated in place). `at_start`, when given,
  // must be Evaluate(R, *w, true) (the EM E-step computes it for free);
  // `first_trial`, when given, must be Evaluate(R, *w + delta, true) for the
  // first Newton direction delta (the EM engine's speculative E-step computes
  // it). Both only save passes over the data; the iterates are the same.
  Outcome Maximise(const Eigen::Ref<const Matrix>& R, Vector* w, const Evaluation* at_start,
                   int max_iterations, double tolerance,
                   const Evaluation* first_trial = nullptr) const;

  // Block kernel: adds the block's Q, gradient and (optionally) information to
  // the outputs, given its responsibilities Rb and log g / g (B x k). Used by
  // Evaluate and by the EM E-step.
  static void AccumulateBlock(const Eigen::Ref<const Matrix>& Zb,
                              const Eigen::Ref<const Matrix>& Rb,
                              const Eigen::Ref<const Matrix>& log_g,
                              const Eigen::Ref<const Matrix>& g, bool has_neg_inf,
                              bool with_information, Scratch& scratch, double* q,
                              Eigen::Ref<Vector> gradient, Eigen::Ref<Matrix> information);

  // The gradient part of AccumulateBlock alone: gradient += sum_n (r_ni - R_n g_ni) z_n.
  static void AccumulateGradient(const Eigen::Ref<const Matrix>& Zb,
                                 const Eigen::Ref<const Matrix>& Rb,
                                 const Eigen::Ref<const Matrix>& g, Scratch& scratch,
                                 Eigen::Ref<Vector> gradient);

  // The p x k logit matrix (column k-1 zero) of reduced coordinates w.
  static Matrix LogitMatrix(const Vector& w, Index num_experts, Index p);

 private:
  const Matrix& Z_;
  Index k_, p_, m_;
  const BlockRunner& runner_;
  const SelectionMask* mask_ = nullptr;
  bool fused_kernel_;
  mutable std::vector<Scratch> scratch_;
  mutable Matrix partials_;  // (1 + m + m*m) x blocks
};

// Solves information * delta = gradient (LDLT with a growing ridge when the
// information is singular). Returns false if no ascent direction was found.
bool NewtonDirection(const Matrix& information, const Vector& gradient, Vector* delta);

}  // namespace moelab::detail
