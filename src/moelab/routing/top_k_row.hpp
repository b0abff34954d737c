// Top-K of one row of doubles: the selection kernel of every router and of
// the dual objective (routers.hpp, dual_objective.hpp, learning_loss.hpp).
//
// Result: the indices of the K largest entries in decreasing order of value,
// ties to the lower index (a stable sort's first K). Every path below returns
// exactly that; the fast path only decides when it is sure and otherwise
// hands the row to the insertion path.
//
//   fast path (K <= 8, 4K <= n <= 64, GCC/Clang vector extensions): a lower
//     bound on the K-th largest value (the smallest of K block maxima: each
//     block holds an entry >= its maximum, so >= K entries reach the bound),
//     a bit mask of the entries at or above it (~18 of 64 for normal
//     scores), the K largest *values* of those by a branch-free min/max
//     insertion network, and the index of each value by equality matching.
//     Rows where a selected value is not matched by exactly one entry (ties,
//     +-0) or with NaN go to the insertion path. No data-dependent branch
//     per entry, which is what made the insertion path slow (routing_step_benchmark).
//   insertion path: the same bound, then an insertion top-K over the entries
//     at or above it (or over the whole row when it is short, longer than
//     256, has NaN or K > 64).
#pragma once

namespace moelab {

// Indices of the K largest entries of v (ties: lower index), written in
// decreasing order to out[0..K). Restricted to indices [lo, hi) when given.
// Needs K <= hi - lo.
void TopKOfRow(const double* v, int lo, int hi, int K, int* out);

namespace detail {
// The insertion path alone (the library's top-K before the fast path; kept
// for the benchmark's comparison and the tests' cross-check).
void TopKOfRowInsertion(const double* v, int lo, int hi, int K, int* out);
}  // namespace detail

}  // namespace moelab
