// Several starts, one answer: the generic restart loop shared by EM, MLE and
// LSE ([Demyst] protocol: n_tries starts, keep the highest log-likelihood).
#pragma once

#include <functional>

#include "moelab/core/rng.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

// Draws num_starts starting points with make_start(rng) - all of them first,
// in order, from rng, so the starts depend only on the seed - then fits each
// with fit(start), on num_threads threads (core/parallel_for.hpp; fit must
// then be safe to call concurrently, e.g. a single-threaded FitEm that
// writes nothing shared). The choice is made after all fits, in start order,
// so the result is bit-identical for every num_threads. Keeps the usable result (FitResult::IsUsable) with the
// highest log-likelihood (ties: the earliest start); sets restarts =
// num_starts and best_restart = its index, and seconds = the total wall time.
// If no result is usable, returns the unusable one with the highest
// log-likelihood (NaN counts as lowest; ties: earliest) with its own
// termination, and says so in the message.
// Throws std::invalid_argument if num_starts < 1, num_threads < 1 or a
// function is empty; exceptions from make_start or fit (bad input)
// propagate (from fit: the lowest-indexed start's, after all fits ran).
FitResult BestOfStarts(int num_starts, const std::function<MoeParams(Rng&)>& make_start,
                       const std::function<FitResult(const MoeParams&)>& fit, Rng& rng,
                       int num_threads = 1);

}  // namespace moelab
