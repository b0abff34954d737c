#include "moelab/core/dataset.hpp"

#include <cmath>
#include <sstream>

#include "moelab/core/check.hpp"

namespace moelab {

void Dataset::Validate() const {
  constexpr const char* kFn = "Dataset::Validate";
  if (y.size() == 0) ThrowInvalid(kFn, "the data set is empty (n = 0)");
  if (X.cols() < 1) ThrowInvalid(kFn, "X has no columns (d = 0)");
  CheckSize(kFn, "X rows", X.rows(), y.size());
  CheckAllFinite(kFn, "X", X);
  CheckAllFinite(kFn, "y", y);
  if (labels) CheckSize(kFn, "labels", labels->size(), y.size());
}

}  // namespace moelab
