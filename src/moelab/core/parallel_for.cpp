#include "moelab/core/parallel_for.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

#include "moelab/core/check.hpp"

namespace moelab {

void ParallelFor(int num_tasks, int num_threads, const std::function<void(int)>& task) {
  constexpr const char* kFn = "ParallelFor";
  if (num_tasks < 0) ThrowInvalid(kFn, "num_tasks must be >= 0");
  if (num_threads < 1) ThrowInvalid(kFn, "num_threads must be >= 1");
  if (!task) ThrowInvalid(kFn, "task is empty");
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(num_tasks));
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int i = next++; i < num_tasks; i = next++) {
      try {
        task(i);
      } catch (...) {
        errors[static_cast<std::size_t>(i)] = std::current_exception();
      }
    }
  };
  const int threads = std::min(num_threads, num_tasks);
  if (threads > 1) {
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (std::thread& t : pool) t.join();
  } else {
    worker();
  }
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace moelab
