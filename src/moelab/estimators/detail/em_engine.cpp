#include "moelab/estimators/detail/em_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <nlopt.hpp>

#include "moelab/core/log_sum_exp.hpp"
#include "moelab/estimators/free_parameters.hpp"
#include "moelab/estimators/detail/affine_block_kernel.hpp"
#include "moelab/estimators/detail/row_kernels.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab::detail {

struct EmEngine::Scratch {
  SoftmaxIrls::Scratch irls;  // logits, probs, u, v, gram, lse, row_mass, residual
  Matrix joint, aux, aux2;    // B x k (aux, aux2: the gate's block work space)
  Matrix residual;            // B x k, y - Z gamma_i (column-wise E-step)
  Matrix dlogits;             // B x k, generic gates' dQ/ds
  Vector row;                 // k
  std::vector<Index> selected;
  void Resize(Index rows, Index k, Index p) {
    irls.Resize(rows, k, p);
    joint.resize(rows, k);
    residual.resize(rows, k);
    aux.resize(rows, k);
    aux2.resize(rows, k);
    dlogits.resize(rows, k);
    row.resize(k);
    selected.reserve(k);
  }
};

namespace {

// E-step per-block column layout: [ll, Q, selection changes, speculative Q_old,
// gate gradient (m), gate information (m*m), speculative gradient of Q_old (m),
// then per expert the ExpertSumsSize(p) sums of affine_block_kernel.hpp].
constexpr Index kLl = 0, kQ = 1, kChanges = 2, kSpecQ = 3, kGrad = 4;

double MaxAbsChange(const MoeParams& a, const MoeParams& b, bool with_temperature) {
  double change = (PackGate(a.gate, with_temperature) - PackGate(b.gate, with_temperature))
                      .cwiseAbs()
                      .maxCoeff();
  change = std::max(change, (a.experts.slope - b.experts.slope).cwiseAbs().maxCoeff());
  change = std::max(change, (a.experts.intercept - b.experts.intercept).cwiseAbs().maxCoeff());
  change = std::max(change, (a.experts.variance - b.experts.variance).cwiseAbs().maxCoeff());
  return change;
}

}  // namespace

double LikelihoodRoundoff(double log_likelihood) {
  return 1e-10 * std::max(1.0, std::abs(log_likelihood));
}

EmEngine::EmEngine(const Dataset& data, const MoeParams& start, const EmOptions& options,
                   bool fused_kernel)
    : data_(data),
      options_(options),
      n_(data.size()),
      d_(data.dim()),
      p_(data.dim() + 1),
      k_(start.num_experts()),
      gate_(GateOf(start.gate)),
      top_k_(gate_.SparseK(start.gate) > 0),
      affine_(gate_.AffineScale(start.gate).has_value()),
      irls_gate_(false),
      fit_tau_(options.fit_temperature && start.gate.uses_temperature()),
      Z_(data.size(), data.dim() + 1),
      R_(data.size(), start.num_experts()),
      runner_(data.size(), options.num_threads),
      fused_kernel_(fused_kernel && AffineBlockKernelAvailable()),
      params_(start),
      last_relative_change_(std::numeric_limits<double>::infinity()) {
  // Fused IRLS: affine logits with the scale fixed and the reference expert
  // as the gauge (softmax, top-K, temperature with tau fixed).
  irls_gate_ = affine_ && !fit_tau_ && gate_.Gauge(start.gate) == GateGauge::kBiasAndSlope;
  Z_.col(0).setOnes();
  Z_.rightCols(d_) = data.X;
  if (irls_gate_) {
    irls_ = std::make_unique<SoftmaxIrls>(Z_, k_, runner_);
    irls_->set_fused_kernel(fused_kernel_);
    R_previous_.resize(n_, k_);
  }
  scratch_.resize(runner_.num_threads());
  for (auto& s : scratch_) s.Resize(BlockRunner::kRowsPerBlock, k_, p_);
  if (top_k_) selection_.Resize(n_, k_);
  partials_.resize(ExpertOffset() + k_ * ExpertSumsSize(p_), runner_.num_blocks());
  rss_partials_.resize(k_, runner_.num_blocks());
  EStep(params_, false);
  if (top_k_) accepted_selection_ = selection_;
}

