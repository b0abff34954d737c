// Combining the shard folders of one study (shard_spec.hpp) into the study's
// folder, so that an array job (Slurm, PBS, a shell loop over machines) can
// run a study without MPI.
//
// MergeShards(shard_dirs, cells, options) checks, before writing anything:
//   * every folder has a study.json that is this study's identity
//     (options.identity) run as a shard; a different study is refused with
//     the first differing line, a whole-study folder is refused;
//   * all folders carry the same shard count N and together hold every
//     shard 0/N ... N-1/N exactly once (missing or duplicate shards named);
//   * every row of a folder's cells.log is a cell of that folder's shard, and
//     together the rows cover every cell of the study exactly once (missing
//     cells named with their shard and folder: rerun that shard to finish it).
// It then writes options.out_dir as a single run would: study.json (the
// identity without shard), cells.log (every cell, sorted, with its seconds),
// and cells.csv / timings.csv through the same code as RunCells, so the
// merged cells.csv is byte-identical to the single-process run's. The shard
// folders are only read. Bad input throws std::invalid_argument.
#pragma once

#include <string>
#include <vector>

#include "moelab/rates/cell_runner.hpp"

namespace moelab {

// `options`: out_dir, identity and value_columns are used (shard must be the
// whole study; threads, progress and stop_after are ignored). The summary
// counts every cell as resumed (none is computed) and is complete.
CellRunSummary MergeShards(const std::vector<std::string>& shard_dirs,
                           const std::vector<CellKey>& cells, const CellRunnerOptions& options);

}  // namespace moelab
