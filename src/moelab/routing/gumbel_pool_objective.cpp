#include "moelab/routing/gumbel_pool_objective.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>

#include "moelab/core/check.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/routing/dual_objective.hpp"

namespace moelab {
namespace {
constexpr double kEulerGamma = 0.57721566490153286061;
}

GumbelPoolObjective::GumbelPoolObjective(const Eigen::Ref<const Matrix>& pool_logits, double tau,
                                         Index batch_size)
    : mu_(pool_logits), tau_(tau), batch_size_(batch_size) {
  constexpr const char* kFn = "GumbelPoolObjective";
  if (mu_.rows() < 1 || mu_.cols() < 2) ThrowInvalid(kFn, "pool_logits must be M x E with M >= 1, E >= 2");
  CheckAllFinite(kFn, "pool_logits", mu_);
  CheckPositive(kFn, "tau", tau);
  if (batch_size < 1) ThrowInvalid(kFn, "batch_size must be >= 1");
}

double GumbelPoolObjective::Value(const Eigen::Ref<const Vector>& p) const {
  CheckSize("GumbelPoolObjective::Value", "p", p.size(), mu_.cols());
  double sum = 0.0;
  for (Index m = 0; m < mu_.rows(); ++m) {
    const Vector z = (mu_.row(m).transpose() - p) / tau_;
    sum += tau_ * (LogSumExp(z) + kEulerGamma);
  }
  const double B = static_cast<double>(batch_size_);
  return B * sum / mu_.rows() + B / mu_.cols() * p.sum();
}

Vector GumbelPoolObjective::Gradient(const Eigen::Ref<const Vector>& p) const {
  CheckSize("GumbelPoolObjective::Gradient", "p", p.size(), mu_.cols());
  Vector mean_q = Vector::Zero(mu_.cols());
  for (Index m = 0; m < mu_.rows(); ++m) {
    const Vector z = (mu_.row(m).transpose() - p) / tau_;
    mean_q += (z.array() - LogSumExp(z)).exp().matrix();
  }
  const double B = static_cast<double>(batch_size_);
  return Vector::Constant(mu_.cols(), B / mu_.cols()) - B * mean_q / mu_.rows();
}

Matrix GumbelPoolObjective::Hessian(const Eigen::Ref<const Vector>& p) const {
  CheckSize("GumbelPoolObjective::Hessian", "p", p.size(), mu_.cols());
  Matrix h = Matrix::Zero(mu_.cols(), mu_.cols());
  for (Index m = 0; m < mu_.rows(); ++m) {
    const Vector z = (mu_.row(m).transpose() - p) / tau_;
    const Vector q = (z.array() - LogSumExp(z)).exp().matrix();
    h += Matrix(q.asDiagonal()) - q * q.transpose();
  }
  return static_cast<double>(batch_size_) / (tau_ * mu_.rows()) * h;
}

Vector GumbelPoolObjective::Minimise(int max_iterations) const {
  const Index e = mu_.cols();
  Vector p = Vector::Zero(e);
  const Matrix ones = Matrix::Constant(e, e, 1.0 / e);
  const double tolerance = 1e-10 * static_cast<double>(batch_size_);
  for (int it = 0; it < max_iterations; ++it) {
    const Vector g = Gradient(p);
    if (g.norm() < tolerance) break;
    // Hessian + 11'/E is positive definite on R^E and acts as the Hessian on 1-perp.
    const Matrix h = Hessian(p) + ones * Hessian(p).diagonal().mean();
    Vector step = h.ldlt().solve(g);
    // Backtracking keeps Newton globally convergent.
    double t = 1.0;
    const double f0 = Value(p);
    while (t > 1e-8 && Value(p - t * step) > f0 - 1e-4 * t * g.dot(step)) t *= 0.5;
    p = CentreBias(p - t * step);
  }
  return p;
}

double GumbelPoolObjective::RestrictedStrongConvexity(const Eigen::Ref<const Vector>& p) const {
  Eigen::SelfAdjointEigenSolver<Matrix> solver(Hessian(p));
  // Eigenvalues ascending; the first is 0 (direction 1).
  return solver.eigenvalues()[1];
}

}  // namespace moelab
