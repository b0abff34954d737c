// Goodness-of-fit helpers for the statistical tests (Stan Math style: a
// chi-square test with a fixed seed against Boost.Math quantiles).
//
// Convention used by every caller: the test rejects when the Pearson
// statistic exceeds the upper `alpha` quantile of chi2(df). With a fixed seed
// the outcome is deterministic; `alpha` (1e-6 throughout) is the probability
// that a CORRECT implementation would have produced a seed that fails, so a
// failure is overwhelming evidence of a bug rather than bad luck.
#pragma once

#include "moelab/core/types.hpp"

namespace moelab::testing {

// Pearson statistic sum_c (O_c - E_c)^2 / E_c over the cells with E_c > 0.
// Cells with E_c == 0 are skipped (callers check separately that O_c == 0).
double PearsonChiSquare(const Vector& observed, const Vector& expected);

// Upper-alpha quantile of the chi-square law with `df` degrees of freedom
// (boost::math::chi_squared).
double ChiSquareUpperQuantile(double df, double alpha);

// Counts of the values in `z` falling in `bins` equiprobable bins of N(0, 1),
// whose boundaries are the standard normal quantiles j / bins
// (boost::math::normal). Every bin then has probability 1 / bins.
Vector StandardNormalBinCounts(const Vector& z, int bins);

}  // namespace moelab::testing
