// Runs independent tasks 0..num_tasks-1 on a few threads. Each task writes
// only its own slot of a caller-owned vector, and the caller reduces the
// slots afterwards in index order, so results never depend on the thread
// count or on which thread ran which task.
#pragma once

#include <functional>

namespace moelab {

// Calls task(i) once for every i in [0, num_tasks), on min(num_threads,
// num_tasks) std::threads pulling indices in increasing order (the calling
// thread alone when that is 1). Every task runs even if some throw; then the
// exception of the lowest throwing index is rethrown, so the error does not
// depend on the thread count either. task must be safe to call concurrently
// for different i. Throws std::invalid_argument if num_tasks < 0,
// num_threads < 1 or task is empty.
void ParallelFor(int num_tasks, int num_threads, const std::function<void(int)>& task);

}  // namespace moelab