EmEngine::~EmEngine() = default;

void EmEngine::EStep(const MoeParams& params, bool speculative) {
  ++evaluations_;
  const GateParams& gate = params.gate;
  const KernelCoefficients coef(params);
  const Matrix& W = coef.logits;  // affine gates only
  const Index m = irls_gate_ ? (k_ - 1) * p_ : 0;
  const Index info_offset = kGrad + m, speculative_offset = info_offset + m * m;
  const Index expert_offset = ExpertOffset(), per_expert = ExpertSumsSize(p_);
  const bool compare = top_k_ && !accepted_selection_.empty();

  const bool fused = irls_gate_ && fused_kernel_;
  runner_.Run([&](Index block, int slot) {
    Scratch& s = scratch_[slot];
    const Index b0 = runner_.BlockBegin(block), B = runner_.BlockSize(block);
    auto Zb = Z_.middleRows(b0, B);
    auto yb = data_.y.segment(b0, B);
    auto logits = s.irls.logits.topRows(B);
    if (fused && !top_k_) {
      // The kernel forms the logits itself.
    } else if (affine_) {
      logits.noalias() = Zb.lazyProduct(W);
    } else {
      gate_.BlockLogits(gate, Zb.rightCols(d_), false, s.aux.topRows(B), s.aux2.topRows(B),
                        logits);
    }
    Index changes = 0;
    if (top_k_) {
      auto ranking = s.aux.topRows(B);
      gate_.BlockRanking(gate, Zb.rightCols(d_), logits, ranking);
      const int K = gate_.SparseK(gate);
      for (Index r = 0; r < B; ++r) {
        s.row = ranking.row(r).transpose();
        TopKIndices(s.row, K, &s.selected);
        selection_.ClearRow(b0 + r);
        for (Index i : s.selected) selection_.Select(b0 + r, i);
        if (compare && !selection_.RowEquals(accepted_selection_, b0 + r)) ++changes;
      }
      selection_.MaskUnselected(b0, logits);
    }
    auto column = partials_.col(block);
    column.setZero();
    column[kChanges] = static_cast<double>(changes);
    if (fused) {
      AffineBlockInput in = coef.Input(B, Z_.data() + b0, n_, data_.y.data() + b0,
                                       R_.data() + b0, n_);
      if (top_k_) {
        in.w = nullptr;
        in.logits = logits.data();
        in.logits_stride = logits.outerStride();
        in.masked = true;
      }
      AffineBlockSums out;
      out.log_likelihood = &column[kLl];
      out.q = &column[kQ];
      out.gradient = column.data() + kGrad;
      out.information = column.data() + info_offset;
      out.experts = column.data() + expert_offset;
      if (speculative) {
        in.r_old = R_previous_.data() + b0;
        in.r_old_stride = n_;
        out.q_old = &column[kSpecQ];
        out.gradient_old = column.data() + speculative_offset;
      }
      AccumulateAffineBlock(in, out);
      return;
    }
    auto probs = s.irls.probs.topRows(B);
    LogSoftmaxRows(logits, probs, s.irls.lse.head(B), top_k_);  // logits := log g
    auto joint = s.joint.topRows(B);
    auto residual = s.residual.topRows(B);
    residual.noalias() = Zb.lazyProduct(coef.means);
    for (Index i = 0; i < k_; ++i) {
      residual.col(i) = yb - residual.col(i);
      joint.col(i).array() = logits.col(i).array() + coef.constant[i] -
                             residual.col(i).array().square() * coef.inv_two_var[i];
    }
    auto Rb = R_.middleRows(b0, B);
    auto log_density = s.irls.lse.head(B);
    LogSoftmaxRows(joint, Rb, log_density, top_k_);

    column[kLl] = log_density.sum();
    if (speculative) {
      // Q_old(trial) and its gradient: SoftmaxIrls::Evaluate at the trial gate
      // with the previous responsibilities (same kernels, same bits).
      auto Rb_old = R_previous_.middleRows(b0, B);
      column[kSpecQ] = WeightedLogSum(Rb_old, logits, top_k_);
      SoftmaxIrls::AccumulateGradient(Zb, Rb_old, probs, s.irls,
                                      column.segment(speculative_offset, m));
    }
    double q = 0.0;
    if (irls_gate_) {
      Eigen::Map<Matrix> information(column.data() + info_offset, m, m);
      SoftmaxIrls::AccumulateBlock(Zb, Rb, logits, probs, top_k_, true, s.irls, &q,
                                   column.segment(kGrad, m), information);
    } else {
      q = WeightedLogSum(Rb, logits, top_k_);
    }
    column[kQ] = q;
    auto weighted_residual = s.irls.residual.head(B);
    for (Index i = 0; i < k_; ++i) {
      const Index base = expert_offset + i * per_expert;
      column[base] = Rb.col(i).sum();
      weighted_residual.array() = Rb.col(i).array() * residual.col(i).array();
      column.segment(base + 1, p_).noalias() = Zb.transpose() * weighted_residual;
      Eigen::Map<Matrix> gram(column.data() + base + 1 + p_, p_, p_);
      AddWeightedGram(Zb, Rb.col(i), s.irls.gram, gram);
      column[base + 1 + p_ + p_ * p_] = weighted_residual.dot(residual.col(i));
    }
  });
  totals_ = partials_.col(0);
  for (Index b = 1; b < runner_.num_blocks(); ++b) totals_ += partials_.col(b);
  log_likelihood_ = totals_[kLl];
  finite_ = std::isfinite(log_likelihood_);
  last_selection_changes_ = static_cast<Index>(totals_[kChanges]);
}

