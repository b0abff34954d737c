#include "moelab/estimators/detail/kernel_coefficients.hpp"

#include <cmath>
#include <numbers>

#include "moelab/model/gates/gate.hpp"

namespace moelab::detail {

Matrix MeanCoefficients(const ExpertParams& experts) {
  Matrix M(experts.slope.cols() + 1, experts.intercept.size());
  M.row(0) = experts.intercept.transpose();
  M.bottomRows(experts.slope.cols()) = experts.slope.transpose();
  return M;
}

Matrix LogitCoefficients(const GateParams& gate) {
  const double scale = *GateOf(gate).AffineScale(gate);
  Matrix W(gate.dim() + 1, gate.num_experts());
  W.row(0) = gate.bias.transpose() * scale;
  W.bottomRows(gate.dim()) = gate.slope.transpose() * scale;
  return W;
}

KernelCoefficients::KernelCoefficients(const MoeParams& params)
    : logits(GateOf(params.gate).AffineScale(params.gate) ? LogitCoefficients(params.gate)
                                                          : Matrix()),
      means(MeanCoefficients(params.experts)),
      constant(-0.5 * (std::log(2.0 * std::numbers::pi) + params.experts.variance.array().log())),
      inv_two_var(0.5 / params.experts.variance.array()) {}

AffineBlockInput KernelCoefficients::Input(Index rows, const double* z, Index z_stride,
                                           const double* y, double* r, Index r_stride) const {
  AffineBlockInput in;
  in.rows = rows;
  in.p = means.rows();
  in.k = means.cols();
  in.z = z;
  in.z_stride = z_stride;
  in.w = logits.size() > 0 ? logits.data() : nullptr;
  in.y = y;
  in.means = means.data();
  in.constant = constant.data();
  in.inv_two_var = inv_two_var.data();
  in.r = r;
  in.r_stride = r_stride;
  return in;
}

}  // namespace moelab::detail
