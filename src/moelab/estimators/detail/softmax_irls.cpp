#include "moelab/estimators/detail/softmax_irls.hpp"

#include <algorithm>
#include <cmath>

#include "moelab/core/log_sum_exp.hpp"
#include "moelab/estimators/detail/affine_block_kernel.hpp"
#include "moelab/estimators/detail/row_kernels.hpp"

namespace moelab::detail {

void SoftmaxIrls::Scratch::Resize(Index rows, Index k, Index p) {
  logits.resize(rows, k);
  probs.resize(rows, k);
  gram.resize(rows, 1);
  pair.resize(p, p);
  lse.resize(rows);
  row_mass.resize(rows);
  residual.resize(rows);
}

SoftmaxIrls::SoftmaxIrls(const Matrix& Z, Index num_experts, const BlockRunner& runner)
    : Z_(Z),
      k_(num_experts),
      p_(Z.cols()),
      m_((num_experts - 1) * Z.cols()),
      runner_(runner),
      fused_kernel_(AffineBlockKernelAvailable()) {
  scratch_.resize(runner.num_threads());
  for (auto& s : scratch_) s.Resize(BlockRunner::kRowsPerBlock, k_, p_);
  partials_.resize(1 + m_ + m_ * m_, runner.num_blocks());
}

void SoftmaxIrls::set_fused_kernel(bool on) { fused_kernel_ = on && AffineBlockKernelAvailable(); }

Matrix SoftmaxIrls::LogitMatrix(const Vector& w, Index num_experts, Index p) {
  Matrix W = Matrix::Zero(p, num_experts);
  for (Index i = 0; i + 1 < num_experts; ++i) W.col(i) = w.segment(i * p, p);
  return W;
}

void SoftmaxIrls::AccumulateBlock(const Eigen::Ref<const Matrix>& Zb,
                                  const Eigen::Ref<const Matrix>& Rb,
                                  const Eigen::Ref<const Matrix>& log_g,
                                  const Eigen::Ref<const Matrix>& g, bool has_neg_inf,
                                  bool with_information, Scratch& s, double* q,
                                  Eigen::Ref<Vector> gradient, Eigen::Ref<Matrix> information) {
  const Index B = Zb.rows(), k = Rb.cols(), p = Zb.cols();
  *q += WeightedLogSum(Rb, log_g, has_neg_inf);
  AccumulateGradient(Zb, Rb, g, s, gradient);
  if (!with_information) return;
  auto mass = s.row_mass.head(B);  // from AccumulateGradient
  auto residual = s.residual.head(B);
  // Block (i, l) of the information is sum_n R_n (delta_il pi_ni - pi_ni pi_nl) z_n z_n':
  // one weighted Gram per pair i <= l (the weight is a scalar per row).
  auto pair = s.pair.topLeftCorner(p, p);
  for (Index i = 0; i + 1 < k; ++i) {
    residual.array() = mass.array() * g.col(i).array() * (1.0 - g.col(i).array());
    AddWeightedGram(Zb, residual, s.gram, information.block(i * p, i * p, p, p));
    for (Index l = i + 1; l + 1 < k; ++l) {
      residual.array() = -(mass.array() * g.col(i).array() * g.col(l).array());
      pair.setZero();
      AddWeightedGram(Zb, residual, s.gram, pair);
      information.block(i * p, l * p, p, p) += pair;
      information.block(l * p, i * p, p, p) += pair;
    }
  }
}

void SoftmaxIrls::AccumulateGradient(const Eigen::Ref<const Matrix>& Zb,
                                     const Eigen::Ref<const Matrix>& Rb,
                                     const Eigen::Ref<const Matrix>& g, Scratch& s,
                                     Eigen::Ref<Vector> gradient) {
  const Index B = Zb.rows(), k = Rb.cols(), p = Zb.cols();
  auto mass = s.row_mass.head(B);
  mass = Rb.rowwise().sum();
  auto residual = s.residual.head(B);
  for (Index i = 0; i + 1 < k; ++i) {
    residual.array() = Rb.col(i).array() - mass.array() * g.col(i).array();
    gradient.segment(i * p, p).noalias() += Zb.transpose() * residual;
  }
}

SoftmaxIrls::Evaluation SoftmaxIrls::Evaluate(const Eigen::Ref<const Matrix>& R, const Vector& w,
                                              bool with_information) const {
  const Matrix W = LogitMatrix(w, k_, p_);
  const bool masked = mask_ != nullptr;
  runner_.Run([&](Index block, int slot) {
    Scratch& s = scratch_[slot];
    const Index b0 = runner_.BlockBegin(block), B = runner_.BlockSize(block);
    auto Zb = Z_.middleRows(b0, B);
    auto logits = s.logits.topRows(B);
    auto column = partials_.col(block);
    column.setZero();
    if (!fused_kernel_ || masked) {
      logits.noalias() = Zb.lazyProduct(W);  // as in the EM E-step (same bits)
    }
    if (masked) mask_->MaskUnselected(b0, logits);
    if (fused_kernel_) {
      AffineBlockInput in;
      in.rows = B;
      in.p = p_;
      in.k = k_;
      in.z = Z_.data() + b0;
      in.z_stride = Z_.rows();
      if (masked) {
        in.logits = logits.data();
        in.logits_stride = logits.outerStride();
        in.masked = true;
      } else {
        in.w = W.data();
      }
      in.r_given = R.data() + b0;
      in.r_stride = R.outerStride();
      in.with_information = with_information;
      AffineBlockSums out;
      out.q = &column[0];
      out.gradient = column.data() + 1;
      out.information = column.data() + 1 + m_;
      AccumulateAffineBlock(in, out);
      return;
    }
    auto probs = s.probs.topRows(B);
    LogSoftmaxRows(logits, probs, s.lse.head(B), masked);
    double q = 0.0;
    Eigen::Map<Matrix> information(column.data() + 1 + m_, m_, m_);
    AccumulateBlock(Zb, R.middleRows(b0, B), logits, probs, masked, with_information, s, &q,
                    column.segment(1, m_), information);
    column[0] = q;
  });
  Vector total = partials_.col(0);
  for (Index b = 1; b < runner_.num_blocks(); ++b) total += partials_.col(b);
  Evaluation e;
  e.q = total[0];
  e.gradient = total.segment(1, m_);
  if (with_information) {
    e.information = Eigen::Map<const Matrix>(total.data() + 1 + m_, m_, m_);
  }
  return e;
}

bool NewtonDirection(const Matrix& information, const Vector& gradient, Vector* delta) {
  const Index m = gradient.size();
  Eigen::LDLT<Matrix> ldlt(information);
  const auto pivots = ldlt.vectorD();
  const double largest = std::max(pivots.cwiseAbs().maxCoeff(), 1e-300);
  if (ldlt.info() == Eigen::Success && pivots.minCoeff() > 1e-12 * largest) {
    *delta = ldlt.solve(gradient);
    if (delta->allFinite() && gradient.dot(*delta) > 0.0) return true;
  }
  // Singular or indefinite (round-off): ridge 1e-8 x largest pivot, growing.
  double ridge = 1e-8 * largest;
  for (int attempt = 0; attempt < 12; ++attempt, ridge *= 100.0) {
    ldlt.compute(information + ridge * Matrix::Identity(m, m));
    if (ldlt.info() != Eigen::Success) continue;
    *delta = ldlt.solve(gradient);
    if (delta->allFinite() && gradient.dot(*delta) > 0.0) return true;
  }
  return false;
}

SoftmaxIrls::Outcome SoftmaxIrls::Maximise(const Eigen::Ref<const Matrix>& R, Vector* w,
                                           const Evaluation* at_start, int max_iterations,
                                           double tolerance,
                                           const Evaluation* first_trial) const {
  Outcome outcome;
  Evaluation current;
  if (at_start != nullptr) {
    current = *at_start;
  } else {
    current = Evaluate(R, *w, true);
    ++outcome.evaluations;
  }
  outcome.q = current.q;
  if (m_ == 0) {
    outcome.converged = true;
    return outcome;
  }
  Vector delta(m_);
  for (int it = 0; it < max_iterations; ++it) {
    const double scale = tolerance * std::max(1.0, std::abs(current.q));
    if (current.gradient.cwiseAbs().maxCoeff() == 0.0 ||
        !NewtonDirection(current.information, current.gradient, &delta)) {
      outcome.converged = true;
      break;
    }
    // Predicted increase of the quadratic model: g' delta / 2.
    if (0.5 * current.gradient.dot(delta) <= scale) {
      outcome.converged = true;
      break;
    }
    double step = 1.0;
    bool accepted = false;
    Evaluation trial;
    for (int halving = 0; halving < 30; ++halving, step *= 0.5) {
      const Vector w_trial = *w + step * delta;
      if (it == 0 && halving == 0 && first_trial != nullptr) {
        trial = *first_trial;
      } else {
        trial = Evaluate(R, w_trial, true);
        ++outcome.evaluations;
      }
      if (std::isfinite(trial.q) && trial.q >= current.q) {
        *w = w_trial;
        accepted = true;
        break;
      }
    }
    if (!accepted) break;  // Round-off limited: keep the best iterate.
    ++outcome.iterations;
    const double increase = trial.q - current.q;
    current = std::move(trial);
    outcome.q = current.q;
    if (increase <= scale) {
      outcome.converged = true;
      break;
    }
  }
  return outcome;
}

}  // namespace moelab::detail
