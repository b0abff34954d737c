// Standard errors of a maximum-likelihood fit, computed independently of the
// estimators: the observed information (Hessian of the negative
// log-likelihood) by central differences of MoeObjective's analytic
// gradient, inverted. Tests use them to derive tolerances from the problem.
#pragma once

#include "moelab/core/dataset.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab::testing {

// Standard errors of the packed free parameters of MoeObjective(data, at)
// (free gate entries, then per expert intercept, slopes, log variance) at
// `at`. Entries are NaN when the information is not positive definite.
Vector StandardErrors(const Dataset& data, const MoeParams& at);

// The packed free parameters of `params` in the same layout.
Vector PackedParameters(const Dataset& data, const MoeParams& params);

}  // namespace moelab::testing
