#include "moelab/estimators/detail/fit_input.hpp"

#include <sstream>

#include "moelab/core/check.hpp"

namespace moelab::detail {

void CheckFitInput(std::string_view function, const Dataset& data, const MoeParams& init) {
  data.Validate();
  init.Validate();
  CheckSize(function, "init dimension d (data X columns)", init.dim(), data.dim());
}

void CheckEnoughObservations(std::string_view function, Index n, Index num_parameters,
                             std::string_view parameter_kind) {
  if (n < num_parameters) {
    std::ostringstream os;
    os << "n = " << n << " is smaller than the number of " << parameter_kind << " ("
       << num_parameters << ")";
    ThrowInvalid(function, os.str());
  }
}

}  // namespace moelab::detail
