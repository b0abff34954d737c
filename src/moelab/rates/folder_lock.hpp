// An advisory lock on an output folder, so that two runs never fill one
// folder at the same time (they would compute every cell twice and race on
// the final files). flock(2) on <folder>/.lock: released by the kernel when
// the process ends however it ends, so a killed run never leaves a stale lock.
#pragma once

#include <string>

namespace moelab {

class FolderLock {
 public:
  // Creates `folder` if needed and locks it. Throws std::invalid_argument
  // naming the folder (and the holder's pid when it wrote one) when another
  // run holds the lock, std::runtime_error when the lock file cannot be made.
  explicit FolderLock(const std::string& folder);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace moelab
