// Helpers shared by the moelab tests.
#pragma once

#include <functional>
#include <string>

#include "moelab/core/types.hpp"

namespace moelab::testing {

// Central finite-difference gradient of f at x with relative step h * max(1, |x_i|).
// Truncation error is O(h^2 f'''), so h = 1e-5 gives about 1e-9 relative
// accuracy for smooth f of moderate curvature.
Vector CentralDifferenceGradient(const std::function<double(const Vector&)>& f, const Vector& x,
                                 double h = 1e-5);

// A fresh temporary directory under the system temp dir (removed by the OS).
std::string MakeTempDir(const std::string& prefix);

// Writes `text` to `path` (overwrites).
void WriteTextFile(const std::string& path, const std::string& text);

// The whole file at `path`, byte for byte ("" when it cannot be opened, so a
// comparison with the expected text fails rather than the test crashing).
std::string ReadTextFile(const std::string& path);

}  // namespace moelab::testing