ExpertParams EmEngine::ExpertMStep() {
  // The E-step's sums are about the current means (residuals e_i = y - Z
  // gamma_i): the weighted least-squares step delta_i solves Z'R_i Z delta =
  // Z'R_i e_i, and the new weighted residual sum of squares is e_i'R_i e_i -
  // delta'Z'R_i e_i - no second pass. The subtraction loses about
  // log10(e'Re / rss) digits; where it would lose more than 6 (a start far
  // from the fit, an expert collapsing onto a few points) the exact pass
  // below runs instead, so the variance keeps >= ~10 correct digits.
  constexpr double kMaxCancellation = 1e-6;
  ExpertParams next = params_.experts;
  const Index expert_offset = ExpertOffset(), per_expert = ExpertSumsSize(p_);
  std::vector<char> updated(k_, 0);
  Vector mass(k_), rss(k_);
  bool exact_pass = !fused_kernel_;  // the baseline keeps the earlier two-pass M-step
  for (Index i = 0; i < k_; ++i) {
    const Index base = expert_offset + i * per_expert;
    mass[i] = totals_[base];
    if (!(mass[i] > 0.0) || mass[i] < options_.min_expert_mass * static_cast<double>(n_)) {
      ++empty_expert_events_;
      continue;
    }
    const Eigen::Map<const Vector> rhs(totals_.data() + base + 1, p_);
    const Eigen::Map<const Matrix> gram(totals_.data() + base + 1 + p_, p_, p_);
    const double residual_ss = totals_[base + 1 + p_ + p_ * p_];
    Vector delta;
    Eigen::LDLT<Matrix> ldlt(gram);
    const auto pivots = ldlt.vectorD();
    if (ldlt.info() == Eigen::Success &&
        pivots.minCoeff() > 1e-12 * std::max(pivots.cwiseAbs().maxCoeff(), 1e-300)) {
      delta = ldlt.solve(rhs);
    } else {
      // Ill-conditioned (e.g. all mass on one x): a basic least-squares
      // solution, whose residual sum of squares the exact pass computes.
      delta = Eigen::ColPivHouseholderQR<Matrix>(gram).solve(rhs);
      exact_pass = true;
    }
    if (!delta.allFinite()) {
      ++empty_expert_events_;
      continue;
    }
    next.intercept[i] += delta[0];
    next.slope.row(i) += delta.tail(d_).transpose();
    rss[i] = residual_ss - delta.dot(rhs);
    if (!(rss[i] >= kMaxCancellation * residual_ss)) exact_pass = true;
    updated[i] = 1;
  }
  if (exact_pass) ExactResidualSums(next, &rss);
  for (Index i = 0; i < k_; ++i) {
    if (!updated[i]) continue;
    double variance = rss[i] / mass[i];
    if (!(variance >= options_.variance_floor)) {
      variance = options_.variance_floor;
      ++variance_floor_hits_;
    }
    next.variance[i] = variance;
  }
  return next;
}

