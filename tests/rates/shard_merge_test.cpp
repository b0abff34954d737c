#include "moelab/rates/shard_merge.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "moelab/rates/detail/study_folder.hpp"
#include "rates/synthetic_study.hpp"
#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ReadTextFile;
using testing::ThrowsInvalidArgument;
namespace fs = std::filesystem;

// A synthetic cell whose numbers come from its seed alone.
CellRecord SyntheticCell(const CellKey& key) {
  CellRecord r;
  r.status = key.replication % 2 == 0 ? "converged" : "max-iterations";
  r.values = testing::SyntheticValues(key);
  return r;
}

CellRunnerOptions Options(const std::string& dir, ShardSpec shard = {}) {
  return testing::SyntheticOptions(dir, /*num_threads=*/2, shard);
}

// 5 sample sizes x 3 replications = 15 cells: 3 shards of 5 cells each, 4
// shards of 4, 4, 4 and 3 (an uneven split is covered too).
const std::vector<CellKey> kCells = MakeCells({100, 200, 400, 800, 1600}, 3, 5);

// Runs shards 0/count ... count-1/count of kCells into base/s<i>.
std::vector<std::string> RunShards(const std::string& base, int count) {
  std::vector<std::string> dirs;
  for (int i = 0; i < count; ++i) {
    dirs.push_back(base + "/s" + std::to_string(i));
    RunCells(kCells, SyntheticCell, Options(dirs.back(), {i, count}));
  }
  return dirs;
}

TEST(ShardMergeTest, ShardsPartitionTheCellsAndMergeToTheSingleRunCsv) {
  const std::string base = testing::MakeTempDir("moelab_merge_equal");
  const CellRunSummary single = RunCells(kCells, SyntheticCell, Options(base + "/single"));
  ASSERT_TRUE(single.complete);
  for (int count : {2, 3, 4}) {
    const std::string sub = base + "/n" + std::to_string(count);
    const auto dirs = RunShards(sub, count);
    int cells = 0;
    for (int i = 0; i < count; ++i) {
      // A shard folder holds its own cells only, and no final files.
      const auto records = detail::ReadCellLog(dirs[i] + "/cells.log", testing::kSyntheticColumns, false);
      for (const auto& r : records) {
        const std::size_t position = static_cast<std::size_t>(
            std::find_if(kCells.begin(), kCells.end(), [&](const CellKey& k) {
              return k.n == r.key.n && k.replication == r.key.replication;
            }) - kCells.begin());
        EXPECT_EQ(static_cast<int>(position % count), i);  // the documented rule
      }
      cells += static_cast<int>(records.size());
      EXPECT_FALSE(fs::exists(dirs[i] + "/cells.csv"));
      EXPECT_FALSE(fs::exists(dirs[i] + "/timings.csv"));
    }
    EXPECT_EQ(cells, 15);
    const CellRunSummary merged = MergeShards(dirs, kCells, Options(sub + "/merged"));
    EXPECT_TRUE(merged.complete);
    EXPECT_EQ(merged.total, 15);
    EXPECT_EQ(ReadTextFile(merged.cells_csv), ReadTextFile(single.cells_csv)) << count << " shards";
    EXPECT_EQ(ReadTextFile(sub + "/merged/study.json"), ReadTextFile(base + "/single/study.json"));
    // timings.csv lists the same cells (the seconds differ from run to run).
    const std::string timings = ReadTextFile(sub + "/merged/timings.csv");
    EXPECT_EQ(std::count(timings.begin(), timings.end(), '\n'), 16);
    // The merged folder is a finished single-run folder: a run there resumes everything.
    const CellRunSummary again = RunCells(kCells, SyntheticCell, Options(sub + "/merged"));
    EXPECT_EQ(again.computed, 0);
    EXPECT_EQ(ReadTextFile(again.cells_csv), ReadTextFile(single.cells_csv));
  }
}

TEST(ShardMergeTest, AShardFolderRefusesAnotherShardOrTheWholeStudy) {
  const std::string base = testing::MakeTempDir("moelab_merge_refuse");
  RunCells(kCells, SyntheticCell, Options(base + "/s0", {0, 2}));
  int calls = 0;
  const auto counting = [&](const CellKey& k) { ++calls; return SyntheticCell(k); };
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, counting, Options(base + "/s0", {1, 2})); },
                                    {"holds shard 0/2 of this study, not shard 1/2"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { RunCells(kCells, counting, Options(base + "/s0")); },
                                    {"holds shard 0/2 of this study, not the whole study"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { CheckStudyFolder(base + "/s0", Options("").identity, {0, 3}); },
                                    {"not shard 0/3"}));
  EXPECT_EQ(calls, 0);
  // The same shard again resumes (nothing left to do).
  const CellRunSummary same = RunCells(kCells, counting, Options(base + "/s0", {0, 2}));
  EXPECT_TRUE(same.complete);
  EXPECT_EQ(same.computed, 0);
  EXPECT_EQ(same.total, 8);  // positions 0, 2, ..., 14
  EXPECT_TRUE(same.cells_csv.empty());
}

