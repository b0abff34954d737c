#include "moelab/estimators/detail/block_runner.hpp"

#include <algorithm>
#include <thread>
#include <vector>

namespace moelab::detail {

BlockRunner::BlockRunner(Index num_rows, int num_threads)
    : num_rows_(num_rows),
      num_blocks_((num_rows + kRowsPerBlock - 1) / kRowsPerBlock),
      num_threads_(static_cast<int>(
          std::clamp<Index>(num_threads, 1, std::max<Index>(num_blocks_, 1)))) {}

Index BlockRunner::BlockSize(Index block) const {
  return std::min(kRowsPerBlock, num_rows_ - BlockBegin(block));
}

long long& DataPassCount() {
  thread_local long long count = 0;
  return count;
}

void BlockRunner::Run(const std::function<void(Index, int)>& fn) const {
  ++DataPassCount();
  if (num_threads_ <= 1) {
    for (Index b = 0; b < num_blocks_; ++b) fn(b, 0);
    return;
  }
  // Contiguous block ranges: thread t runs [t*B/T, (t+1)*B/T).
  auto range = [&](int t) { return num_blocks_ * t / num_threads_; };
  std::vector<std::thread> workers;
  workers.reserve(num_threads_ - 1);
  for (int t = 1; t < num_threads_; ++t) {
    workers.emplace_back([&, t] {
      for (Index b = range(t); b < range(t + 1); ++b) fn(b, t);
    });
  }
  for (Index b = range(0); b < range(1); ++b) fn(b, 0);
  for (auto& w : workers) w.join();
}

}  // namespace moelab::detail