void EmEngine::ExactResidualSums(const ExpertParams& experts, Vector* rss) {
  // A pass over the data: sum_n r_ni (y_n - z_n' gamma_i)^2 at the new coefficients.
  const Matrix means_coef = MeanCoefficients(experts);
  runner_.Run([&](Index block, int slot) {
    Scratch& s = scratch_[slot];
    const Index b0 = runner_.BlockBegin(block), B = runner_.BlockSize(block);
    if (fused_kernel_) {
      AffineBlockInput in;
      in.rows = B;
      in.p = p_;
      in.k = k_;
      in.z = Z_.data() + b0;
      in.z_stride = n_;
      in.y = data_.y.data() + b0;
      in.means = means_coef.data();
      in.r = R_.data() + b0;
      in.r_stride = n_;
      auto block_rss = rss_partials_.col(block);
      block_rss.setZero();
      AccumulateExpertRss(in, block_rss.data());
      return;
    }
    auto means = s.joint.topRows(B);
    means.noalias() = Z_.middleRows(b0, B).lazyProduct(means_coef);
    auto yb = data_.y.segment(b0, B).array();
    for (Index i = 0; i < k_; ++i) {
      rss_partials_(i, block) =
          (R_.col(i).segment(b0, B).array() * (yb - means.col(i).array()).square()).sum();
    }
  });
  *rss = rss_partials_.col(0);
  for (Index b = 1; b < runner_.num_blocks(); ++b) *rss += rss_partials_.col(b);
}

namespace {

// IRLS reduced coordinates (softmax_irls.hpp) <-> gate: w = c beta with the
// gate's affine scale c (1/tau for the temperature gate, else 1).
double IrlsScale(const GateParams& gate) { return *GateOf(gate).AffineScale(gate); }

Vector IrlsCoordinates(const GateParams& gate, Index p) {
  const Index k = gate.num_experts(), d = p - 1;
  const double scale = IrlsScale(gate);
  Vector w((k - 1) * p);
  for (Index i = 0; i + 1 < k; ++i) {
    w[i * p] = gate.bias[i] * scale;
    w.segment(i * p + 1, d) = gate.slope.row(i).transpose() * scale;
  }
  return w;
}

void SetIrlsCoordinates(const Vector& w, Index p, GateParams* gate) {
  const Index k = gate->num_experts(), d = p - 1;
  const double scale = IrlsScale(*gate);
  for (Index i = 0; i + 1 < k; ++i) {
    gate->bias[i] = w[i * p] / scale;
    gate->slope.row(i) = w.segment(i * p + 1, d).transpose() / scale;
  }
}

}  // namespace

int EmEngine::GateNewtonCap() const {
  // Generalised EM: one (or a few) Newton steps already raise Q, which is all
  // monotonicity needs; far from the optimum a full solve of the M-step for
  // responsibilities that are about to change costs passes and buys little.
  // Near convergence (relative change <= 1e-6) the full solve costs about
  // one Newton step anyway and makes the end of the fit that of exact EM.
  constexpr double kFullSolveBelow = 1e-6;
  if (options_.gate_newton_steps > 0 && last_relative_change_ > kFullSolveBelow) {
    return std::min(options_.gate_newton_steps, options_.gate_max_iterations);
  }
  return options_.gate_max_iterations;
}

Index EmEngine::ExpertOffset() const {
  const Index m = irls_gate_ ? (k_ - 1) * p_ : 0;
  return kGrad + m + m * m + m;
}

