// GoogleTest of the MPI runner, run under mpirun by tests/rates/mpi_study.sh
// (ctest rates_mpi_vs_single; only in -DMOELAB_WITH_MPI=ON builds). Named
// *_mpitest.cpp so the rates_tests glob (*_test.cpp), which has no MPI, skips
// it. Every rank runs every test (the runner is collective); rank 0 checks
// the files, every rank checks what it returns or throws.
#include "moelab/rates/mpi/mpi_cell_runner.hpp"

#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <filesystem>

#include "moelab/rates/shard_merge.hpp"
#include "rates/synthetic_study.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ReadTextFile;
int Rank() { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
int Size() { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }

// One temporary folder, named by rank 0, for all ranks.
std::string SharedTempDir(const std::string& prefix) {
  std::string dir = Rank() == 0 ? testing::MakeTempDir(prefix) : std::string();
  int length = static_cast<int>(dir.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  dir.resize(static_cast<std::size_t>(length));
  MPI_Bcast(dir.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  return dir;
}

// Numbers from the cell's seed alone; a short sleep so that cells finish in
// an order that depends on the ranks.
CellRecord SyntheticCell(const CellKey& key) {
  CellRecord r;
  r.status = key.replication % 2 == 0 ? "converged" : "max, iterations";
  r.values = testing::SyntheticValues(key);
  usleep(static_cast<useconds_t>(1000 + key.seed % 2000));
  return r;
}

CellRunnerOptions Options(const std::string& dir, ShardSpec shard = {}) {
  return testing::SyntheticOptions(dir, /*num_threads=*/1, shard);
}

const std::vector<CellKey> kCells = MakeCells({100, 200, 400, 800, 1600}, 6, 5);

TEST(MpiCellRunnerTest, SameCsvAsTheThreadedRunnerWithOrWithoutACoordinatorThatComputes) {
  const std::string base = SharedTempDir("moelab_mpi_same");
  std::string expected;
  if (Rank() == 0) expected = ReadTextFile(RunCells(kCells, SyntheticCell, Options(base + "/single")).cells_csv);
  for (bool computes : {true, false}) {
    MpiRunnerOptions mpi;
    mpi.coordinator_computes = computes;
    const std::string dir = base + (computes ? "/computes" : "/dedicated");
    const CellRunSummary s = RunCellsMpi(kCells, SyntheticCell, Options(dir), mpi);
    EXPECT_TRUE(s.complete);
    EXPECT_EQ(s.total, 30);
    EXPECT_EQ(s.computed, 30);  // every rank is told the totals
    if (Rank() == 0) {
      EXPECT_EQ(ReadTextFile(s.cells_csv), expected);
    } else {
      EXPECT_TRUE(s.cells_csv.empty());
    }
  }
}

TEST(MpiCellRunnerTest, StoppedRunResumesAndShardsMergeToTheSameCsv) {
  const std::string base = SharedTempDir("moelab_mpi_resume");
  CellRunnerOptions o = Options(base + "/run");
  o.stop_after = 7;
  const CellRunSummary first = RunCellsMpi(kCells, SyntheticCell, o);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.computed, 7);
  o.stop_after = -1;
  const CellRunSummary second = RunCellsMpi(kCells, SyntheticCell, o);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.resumed, 7);
  EXPECT_EQ(second.computed, 23);
  // Shard 0/2 under MPI, shard 1/2 threaded: the merge equals the run.
  RunCellsMpi(kCells, SyntheticCell, Options(base + "/s0", {0, 2}));
  if (Rank() == 0) {
    RunCells(kCells, SyntheticCell, Options(base + "/s1", {1, 2}));
    const CellRunSummary merged = MergeShards({base + "/s0", base + "/s1"}, kCells, Options(base + "/merged"));
    EXPECT_EQ(ReadTextFile(merged.cells_csv), ReadTextFile(second.cells_csv));
  }
}

TEST(MpiCellRunnerTest, ADifferentStudyFailsOnEveryRankBeforeAnyCell) {
  const std::string base = SharedTempDir("moelab_mpi_other");
  if (Rank() == 0) RunCells({kCells[0]}, SyntheticCell, Options(base));
  MPI_Barrier(MPI_COMM_WORLD);
  CellRunnerOptions other = Options(base);
  other.identity = "{\n  \"study\": \"synthetic\",\n  \"seed\": 6\n}";
  int calls = 0;
  try {
    RunCellsMpi(kCells, [&](const CellKey& k) { ++calls; return SyntheticCell(k); }, other);
    ADD_FAILURE() << "did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("holds a different study"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 0);
}

TEST(MpiCellRunnerTest, AWorkerCellErrorFailsEveryRankWithItsMessage) {
  if (Size() < 2) GTEST_SKIP() << "needs a worker rank";
  const std::string base = SharedTempDir("moelab_mpi_error");
  MpiRunnerOptions dedicated;
  dedicated.coordinator_computes = false;  // so the failing cell runs on a worker
  try {
    RunCellsMpi(kCells, [](const CellKey& k) -> CellRecord {
      if (k.n == 400) throw std::runtime_error("boom");
      return SyntheticCell(k);
    }, Options(base), dedicated);
    ADD_FAILURE() << "did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("boom"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("n = 400"), std::string::npos) << e.what();
  }
  if (Rank() == 0) {
    EXPECT_FALSE(std::filesystem::exists(base + "/cells.csv"));
  }
}

}  // namespace
}  // namespace moelab

int main(int argc, char** argv) {
  moelab::MpiSession session;
  ::testing::InitGoogleTest(&argc, argv);
  if (session.rank() != 0) {  // one report: rank 0's (failures still set every rank's exit code)
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  return RUN_ALL_TESTS();
}
