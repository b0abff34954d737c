// Mean over replicated runs (seeds) with a Student-t confidence interval,
// for the learning-mode summaries: mean +- t_{(1+c)/2, n-1} sqrt(s^2 / n),
// s^2 the sample variance. Median beside it (robust summary). Non-finite
// values are dropped and counted.
#pragma once

#include <vector>

namespace moelab {

struct MeanInterval {
  int n = 0;              // finite values used
  int dropped = 0;        // non-finite values ignored
  double mean = 0.0;
  double median = 0.0;
  double lower = 0.0;     // NaN when n < 2
  double upper = 0.0;
};

// Throws std::invalid_argument unless 0 < confidence < 1.
MeanInterval StudentMeanInterval(const std::vector<double>& values, double confidence = 0.95);

}  // namespace moelab