TEST(ShardMergeTest, AnInterruptedShardResumesAndTheMergeNamesMissingCells) {
  const std::string base = testing::MakeTempDir("moelab_merge_missing");
  const auto dirs = RunShards(base, 2);
  // Shard 1 again, interrupted after 2 of its 7 cells.
  const std::string partial = base + "/p1";
  CellRunnerOptions o = Options(partial, {1, 2});
  o.stop_after = 2;
  RunCells(kCells, SyntheticCell, o);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { MergeShards({dirs[0], partial}, kCells, Options(base + "/m")); },
                                    {"5 of 15 cells are missing", "[shard 1/2, '" + partial + "']",
                                     "Rerun those shards"}));
  EXPECT_FALSE(fs::exists(base + "/m/cells.csv"));  // nothing written on error
  o.stop_after = -1;
  RunCells(kCells, SyntheticCell, o);  // finish the shard
  const CellRunSummary merged = MergeShards({partial, dirs[0]}, kCells, Options(base + "/m"));
  const CellRunSummary single = RunCells(kCells, SyntheticCell, Options(base + "/single"));
  EXPECT_EQ(ReadTextFile(merged.cells_csv), ReadTextFile(single.cells_csv));
}

TEST(ShardMergeTest, BadShardSetsAreRefusedNamingTheProblem) {
  const std::string base = testing::MakeTempDir("moelab_merge_bad");
  const auto two = RunShards(base + "/two", 2);
  const auto three = RunShards(base + "/three", 3);
  const auto merge = [&](std::vector<std::string> dirs) {
    return [dirs, &base] { MergeShards(dirs, kCells, Options(base + "/out")); };
  };
  EXPECT_TRUE(ThrowsInvalidArgument(merge({two[0]}), {"no folder for shard 1/2", "1 of 2 shards"}));
  EXPECT_TRUE(ThrowsInvalidArgument(merge({two[0], two[0], two[1]}), {"shard 0/2 is given twice"}));
  EXPECT_TRUE(ThrowsInvalidArgument(merge({two[0], three[1]}), {"split the study the same way"}));
  EXPECT_TRUE(ThrowsInvalidArgument(merge({two[0], base + "/nowhere"}), {"has no study.json"}));
  // A whole-study folder is not a shard.
  RunCells(kCells, SyntheticCell, Options(base + "/whole"));
  EXPECT_TRUE(ThrowsInvalidArgument(merge({two[0], base + "/whole"}), {"holds the whole study"}));
  // A shard of another study (other seed in its identity).
  CellRunnerOptions other = Options(base + "/other1", {1, 2});
  other.identity = "{\n  \"study\": \"synthetic\",\n  \"seed\": 6\n}";
  RunCells(MakeCells({100, 200, 400, 800, 1600}, 3, 6), SyntheticCell, other);
  EXPECT_TRUE(ThrowsInvalidArgument(merge({two[0], base + "/other1"}),
                                    {"holds a different study", "\"seed\": 5", "\"seed\": 6"}));
  // A row in the wrong shard's log (e.g. logs copied between folders).
  const std::string log0 = ReadTextFile(two[0] + "/cells.log");
  std::ofstream(two[1] + "/cells.log", std::ios::app) << log0.substr(log0.find('\n') + 1, log0.find('\n', log0.find('\n') + 1) - log0.find('\n'));
  EXPECT_TRUE(ThrowsInvalidArgument(merge({two[0], two[1]}),
                                    {"cells.log:", "belongs to shard 0/2, not to this folder's shard 1/2"}));
  // The output folder must not hold another study, nor be a shard folder.
  EXPECT_TRUE(ThrowsInvalidArgument([&] { MergeShards(three, kCells, Options(base + "/other1")); },
                                    {"holds a different study"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { MergeShards(three, kCells, Options(three[0])); },
                                    {"is also a shard folder"}));
  EXPECT_FALSE(fs::exists(base + "/out"));
}

}  // namespace
}  // namespace moelab
