#include "moelab/core/termination.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace moelab {
namespace {

constexpr TerminationType kAll[] = {
    TerminationType::kConverged,        TerminationType::kMaxIterations,
    TerminationType::kStalled,          TerminationType::kNumericalFailure,
    TerminationType::kUserStopped,      TerminationType::kInvalidInput};

TEST(TerminationTest, EveryTypeHasItsOwnName) {
  std::set<std::string> names;
  for (TerminationType t : kAll) {
    const std::string name = ToString(t);
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), std::size(kAll));
}

TEST(TerminationTest, OnlyFailuresAreUnusable) {
  for (TerminationType t : kAll) {
    const bool failure =
        t == TerminationType::kNumericalFailure || t == TerminationType::kInvalidInput;
    EXPECT_EQ(IsUsable(t), !failure) << ToString(t);
  }
}

}  // namespace
}  // namespace moelab
