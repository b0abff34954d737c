// The rate-study runner over MPI ranks (built only with -DMOELAB_WITH_MPI=ON;
// the header itself needs no mpi.h).
//
// Rank 0 is the coordinator. It opens the study folder exactly as RunCells
// does (study.json check, resume from cells.log, shard), then hands out the
// missing cells one at a time, largest n first, to whichever rank asks:
// dynamic assignment, so ranks that draw cheap cells simply ask more often
// and fast and slow cells balance. A worker rank (>= 1) computes one cell at
// a time (one thread per rank: start one rank per core) and sends the
// finished cell back as its cells.log line together with a request for more;
// it keeps one request ahead (the next cell is named while the current one
// runs), so the coordinator's reply latency never idles it. Rank 0 appends
// each line to cells.log at once with a single write(2), so a killed job
// loses at most the cells in flight (up to two per worker). With `coordinator_computes` (default) rank 0 also
// computes cells on one thread beside the coordinating loop (which sleeps
// between polls, so it costs no core); without it rank 0 only coordinates.
// With one rank, rank 0 computes every cell itself.
//
// When all cells are done rank 0 writes cells.csv and timings.csv through the
// same code as RunCells: a cell's numbers come from its seed alone, so the
// file is byte-identical to the single-process run's, whatever the number of
// ranks and the order in which cells finished.
//
// Failures: a bad folder or option throws std::invalid_argument on every
// rank before any work; a cell function that throws on a worker stops the
// hand-out and every rank throws std::runtime_error with its message after
// the others finish their cells. A rank that dies aborts the job (the MPI
// default); rerunning the same command resumes from cells.log.
#pragma once

#include <functional>
#include <vector>

#include "moelab/rates/cell_runner.hpp"

namespace moelab {

// MPI_Init_thread (MPI_THREAD_FUNNELED: only the main thread calls MPI) on
// construction, MPI_Finalize on destruction. One per process.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

struct MpiRunnerOptions {
  // Rank 0 computes cells on one thread while it coordinates. Off: a
  // dedicated coordinator (useful when ranks >= cores + 1).
  bool coordinator_computes = true;
  // Fault injection for tests: a worker rank _exit(3)s after computing this
  // many cells, before reporting the last one (-1 = never).
  long long worker_exit_after = -1;

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

// Collective: every rank calls it with the same cells, function and options
// (all ranks build them from the same flags). Rank 0 returns the full
// summary; workers return the same counts with an empty cells_csv.
// options.num_threads is not used (one cell at a time per rank).
CellRunSummary RunCellsMpi(const std::vector<CellKey>& cells, const CellFunction& function,
                           const CellRunnerOptions& options, const MpiRunnerOptions& mpi = {});

// Collective: runs `work` on rank 0 only, then makes every rank return, or
// throw the exception rank 0 threw (std::invalid_argument stays
// std::invalid_argument, anything else becomes std::runtime_error with the
// same message). For file work done by the coordinator alone (checks before
// any cell, config.json, reports) without leaving workers waiting forever.
void RunOnCoordinator(const std::function<void()>& work);

}  // namespace moelab