EmEngine::Speculation EmEngine::TrySpeculativeGateStep(MoeParams* candidate,
                                                       SoftmaxIrls::Evaluation* trial) {
  const Index m = (k_ - 1) * p_;
  // A top-K trial is only usable when no selection switches (Q_old uses the
  // frozen selection); skip it while selections are still moving.
  if (!speculative_gate_step_ || !speculate_next_ || m == 0 ||
      (top_k_ && last_selection_changes_ > 0)) {
    return Speculation::kNotTried;
  }
  // SoftmaxIrls::Maximise's first iteration, from the E-step's evaluation.
  const double q0 = totals_[kQ];
  const double scale = options_.gate_tolerance * std::max(1.0, std::abs(q0));
  const Vector gradient = totals_.segment(kGrad, m);
  const Matrix information = Eigen::Map<const Matrix>(totals_.data() + kGrad + m, m, m);
  Vector delta(m);
  if (gradient.cwiseAbs().maxCoeff() == 0.0 || !NewtonDirection(information, gradient, &delta) ||
      0.5 * gradient.dot(delta) <= scale) {
    return Speculation::kNotTried;  // IRLS keeps the gate without a pass.
  }
  MoeParams trial_params = *candidate;
  SetIrlsCoordinates(IrlsCoordinates(params_.gate, p_) + 1.0 * delta, p_, &trial_params.gate);
  R_.swap(R_previous_);
  saved_totals_.swap(totals_);
  const double saved_ll = log_likelihood_;
  const bool saved_finite = finite_;
  const Index saved_changes = last_selection_changes_;
  EStep(trial_params, true);
  const double q_trial = totals_[kSpecQ];
  // Maximise accepts the full step when Q did not fall and stops when the
  // increase is within tolerance (or after its only allowed iteration).
  const bool valid = !top_k_ || last_selection_changes_ == 0;
  if (valid && std::isfinite(q_trial) && q_trial >= q0 &&
      (q_trial - q0 <= scale || GateNewtonCap() == 1)) {
    *candidate = std::move(trial_params);
    ++speculative_accepted_;
    return Speculation::kAccepted;
  }
  // IRLS goes on: hand it the trial's evaluation. The information is the
  // E-step's; it depends on R only through the row sums R_n = 1 (round-off).
  // The E-step at the trial is kept: it is final if IRLS ends at the trial.
  if (valid) {
    ++speculative_trials_reused_;
    trial->q = q_trial;
    trial->gradient = totals_.segment(kGrad + m + m * m, m);
    trial->information = Eigen::Map<const Matrix>(totals_.data() + kGrad + m, m, m);
    *candidate = std::move(trial_params);
    return Speculation::kTrialEvaluated;
  }
  R_.swap(R_previous_);
  saved_totals_.swap(totals_);
  log_likelihood_ = saved_ll;
  finite_ = saved_finite;
  last_selection_changes_ = saved_changes;
  return Speculation::kNotTried;
}

GateParams EmEngine::GateMStepIrls(const Matrix& R, const Vector& totals,
                                  const SoftmaxIrls::Evaluation* first_trial,
                                  int* newton_steps) {
  *newton_steps = 0;
  GateParams next = params_.gate;
  if (k_ < 2) return next;
  const Index m = (k_ - 1) * p_;
  Vector w = IrlsCoordinates(next, p_);
  SoftmaxIrls::Evaluation start;
  start.q = totals[kQ];
  start.gradient = totals.segment(kGrad, m);
  start.information = Eigen::Map<const Matrix>(totals.data() + kGrad + m, m, m);
  irls_->set_mask(top_k_ ? &accepted_selection_ : nullptr);
  *newton_steps = irls_->Maximise(R, &w, &start, GateNewtonCap(),
                                  options_.gate_tolerance, first_trial)
                      .iterations;
  SetIrlsCoordinates(w, p_, &next);
  return next;
}

