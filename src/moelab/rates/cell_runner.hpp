// The parallel, resumable runner behind every rate study.
//
// A study is a list of cells (n, replication). Each cell's random stream is
// seeded by the documented rule
//
//   seed(n, r) = DeriveSeed(base_seed, n, r)          (core/rng.hpp)
//
// so a cell computes the same numbers whether it runs first, last, alone, on
// another thread or after a restart. The runner knows nothing about models:
// it calls a CellFunction that maps a CellKey to a CellRecord (a status text
// and one number per value column). The MoE study (rate_study.hpp) is one
// such function; tests use synthetic ones.
//
// Threads: `num_threads` std::thread workers pull cell indices from an atomic
// counter (largest n first, for balance). Nothing a cell computes depends on
// the thread that ran it.
//
// Files in `out_dir` (created if absent):
//   study.json   the study's identity text, written before any work. A later
//                run into the same folder must pass the same identity (else
//                std::invalid_argument "holds a different study"); with the
//                same identity it skips the cells already done. A folder
//                without a finished cell is not protected (it holds no work):
//                a run with another identity takes it over.
//   cells.log    append-only log, one row per finished cell, written with a
//                single write(2) of the whole line as soon as the cell ends
//                (kill-safe: a killed run leaves at most one truncated last
//                line, which a restart cuts off). Includes the wall time and
//                ends in a checksum of the row (detail/study_folder.hpp): an
//                edited or corrupted row is never used (its cell is
//                recomputed), and two rows of one cell with different results
//                are refused.
//   .lock        flock(2) target: a second run into the folder is refused
//                while the first one runs (folder_lock.hpp).
//   cells.csv    the deterministic result, written when every cell is done:
//                n,replication,seed,status,<value columns> sorted by
//                (n, replication), numbers as %.17g ("nan" for NaN). No
//                times, no thread ids: 1 and 2 threads, and a resumed run,
//                give byte-identical files.
//   timings.csv  n,replication,seconds (sorted), the non-deterministic part.
//
// Progress: when stderr is a terminal (or `progress` is forced on), one
// updating line "cells done/total, rate, estimated time left".
//
// Shards (shard_spec.hpp): with `shard` = i/N the runner computes only the
// cells of shard i; its study.json is the identity plus the shard (a folder
// refuses another shard or the whole study), and it writes cells.log but
// never cells.csv / timings.csv: MergeShards (shard_merge.hpp) combines the
// shard folders into the study's folder. The MPI runner
// (mpi/mpi_cell_runner.hpp) fills a folder the same way from many ranks.
// Scale-out guide: docs/scale_out.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "moelab/core/types.hpp"
#include "moelab/rates/shard_spec.hpp"

namespace moelab {

struct CellKey {
  Index n = 0;
  int replication = 0;
  std::uint64_t seed = 0;
};

// seed(n, r) = DeriveSeed(base_seed, n, r).
std::uint64_t CellSeed(std::uint64_t base_seed, Index n, int replication);

// Every (n, r) for n in `sample_sizes`, r in [0, replications), with seeds,
// sorted by (n, r).
std::vector<CellKey> MakeCells(const std::vector<Index>& sample_sizes, int replications,
                               std::uint64_t base_seed);

struct CellRecord {
  CellKey key;
  std::string status;          // deterministic text (e.g. the termination type);
                               // commas and line breaks are replaced by ';' / ' '
  std::vector<double> values;  // one per value column (NaN allowed)
  double seconds = 0.0;        // wall time of the cell (set by the runner)
};

// Computes one cell from its key alone (its randomness from key.seed).
// Must be thread-safe. Should not throw for numerical trouble (put it in
// `status` and NaN values); a throw stops the run and is rethrown by RunCells
// after the workers finish (cells already logged stay logged).
using CellFunction = std::function<CellRecord(const CellKey&)>;

struct CellRunnerOptions {
  std::string out_dir;                     // required
  std::string identity;                    // canonical study text (study.json); required
  std::vector<std::string> value_columns;  // names; no commas, not n/replication/seed/status
  int num_threads = 0;                     // 0 = std::thread::hardware_concurrency()
  enum class Progress { kAuto, kOn, kOff } progress = Progress::kAuto;  // kAuto: if stderr is a tty
  std::string label;                       // shown in the progress line
  // Stop after this many newly computed cells (-1 = run all). Lets tests and
  // users interrupt a run deterministically; the result is then incomplete.
  long long stop_after = -1;
  ShardSpec shard;                         // default 0/1: the whole study

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

struct CellRunSummary {
  int total = 0;      // cells in the study (in the shard, for a shard run)
  int resumed = 0;    // found finished in cells.log
  int computed = 0;   // computed by this call (by all ranks, for an MPI run)
  bool complete = false;  // every cell (of the shard) done
  double seconds = 0.0;   // wall time of this call
  std::string cells_csv;  // path of cells.csv when it was written (complete
                          // whole-study runs, on the MPI coordinator), else ""
};

// The signature of RunCells, so a caller can swap in another engine (the MPI
// runner) behind the same study code.
using CellEngine = std::function<CellRunSummary(const std::vector<CellKey>&, const CellFunction&,
                                                const CellRunnerOptions&)>;

// Throws std::invalid_argument (as RunCells would) when `out_dir` exists and
// holds a study whose study.json differs from `identity` run as `shard`. Lets
// a program that runs several studies fail before any work.
void CheckStudyFolder(const std::string& out_dir, const std::string& identity,
                      const ShardSpec& shard = {});

// Runs the cells of `cells` not yet in out_dir/cells.log. Throws
// std::invalid_argument before any work when the options are bad, the cell
// list has duplicates, or the folder holds a different study.
CellRunSummary RunCells(const std::vector<CellKey>& cells, const CellFunction& function,
                        const CellRunnerOptions& options);

// Reads a cells.csv (or cells.log) written by RunCells: checks the header
// against `value_columns` (throws std::invalid_argument naming the file and
// line on any mismatch). `seconds` is read when the file has it (cells.log,
// whose rows are checksum-verified as on resume: bad rows are skipped).
std::vector<CellRecord> ReadCellRecords(const std::string& path,
                                        const std::vector<std::string>& value_columns);

}  // namespace moelab
