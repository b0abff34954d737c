// Deterministic parallel loops over fixed row blocks (private to estimators).
//
// The rows 0..n-1 are cut into blocks of kRowsPerBlock consecutive rows. The
// cut depends only on n, never on the thread count; each block writes its own
// partial sums, and the caller reduces them in block order. Sums therefore
// come out bit-identical whether one thread or many ran the blocks, which is
// what keeps EM results independent of EmOptions::num_threads.
#pragma once

#include <functional>

#include "moelab/core/types.hpp"

namespace moelab::detail {

class BlockRunner {
 public:
  // 1024 rows x a few experts x 8 bytes stays inside L2 for every scratch
  // array of one block.
  static constexpr Index kRowsPerBlock = 1024;

  BlockRunner(Index num_rows, int num_threads);

  Index num_rows() const { return num_rows_; }
  Index num_blocks() const { return num_blocks_; }
  // Threads actually used (never more than there are blocks).
  int num_threads() const { return num_threads_; }
  Index BlockBegin(Index block) const { return block * kRowsPerBlock; }
  Index BlockSize(Index block) const;

  // Calls fn(block, thread_slot) once for every block; thread_slot is in
  // [0, num_threads()) and identifies per-thread scratch. Blocks are handed
  // out in contiguous ranges, one range per thread.
  // Each call is one pass over the data and adds 1 to DataPassCount().
  void Run(const std::function<void(Index block, int thread_slot)>& fn) const;

 private:
  Index num_rows_;
  Index num_blocks_;
  int num_threads_;
};

// Passes over the data (BlockRunner::Run calls) made by the calling thread
// since it started. Per thread, so a fit that reads it before and after
// counts its own passes even while other threads fit other cells; the
// benchmarks and FitResult::data_passes use it to compare estimators by the
// work they do rather than by wall time alone.
long long& DataPassCount();

}  // namespace moelab::detail
