// Checks that a call throws std::invalid_argument whose message names what is
// wrong. Used as
//   EXPECT_TRUE(ThrowsInvalidArgument([&] { params.Validate(); }, {"gate.top_k"}));
// A plain EXPECT_THROW would pass for the right exception with a useless
// message; the house rule is that messages name the field (and the file,
// line and column for data files), so the fragments are part of the contract.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

namespace moelab::testing {

template <typename F>
::testing::AssertionResult ThrowsInvalidArgument(
    F&& call, std::initializer_list<std::string_view> fragments) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    for (std::string_view fragment : fragments) {
      if (message.find(fragment) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "message \"" << message << "\" does not contain \"" << fragment << "\"";
      }
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "threw a different exception type: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace moelab::testing
