// Least-squares estimation of the MoE mean function through Ceres ([LSE],
// docs/theory.md §4.5).
//
// The regression view of the model: y_n = f_G(x_n) + noise with the mean
// function
//
//   f_G(x) = sum_i g_i(x) (a_i' x + b_i),
//
// and G_hat = argmin_G sum_n (y_n - f_G(x_n))^2 over the gate parameters and
// the expert means (a_i, b_i). The gate's temperature (if any) is held at its
// starting value and the gauge is fixed as in MoeObjective: the reference
// (last) expert's gate entries are 0 (only its beta0 for a non-linear
// activation gate). Any gate kind works through the gate interface; for top-K
// the Jacobian treats the selection as frozen (the sum of squares jumps where
// it switches), so the softmax gate is the intended use.
//
// Residual blocks: the n residuals are grouped into blocks of
// kRowsPerResidualBlock rows, each one analytic ceres::CostFunction over the
// single packed parameter block. The Jacobian row of sample n is
//   d f / d s_nj = g_nj (m_nj - f_n)   (s = gate logits, m = expert means)
// contracted with ds/dtheta by the gate's AccumulateLogitGradient, and
//   d f / d b_i = g_ni,  d f / d a_i = g_ni x_n.
// Why blocks: one cost function per sample (especially with autodiff) costs a
// virtual call, a parameter-block lookup and a small allocation per sample
// and per iteration, which dominates at n = 10^5; one cost function for all n
// makes Ceres hold a single n x P block. Blocks of a few hundred rows keep
// the per-block overhead negligible and the blocks cache-sized. The dense QR
// solver is used: there is one parameter block of P = O(k d) entries.
//
// The expert variances are not identified by least squares. The result sets
// every expert's variance to the mean squared residual RSS / n (floored at
// variance_floor * Var(y), variance_floor.hpp, so the density stays defined
// on an exact fit), so
// that FitResult.log_likelihood, the observed MoE log-likelihood at the
// returned parameters, is defined. FitResult.objective = RSS (the sum of
// squared residuals, not Ceres' cost RSS / 2); FitResult.message = Ceres'
// BriefReport(). In the history, log_likelihood holds the Gaussian regression
// log-likelihood of the mean fit, -n/2 (log(2 pi RSS/n) + 1), a monotone
// transform of the cost.
//
// Termination: Ceres CONVERGENCE -> kConverged; NO_CONVERGENCE (iteration
// cap) -> kMaxIterations; USER_SUCCESS after the callback's kStop ->
// kUserStopped; FAILURE or USER_FAILURE -> kNumericalFailure (parameters: the
// start, or Ceres' last accepted iterate when it has one). A non-finite
// residual at the start is reported as kNumericalFailure without calling
// Ceres.
#pragma once

#include "moelab/core/dataset.hpp"
#include "moelab/core/termination.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/estimators/variance_floor.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct LseCeresOptions {
  int max_iterations = 500;            // >= 1; Levenberg-Marquardt iterations
  double function_tolerance = 1e-12;   // >= 0; Ceres: |d cost| / cost
  double gradient_tolerance = 1e-12;   // >= 0; Ceres: max-norm of the projected gradient
  double parameter_tolerance = 1e-10;  // >= 0; Ceres: |dx| / (|x| + tol)
  double variance_floor = kDefaultVarianceFloor;  // in (0, 1); the common variance
                                       // >= variance_floor * Var(y) (variance_floor.hpp)
  bool record_history = false;         // keep one IterationSummary per Ceres iteration
  IterationCallback callback;          // sees every Ceres iteration; kStop ends the fit

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

// Number of rows per Ceres residual block (see the header comment).
inline constexpr Index kRowsPerResidualBlock = 256;

// Fits the mean function by non-linear least squares from `init` (its
// variances are ignored except for validation). Throws std::invalid_argument
// for bad options, NaN/Inf data, mismatched sizes, an invalid init, or fewer
// observations than free mean parameters, or constant y. Numerical trouble is
// reported in the result, never thrown. FitResult.estimator = "lse-ceres".
// Fits standardised data like FitEm (scale-equivariant; detail/fit_input.hpp).
FitResult FitLseCeres(const Dataset& data, const MoeParams& init,
                      const LseCeresOptions& options);

}  // namespace moelab
