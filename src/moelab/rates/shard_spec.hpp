// Which part of a study one process runs: shard i of N.
//
// Rule (documented in docs/scale_out.md): sort the study's cells by
// (n, replication) as MakeCells does and number them 0, 1, 2, ...; shard
// i/N owns the cells whose position p satisfies p mod N = i. Consecutive
// positions go to different shards, so every shard gets (up to one cell) the
// same number of cells of every sample size: small and large n, and thus
// cheap and expensive fits, are balanced without knowing the cost of a fit.
// A shard's cells keep the seeds of the whole study (cell_runner.hpp), so
// the merged shards equal a single run cell for cell.
//
// A shard folder's study.json is the study's identity (a JSON object) with
// one key "shard" appended; ShardIdentity builds it and SplitShardIdentity
// takes it apart, so a merge can check that its shards are the same study
// and a shard folder refuses to run a different shard.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

namespace moelab {

struct ShardSpec {
  int index = 0;  // i in [0, count)
  int count = 1;  // N >= 1; 1 = the whole study

  bool IsWhole() const { return count == 1; }
  // True when the cell at `position` of the (n, replication)-sorted list
  // belongs to this shard.
  bool Owns(std::size_t position) const {
    return static_cast<int>(position % static_cast<std::size_t>(count)) == index;
  }
  std::string ToString() const;  // "i/N"
  // Throws std::invalid_argument naming the field (count >= 1, 0 <= index < count).
  void Validate() const;

  bool operator==(const ShardSpec&) const = default;
};

// Parses "i/N" (0 <= i < N); throws std::invalid_argument quoting the text.
ShardSpec ParseShardSpec(const std::string& text);

// The study.json text of a shard: `identity` (a JSON object in the canonical
// form nlohmann::json::dump(2) writes) with "shard": {"index", "count",
// "rule"} appended as its last key. `identity` itself for the whole study.
// Throws std::invalid_argument when a shard is asked of an identity that is
// not such a JSON object.
std::string ShardIdentity(const std::string& identity, const ShardSpec& shard);

// Inverse of ShardIdentity: (identity, shard) of a study.json text; a text
// without a "shard" key (or not JSON at all) is a whole study. Trailing line
// breaks are dropped from the returned identity.
std::pair<std::string, ShardSpec> SplitShardIdentity(const std::string& text);

}  // namespace moelab
