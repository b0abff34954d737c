// Shared helper of the gates whose logit is affine in (beta0, beta1):
// s_i = (beta1_i' x + beta0_i) * scale. Not part of the public API.
#pragma once

#include "moelab/core/types.hpp"
#include "moelab/model/gate_params.hpp"

namespace moelab::detail {

// X * beta1' + 1 beta0'   (n x k)
Matrix AffineScores(const GateParams& params, const Eigen::Ref<const Matrix>& X);

// Adds scale * sum_n dlogits(n,i) * (1, x_n) to expert i's packed block.
void AccumulateAffineGradient(const Eigen::Ref<const Matrix>& X, const Matrix& dlogits,
                              double scale, Eigen::Ref<Vector> gradient);

}  // namespace moelab::detail