double EmEngine::GateObjectiveAndGradient(const GateParams& gate, bool with_temperature,
                                          Vector* gradient) const {
  const bool with_tau = with_temperature && gate.uses_temperature();
  const Index size = PackedGateSize(k_, d_, with_tau);
  if (gate_partials_.rows() != 1 + size) gate_partials_.resize(1 + size, runner_.num_blocks());
  const Matrix W = affine_ ? LogitCoefficients(gate) : Matrix();
  const double inv_tau = affine_ ? *gate_.AffineScale(gate) : 1.0;  // ds/d(beta) = c z
  runner_.Run([&](Index block, int slot) {
    Scratch& s = scratch_[slot];
    const Index b0 = runner_.BlockBegin(block), B = runner_.BlockSize(block);
    auto Zb = Z_.middleRows(b0, B);
    auto Rb = R_.middleRows(b0, B);
    auto logits = s.irls.logits.topRows(B);
    auto act = s.aux.topRows(B);
    auto act_derivative = s.aux2.topRows(B);
    auto raw = s.joint.topRows(B);
    if (affine_) {
      logits.noalias() = Zb.lazyProduct(W);
      raw = logits;
    } else {
      gate_.BlockLogits(gate, Zb.rightCols(d_), true, act, act_derivative, logits);
    }
    if (top_k_) {
      // The selection of the current iterate stays frozen (as for IRLS).
      accepted_selection_.MaskUnselected(b0, logits);
    }
    auto probs = s.irls.probs.topRows(B);
    LogSoftmaxRows(logits, probs, s.irls.lse.head(B), top_k_);
    auto column = gate_partials_.col(block);
    column.setZero();
    column[0] = WeightedLogSum(Rb, logits, top_k_);
    auto mass = s.irls.row_mass.head(B);
    mass = Rb.rowwise().sum();
    if (!affine_) {
      auto dlogits = s.dlogits.topRows(B);  // dQ/ds_ni = r_ni - R_n g_ni
      for (Index i = 0; i < k_; ++i) {
        dlogits.col(i).array() = Rb.col(i).array() - mass.array() * probs.col(i).array();
      }
      gate_.AccumulateBlockGradient(gate, Zb.rightCols(d_), act, act_derivative, dlogits,
                                    with_tau, column.segment(1, size));
      return;
    }
    auto residual = s.irls.residual.head(B);  // dQ/ds_ni = r_ni - R_n g_ni
    for (Index i = 0; i < k_; ++i) {
      residual.array() = Rb.col(i).array() - mass.array() * probs.col(i).array();
      column.segment(1 + i * p_, p_).noalias() += inv_tau * Zb.transpose() * residual;
      if (with_tau) column[size] -= residual.dot(raw.col(i));
    }
  });
  Vector total = gate_partials_.col(0);
  for (Index b = 1; b < runner_.num_blocks(); ++b) total += gate_partials_.col(b);
  *gradient = total.tail(size);
  return total[0];
}

namespace {

struct LbfgsContext {
  const EmEngine* engine;
  GateParams gate;
  Vector packed;
  const std::vector<Index>* free;
  bool with_tau;
  double best_q;
  Vector best_packed;
  Vector gradient;
};

double NegativeGateObjective(unsigned size, const double* x, double* grad, void* data) {
  auto& c = *static_cast<LbfgsContext*>(data);
  for (unsigned j = 0; j < size; ++j) c.packed[(*c.free)[j]] = x[j];
  // A line-search step to |log tau| >= 700 is no model (tau overflows to inf
  // or underflows to 0): reject it like a non-finite Q.
  if (c.with_tau && !(std::abs(c.packed[c.packed.size() - 1]) < 700.0)) {
    if (grad != nullptr) std::fill(grad, grad + size, 0.0);
    return 1e300;
  }
  UnpackGate(c.packed, c.with_tau, &c.gate);
  const double q = c.engine->GateObjectiveAndGradient(c.gate, c.with_tau, &c.gradient);
  if (!std::isfinite(q) || !c.gradient.allFinite()) {
    if (grad != nullptr) std::fill(grad, grad + size, 0.0);
    return 1e300;  // Rejected point; L-BFGS backtracks or stops.
  }
  if (q > c.best_q) {
    c.best_q = q;
    c.best_packed = c.packed;
  }
  if (grad != nullptr) {
    for (unsigned j = 0; j < size; ++j) grad[j] = -c.gradient[(*c.free)[j]];
  }
  return -q;
}

}  // namespace

