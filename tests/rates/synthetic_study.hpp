// The synthetic study shared by the cell-runner tests (threaded, sharded,
// MPI): cells whose numbers come from the cell's own seed alone, so every
// runner, thread count, shard split or rank order must write the same rows,
// and the runner options that go with them. Each test keeps its own status
// rule and sleep, which are what it exercises.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "moelab/core/rng.hpp"
#include "moelab/rates/cell_runner.hpp"

namespace moelab::testing {

inline const std::vector<std::string> kSyntheticColumns = {"loss", "u", "third"};

// One value per kSyntheticColumns entry: a normal scaled by 1/sqrt(n), a
// uniform on [0, 1), and NaN in replication 1 (an empty CSV cell) else 1/3
// (a value that needs all 17 digits to round-trip).
inline std::vector<double> SyntheticValues(const CellKey& key) {
  Rng rng(key.seed);
  return {StandardNormal(rng) / std::sqrt(static_cast<double>(key.n)), UniformReal(rng, 0, 1),
          key.replication == 1 ? std::nan("") : 1.0 / 3.0};
}

// Options of the synthetic study writing to `dir`: a fixed identity (so
// resumes and merges accept each other's folders), kSyntheticColumns, no
// progress output.
inline CellRunnerOptions SyntheticOptions(const std::string& dir, int num_threads,
                                          const ShardSpec& shard = {}) {
  CellRunnerOptions o;
  o.out_dir = dir;
  o.identity = "{\n  \"study\": \"synthetic\",\n  \"seed\": 5\n}";
  o.value_columns = kSyntheticColumns;
  o.num_threads = num_threads;
  o.progress = CellRunnerOptions::Progress::kOff;
  o.shard = shard;
  return o;
}

}  // namespace moelab::testing
