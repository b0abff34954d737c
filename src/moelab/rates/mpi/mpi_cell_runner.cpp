#include "moelab/rates/mpi/mpi_cell_runner.hpp"

#include <fcntl.h>
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "moelab/core/check.hpp"
#include "moelab/rates/detail/study_folder.hpp"

namespace moelab {
namespace {

using Clock = std::chrono::steady_clock;

// Worker -> coordinator: kReady carries the previous cell's cells.log line
// (empty on the first request); kError carries a message. Coordinator ->
// worker: kAssign carries (n, replication, seed), n = kStop to finish.
constexpr int kReady = 1, kError = 2, kAssign = 3;
constexpr std::uint64_t kStop = std::numeric_limits<std::uint64_t>::max();
// Requests a worker keeps outstanding (the cell it computes + the next one).
constexpr int kPrefetch = 2;

enum ErrorKind : long long { kOk = 0, kInvalid = 1, kRuntime = 2 };

int Rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// Rank 0's (kind, message) to every rank; every rank throws the same.
void ShareOutcome(long long kind, std::string message) {
  long long header[2] = {kind, static_cast<long long>(message.size())};
  MPI_Bcast(header, 2, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  message.resize(static_cast<std::size_t>(header[1]));
  if (header[1] > 0) MPI_Bcast(message.data(), static_cast<int>(header[1]), MPI_CHAR, 0, MPI_COMM_WORLD);
  if (header[0] == kInvalid) throw std::invalid_argument(message);
  if (header[0] == kRuntime) throw std::runtime_error(message);
}

CellRecord Compute(const CellFunction& function, const CellKey& key, std::size_t num_values) {
  const auto t0 = Clock::now();
  CellRecord record = function(key);
  record.key = key;
  record.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (record.values.size() != num_values)
    throw std::logic_error("RunCellsMpi: the cell function returned " +
                           std::to_string(record.values.size()) + " values for " +
                           std::to_string(num_values) + " columns");
  return record;
}

void Worker(const CellFunction& function, const CellRunnerOptions& options,
            const MpiRunnerOptions& mpi) {
  // kPrefetch requests go out before the first cell, and one more with each
  // result, so the reply naming the next cell is normally waiting when the
  // current one is done: the coordinator's latency never idles a worker.
  int pending_replies = 0;
  const auto request = [&](const std::string& payload) {
    MPI_Send(payload.data(), static_cast<int>(payload.size()), MPI_CHAR, 0, kReady, MPI_COMM_WORLD);
    ++pending_replies;
  };
  const auto receive = [&] {
    std::uint64_t assignment[3];
    MPI_Recv(assignment, 3, MPI_UINT64_T, 0, kAssign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    --pending_replies;
    return assignment[0] == kStop
               ? std::optional<CellKey>()
               : CellKey{static_cast<Index>(assignment[0]), static_cast<int>(assignment[1]), assignment[2]};
  };
  const auto drain = [&] {  // the replies still owed to this rank (stops, or cells now lost)
    while (pending_replies > 0) receive();
  };
  for (int i = 0; i < kPrefetch; ++i) request("");
  long long computed = 0;
  while (const auto key = receive()) {
    std::string line, error;
    try {
      line = detail::CellRowLine(Compute(function, *key, options.value_columns.size()), true);
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    if (!error.empty()) {
      error = "rank " + std::to_string(Rank()) + ", cell (n = " + std::to_string(key->n) +
              ", replication = " + std::to_string(key->replication) + "): " + error;
      drain();
      MPI_Send(error.data(), static_cast<int>(error.size()), MPI_CHAR, 0, kError, MPI_COMM_WORLD);
      return;
    }
    if (++computed == mpi.worker_exit_after) ::_exit(3);  // a crash with this cell unreported
    request(line);
  }
  drain();  // after one stop every later reply is a stop
}

}  // namespace

MpiSession::MpiSession() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    throw std::runtime_error("MpiSession: the MPI library does not provide MPI_THREAD_FUNNELED");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void MpiRunnerOptions::Validate() const {
  if (worker_exit_after < -1 || worker_exit_after == 0)
    ThrowInvalid("MpiRunnerOptions::Validate", "worker_exit_after must be -1 or >= 1");
}

void RunOnCoordinator(const std::function<void()>& work) {
  long long kind = kOk;
  std::string message;
  if (Rank() == 0) {
    try {
      work();
    } catch (const std::invalid_argument& e) {
      kind = kInvalid, message = e.what();
    } catch (const std::exception& e) {
      kind = kRuntime, message = e.what();
    }
  }
  ShareOutcome(kind, message);
}

CellRunSummary RunCellsMpi(const std::vector<CellKey>& cells, const CellFunction& function,
                           const CellRunnerOptions& options, const MpiRunnerOptions& mpi) {
  const auto start = Clock::now();
  mpi.Validate();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  // The folder is rank 0's alone (workers need not see the file system).
  detail::OpenedStudy study;
  RunOnCoordinator([&] { study = detail::OpenStudyFolder(cells, options); });

  long long counts[4] = {0, 0, 0, 0};  // total, resumed, computed, complete
  long long kind = kOk;
  std::string message;
  CellRunSummary summary;
  if (rank != 0) {
    Worker(function, options, mpi);
  } else {
    const std::vector<std::size_t> pending = detail::PendingLargestFirst(study, options.stop_after);
    std::mutex mutex;  // guards everything below
    std::size_t next = 0;
    bool failed = false;
    int finished = 0;
    const int fd = ::open(study.log_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) kind = kRuntime, message = "cannot open '" + study.log_path + "' for appending", failed = true;
    {
      detail::ProgressLine progress(options, static_cast<int>(study.cells.size()), study.resumed,
                                    static_cast<int>(pending.size()));
      const auto fail = [&](long long k, const std::string& m) {  // under the lock
        if (kind == kOk) kind = k, message = m;  // the first failure is the one reported
        failed = true;
      };
      const auto take = [&]() -> std::optional<CellKey> {
        std::lock_guard<std::mutex> lock(mutex);
        if (failed || next >= pending.size()) return std::nullopt;
        return study.cells[pending[next++]];
      };
      const auto append = [&](const std::string& line) {
        std::lock_guard<std::mutex> lock(mutex);
        detail::WriteAll(fd, line + "\n", study.log_path);
        ++finished;
        progress.CellDone();
      };
      // Rank 0's own compute thread (never calls MPI).
      std::thread local;
      if (mpi.coordinator_computes || size == 1) {
        local = std::thread([&] {
          while (const auto key = take()) {
            try {
              append(detail::CellRowLine(Compute(function, *key, options.value_columns.size()), true));
            } catch (const std::exception& e) {
              std::lock_guard<std::mutex> lock(mutex);
              fail(kRuntime, std::string("rank 0, cell (n = ") + std::to_string(key->n) +
                                 ", replication = " + std::to_string(key->replication) + "): " + e.what());
            }
          }
        });
      }
      // The coordinating loop: answer every request until each worker is done,
      // i.e. it has sent its kPrefetch opening requests, returned every cell
      // it was given and been told to stop (or reported an error).
      struct WorkerState {
        std::deque<CellKey> assigned;  // in the order the worker computes them
        int opening_requests = 0;
        bool stopped = false, done = false;
      };
      std::vector<WorkerState> workers(static_cast<std::size_t>(size));
      int active = size - 1;
      while (active > 0) {
        int flag = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
        if (!flag) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));  // leave the core to compute
          continue;
        }
        int length = 0;
        MPI_Get_count(&status, MPI_CHAR, &length);
        std::string payload(static_cast<std::size_t>(length), '\0');
        const int source = status.MPI_SOURCE;
        WorkerState& worker = workers[static_cast<std::size_t>(source)];
        MPI_Recv(payload.data(), length, MPI_CHAR, source, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (status.MPI_TAG == kError) {
          std::lock_guard<std::mutex> lock(mutex);
          fail(kRuntime, payload);
          worker.done = true;
          --active;
          continue;
        }
        if (payload.empty()) {
          ++worker.opening_requests;
        } else {
          try {
            const CellRecord r = detail::ParseCellLogLine(payload, options.value_columns.size(),
                                                          "result from rank " + std::to_string(source));
            if (worker.assigned.empty() || worker.assigned.front().n != r.key.n ||
                worker.assigned.front().replication != r.key.replication ||
                worker.assigned.front().seed != r.key.seed)
              throw std::logic_error("rank " + std::to_string(source) + " returned a cell it was not given");
            worker.assigned.pop_front();
            append(payload);
          } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(mutex);
            fail(kRuntime, e.what());
          }
        }
        std::uint64_t assignment[3] = {kStop, 0, 0};
        if (const auto key = take()) {
          assignment[0] = static_cast<std::uint64_t>(key->n);
          assignment[1] = static_cast<std::uint64_t>(key->replication);
          assignment[2] = key->seed;
          worker.assigned.push_back(*key);
        } else {
          worker.stopped = true;
        }
        MPI_Send(assignment, 3, MPI_UINT64_T, source, kAssign, MPI_COMM_WORLD);
        if (!worker.done && worker.stopped && worker.assigned.empty() &&
            worker.opening_requests == kPrefetch) {
          worker.done = true;
          --active;
        }
      }
      if (local.joinable()) local.join();
    }
    if (fd >= 0) ::close(fd);
    summary.total = static_cast<int>(study.cells.size());
    summary.resumed = study.resumed;
    summary.computed = finished;
    summary.complete = kind == kOk && summary.resumed + summary.computed == summary.total;
    if (summary.complete && options.shard.IsWhole()) {
      try {
        summary.cells_csv = detail::FinaliseStudyFolder(study.dir, options.value_columns);
      } catch (const std::exception& e) {
        kind = kRuntime, message = e.what();
      }
    }
    counts[0] = summary.total, counts[1] = summary.resumed, counts[2] = summary.computed;
    counts[3] = summary.complete ? 1 : 0;
  }
  ShareOutcome(kind, message);
  MPI_Bcast(counts, 4, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  summary.total = static_cast<int>(counts[0]);
  summary.resumed = static_cast<int>(counts[1]);
  summary.computed = static_cast<int>(counts[2]);
  summary.complete = counts[3] != 0;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

}  // namespace moelab
