// ParallelFor: every task exactly once, really on several threads, the
// lowest-indexed error whatever the thread count, bad arguments.
#include "moelab/core/parallel_for.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace moelab {
namespace {

TEST(ParallelForTest, RunsEveryTaskExactlyOnce) {
  for (int threads : {1, 2, 4, 7}) {
    for (int tasks : {0, 1, 3, 10}) {
      std::vector<std::atomic<int>> calls(static_cast<std::size_t>(tasks));
      ParallelFor(tasks, threads, [&](int i) { ++calls[static_cast<std::size_t>(i)]; });
      for (int i = 0; i < tasks; ++i) {
        EXPECT_EQ(calls[static_cast<std::size_t>(i)].load(), 1)
            << "task " << i << ", " << threads << " threads";
      }
    }
  }
}

TEST(ParallelForTest, UsesSeveralThreadsWhenAsked) {
  // Tasks that sleep leave time for every worker to start, so 4 threads
  // must show at least 2 distinct ids (and 1 thread exactly the caller's).
  auto ids_for = [](int threads) {
    std::mutex mutex;
    std::set<std::thread::id> ids;
    ParallelFor(8, threads, [&](int) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::lock_guard<std::mutex> lock(mutex);
      ids.insert(std::this_thread::get_id());
    });
    return ids;
  };
  EXPECT_GE(ids_for(4).size(), 2u);
  const auto one = ids_for(1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(*one.begin(), std::this_thread::get_id());
}

TEST(ParallelForTest, RethrowsTheLowestIndexErrorAfterRunningAll) {
  for (int threads : {1, 2, 4}) {
    std::atomic<int> ran{0};
    try {
      ParallelFor(6, threads, [&](int i) {
        ++ran;
        // Task 1 fails late, task 4 early: the error must still be task 1's.
        if (i == 1) {
          std::this_thread::sleep_for(std::chrono::milliseconds(30));
          throw std::runtime_error("task 1");
        }
        if (i == 4) throw std::runtime_error("task 4");
      });
      ADD_FAILURE() << "no exception with " << threads << " threads";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "task 1") << threads << " threads";
    }
    EXPECT_EQ(ran.load(), 6);
  }
}

TEST(ParallelForTest, BadArgumentsThrow) {
  EXPECT_THROW(ParallelFor(-1, 1, [](int) {}), std::invalid_argument);
  EXPECT_THROW(ParallelFor(1, 0, [](int) {}), std::invalid_argument);
  EXPECT_THROW(ParallelFor(1, 1, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace moelab
