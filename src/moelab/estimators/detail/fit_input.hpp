// The input checks every Fit* entry point (EM, NLopt MLE, Ceres LSE) makes
// after validating its own options (private). One place, so that the
// estimators refuse the same inputs with the same words: bad data or a bad
// start throw at the API boundary (Dataset/MoeParams::Validate name the row
// and column), and a sample smaller than the number of parameters being
// fitted throws rather than handing the optimiser an under-determined problem.
#pragma once

#include <string_view>

#include "moelab/core/dataset.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab::detail {

// Validates `data` and `init` and checks that init's dimension d equals the
// number of X columns.
void CheckFitInput(std::string_view function, const Dataset& data, const MoeParams& init);

// Throws unless n >= num_parameters. `parameter_kind` names what is counted
// in the message ("free parameters", "free mean parameters"). Separate from
// CheckFitInput because the count is known only once init is valid.
void CheckEnoughObservations(std::string_view function, Index n, Index num_parameters,
                             std::string_view parameter_kind = "free parameters");

}  // namespace moelab::detail
