#include "moelab/rates/shard_merge.hpp"

#include <chrono>
#include <filesystem>
#include <map>

#include "moelab/core/check.hpp"
#include "moelab/rates/detail/study_folder.hpp"

namespace moelab {
namespace {

namespace fs = std::filesystem;
constexpr const char* kWhere = "MergeShards";

std::string CellName(Index n, int replication) {
  return "(n = " + std::to_string(n) + ", replication = " + std::to_string(replication) + ")";
}

bool SameFolder(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

}  // namespace

CellRunSummary MergeShards(const std::vector<std::string>& shard_dirs,
                           const std::vector<CellKey>& cells, const CellRunnerOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  options.Validate();
  if (!options.shard.IsWhole()) ThrowInvalid(kWhere, "the merged output is the whole study (options.shard must be 0/1)");
  if (shard_dirs.empty()) ThrowInvalid(kWhere, "no shard folders given");
  if (cells.empty()) ThrowInvalid(kWhere, "the study has no cells");

  // Positions in the (n, replication)-sorted list decide the owning shard.
  std::map<std::pair<Index, int>, CellKey> sorted;
  for (const auto& c : cells)
    if (!sorted.emplace(std::make_pair(c.n, c.replication), c).second)
      ThrowInvalid(kWhere, "duplicate cell " + CellName(c.n, c.replication));
  std::map<std::pair<Index, int>, std::size_t> position;
  for (const auto& [key, c] : sorted) position.emplace(key, position.size());

  // 1. Every folder: this study, as a shard; shards complete and distinct.
  const std::string identity = ShardIdentity(options.identity, {});
  std::vector<ShardSpec> shards;
  std::map<int, std::string> folder_of_shard;
  for (const auto& dir : shard_dirs) {
    const fs::path study_json = fs::path(dir) / "study.json";
    if (!fs::exists(study_json))
      ThrowInvalid(kWhere, "'" + dir + "' has no study.json: it is not a shard folder of a study");
    if (SameFolder(dir, options.out_dir))
      ThrowInvalid(kWhere, "the output folder '" + options.out_dir + "' is also a shard folder");
    const std::string text = detail::ReadWholeFile(study_json.string());
    const auto [folder_identity, shard] = SplitShardIdentity(text);
    if (shard.IsWhole()) {
      if (folder_identity == identity)
        ThrowInvalid(kWhere, "'" + dir + "' holds the whole study, not a shard; merge only folders "
                             "written with --shard i/N");
      detail::CheckSameStudy(dir, text, options.identity, {});  // throws: names the differing line
    }
    detail::CheckSameStudy(dir, text, options.identity, shard);  // same study, else the line
    if (!shards.empty() && shard.count != shards.front().count)
      ThrowInvalid(kWhere, "'" + dir + "' is shard " + shard.ToString() + " but '" + shard_dirs.front() +
                               "' is shard " + shards.front().ToString() +
                               ": all shards of a merge must split the study the same way");
    const auto [it, inserted] = folder_of_shard.emplace(shard.index, dir);
    if (!inserted)
      ThrowInvalid(kWhere, "shard " + shard.ToString() + " is given twice: '" + it->second +
                               "' and '" + dir + "'");
    shards.push_back(shard);
  }
  const int count = shards.front().count;
  std::string missing_shards;
  for (int i = 0; i < count; ++i)
    if (!folder_of_shard.count(i))
      missing_shards += (missing_shards.empty() ? "" : ", ") + ShardSpec{i, count}.ToString();
  if (!missing_shards.empty())
    ThrowInvalid(kWhere, "no folder for shard " + missing_shards + " (" +
                             std::to_string(shard_dirs.size()) + " of " + std::to_string(count) +
                             " shards given)");

  // 2. Every row: a cell of its folder's shard; every cell exactly once.
  std::map<std::pair<Index, int>, std::pair<CellRecord, std::string>> merged;
  for (std::size_t f = 0; f < shard_dirs.size(); ++f) {
    const std::string log = (fs::path(shard_dirs[f]) / "cells.log").string();
    if (!fs::exists(log)) continue;  // a shard that never started: its cells are missing below
    int row = 1;
    for (CellRecord& r : detail::ReadCellLog(log, options.value_columns, false)) {
      ++row;
      const std::string where = log + ":" + std::to_string(row);
      const auto key = std::make_pair(r.key.n, r.key.replication);
      const auto pos = position.find(key);
      if (pos == position.end() || sorted.at(key).seed != r.key.seed)
        ThrowInvalid(kWhere, where + ": cell " + CellName(r.key.n, r.key.replication) +
                                 " is not part of this study");
      if (!shards[f].Owns(pos->second))
        ThrowInvalid(kWhere, where + ": cell " + CellName(r.key.n, r.key.replication) +
                                 " belongs to shard " +
                                 ShardSpec{static_cast<int>(pos->second % count), count}.ToString() +
                                 ", not to this folder's shard " + shards[f].ToString());
      const auto [it, inserted] = merged.emplace(key, std::make_pair(r, shard_dirs[f]));
      if (!inserted && it->second.second != shard_dirs[f])
        ThrowInvalid(kWhere, "cell " + CellName(r.key.n, r.key.replication) + " appears in both '" +
                                 it->second.second + "' and '" + shard_dirs[f] + "'");
      // A repeated row within one folder carries the same numbers (cell_runner.hpp).
    }
  }
  if (merged.size() != sorted.size()) {
    std::string list;
    int shown = 0;
    for (const auto& [key, pos] : position) {
      if (merged.count(key)) continue;
      if (++shown > 5) break;
      const int s = static_cast<int>(pos % count);
      list += (list.empty() ? "" : ", ") + CellName(key.first, key.second) + " [shard " +
              ShardSpec{s, count}.ToString() + ", '" + folder_of_shard.at(s) + "']";
    }
    const std::size_t missing = sorted.size() - merged.size();
    ThrowInvalid(kWhere, std::to_string(missing) + " of " + std::to_string(sorted.size()) +
                             " cells are missing: " + list + (missing > 5 ? ", ..." : "") +
                             ". Rerun those shards into their folders to finish them.");
  }

  // 3. The study's folder, as a single run writes it.
  CheckStudyFolder(options.out_dir, options.identity);
  fs::create_directories(options.out_dir);
  const fs::path out(options.out_dir);
  detail::WriteFileAtomically((out / "study.json").string(), identity + "\n");
  std::string log = detail::CellHeaderLine(options.value_columns, true) + "\n";
  for (const auto& [key, entry] : merged) log += detail::CellRowLine(entry.first, true) + "\n";
  detail::WriteFileAtomically((out / "cells.log").string(), log);

  CellRunSummary summary;
  summary.total = static_cast<int>(sorted.size());
  summary.resumed = summary.total;
  summary.complete = true;
  summary.cells_csv = detail::FinaliseStudyFolder(options.out_dir, options.value_columns);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace moelab
