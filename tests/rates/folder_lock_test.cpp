#include "moelab/rates/folder_lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

// flock locks belong to the open file description, so a second lock from
// the same process conflicts just as one from another process does.
TEST(FolderLockTest, ASecondLockOnTheSameFolderIsRefused) {
  const std::string dir = testing::MakeTempDir("moelab_lock");
  {
    const FolderLock first(dir);
    EXPECT_TRUE(ThrowsInvalidArgument([&] { FolderLock second(dir); },
                                      {dir, "in use by another run", std::to_string(::getpid())}));
  }
  EXPECT_NO_THROW(FolderLock again(dir));  // released with the first
}

}  // namespace
}  // namespace moelab