GateParams EmEngine::GateMStepLbfgs() const {
  const GateParams& current = params_.gate;
  const std::vector<Index> free = FreeGateEntries(current, fit_tau_);
  if (free.empty()) return current;
  LbfgsContext context{this, current, PackGate(current, fit_tau_), &free, fit_tau_,
                       totals_[kQ], PackGate(current, fit_tau_), Vector()};
  std::vector<double> x(free.size());
  for (std::size_t j = 0; j < free.size(); ++j) x[j] = context.packed[free[j]];
  nlopt::opt opt(nlopt::LD_LBFGS, static_cast<unsigned>(free.size()));
  opt.set_min_objective(NegativeGateObjective, &context);
  opt.set_ftol_rel(options_.gate_tolerance);
  opt.set_maxeval(options_.gate_max_iterations);
  double value = 0.0;
  try {
    opt.optimize(x, value);
  } catch (const std::exception&) {
    // Round-off limited or failed line search: the best point seen is kept.
  }
  GateParams next = current;
  if (context.best_q > totals_[kQ]) UnpackGate(context.best_packed, fit_tau_, &next);
  return next;
}

EmEngine::StepReport EmEngine::Step() {
  StepReport report;
  MoeParams candidate = params_;
  candidate.experts = ExpertMStep();
  const double previous = log_likelihood_;
  const double roundoff = LikelihoodRoundoff(previous);
  if (irls_gate_) {
    SoftmaxIrls::Evaluation trial;
    const Speculation speculation = TrySpeculativeGateStep(&candidate, &trial);
    int newton_steps = 1;
    if (speculation == Speculation::kNotTried) {
      candidate.gate = GateMStepIrls(R_, totals_, nullptr, &newton_steps);
      EStep(candidate, false);
    } else if (speculation == Speculation::kTrialEvaluated) {
      // R_ and totals_ hold the E-step at the trial; IRLS works on the previous R.
      const GateParams gate = GateMStepIrls(R_previous_, saved_totals_, &trial, &newton_steps);
      if (!(PackGate(gate, false) == PackGate(candidate.gate, false))) {
        candidate.gate = gate;
        EStep(candidate, false);
      }
    }
    // When IRLS went past its first trial, the fused E-step was one pass too
    // many (the E-step costs more than an IRLS evaluation); speculate again
    // once IRLS is back to at most one Newton step.
    speculate_next_ = newton_steps <= 1;
  } else {
    candidate.gate = GateMStepLbfgs();
    EStep(candidate, false);
  }
  if (finite_ && top_k_ && log_likelihood_ < previous - roundoff) {
    // docs/theory.md §6.2: the selection switched and the observed likelihood fell. Halve the
    // gate step; with the old gate the selection is the old one and the
    // (generalised) EM step cannot lower the likelihood.
    const GateParams target = candidate.gate;
    const GateParams& old = params_.gate;
    bool accepted = false;
    double alpha = 1.0;
    for (int h = 0; h < 10 && !accepted; ++h) {
      alpha *= 0.5;
      candidate.gate.bias = old.bias + alpha * (target.bias - old.bias);
      candidate.gate.slope = old.slope + alpha * (target.slope - old.slope);
      EStep(candidate, false);
      ++report.gate_backtracks;
      accepted = finite_ && log_likelihood_ >= previous - roundoff;
    }
    if (!accepted) {
      candidate.gate = old;
      EStep(candidate, false);
      report.gate_step_dropped = true;
      ++dropped_gate_steps_;
    }
  }
  if (!finite_) {
    report.finite = false;
    log_likelihood_ = previous;  // params_ is still the last finite iterate.
    report.log_likelihood = previous;
    return report;
  }
  last_relative_change_ = std::abs(log_likelihood_ - previous) /
                          std::max(std::abs(previous), std::numeric_limits<double>::min());
  report.parameter_change = MaxAbsChange(params_, candidate, fit_tau_);
  report.selection_changes = last_selection_changes_;
  report.log_likelihood = log_likelihood_;
  params_ = std::move(candidate);
  if (top_k_) std::swap(selection_, accepted_selection_);
  return report;
}

}  // namespace moelab::detail
