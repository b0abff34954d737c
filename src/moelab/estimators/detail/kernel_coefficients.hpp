// A model's coefficients in the layout of the EM kernels (private), shared
// by the EM engine and MoeObjective's fused path. With Z = [1 X] (n x p):
//   expert means      Z M,  M = (b_i; a_i') column i  (p x k),
//   affine-gate logits Z W,  W = c (beta0_i; beta1_i') (p x k, c =
//                      Gate::AffineScale; empty for other gates),
//   log N(y | m_i, nu_i) = constant_i - (y - m_i)^2 inv_two_var_i.
#pragma once

#include "moelab/core/types.hpp"
#include "moelab/estimators/detail/affine_block_kernel.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab::detail {

Matrix MeanCoefficients(const ExpertParams& experts);
// Requires an affine gate (Gate::AffineScale has a value).
Matrix LogitCoefficients(const GateParams& gate);

struct KernelCoefficients {
  explicit KernelCoefficients(const MoeParams& params);

  // The kernel input for `rows` rows of Z (column j at z + j z_stride) and
  // y, with these coefficients (w = W when the gate is affine; a caller with
  // masked logits sets w = nullptr and the logits), responsibilities out to
  // r (stride r_stride).
  AffineBlockInput Input(Index rows, const double* z, Index z_stride, const double* y, double* r,
                         Index r_stride) const;

  Matrix logits;  // W
  Matrix means;   // M
  Eigen::ArrayXd constant, inv_two_var;
};

}  // namespace moelab::detail
