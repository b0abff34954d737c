// Argument checks at the API boundary. Each throws std::invalid_argument with
// a message that names the calling function, the argument and the value,
// in the manner of Stan Math's check_* helpers.
#pragma once

#include <string>
#include <string_view>

#include "moelab/core/types.hpp"

namespace moelab {

[[noreturn]] void ThrowInvalid(std::string_view function, const std::string& what);

void CheckFinite(std::string_view function, std::string_view name, double value);
void CheckPositive(std::string_view function, std::string_view name, double value);
void CheckNonNegative(std::string_view function, std::string_view name, double value);
// Throws naming the first non-finite entry as name(row, col).
void CheckAllFinite(std::string_view function, std::string_view name,
                    const Eigen::Ref<const Matrix>& m);
void CheckSize(std::string_view function, std::string_view name, Index actual,
               Index expected);

}  // namespace moelab
