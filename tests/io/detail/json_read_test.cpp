#include "moelab/io/detail/json_read.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

std::string Nested(int depth) {
  return "{\"k-max\": " + std::string(depth, '[') + std::string(depth, ']') + "}";
}

// Issue 14: a value nested 100,000 deep overflowed the stack (SIGSEGV) when
// anything recursed over it. The scan refuses it without recursing.
TEST(JsonReadTest, RefusesDeepNestingWithoutRecursing) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { detail::ParseJsonStrict(Nested(100000), "d.json"); },
                                    {"d.json", "line 1, column 42", "nested deeper than 32"}));
  EXPECT_NO_THROW(detail::ParseJsonStrict(Nested(31), "ok.json"));  // 31 arrays + the object
  EXPECT_THROW(detail::ParseJsonStrict(Nested(32), "d.json"), std::invalid_argument);
}

TEST(JsonReadTest, BracketsInsideStringsDoNotCount) {
  const std::string text = "{\"a\": \"" + std::string(100, '[') + "\\\"[[\"}";
  EXPECT_NO_THROW(detail::ParseJsonStrict(text, "s.json"));
}

TEST(JsonReadTest, RefusesDuplicateKeysAtAnyDepth) {
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { detail::ParseJsonStrict("{\"k-max\": 2, \"k-max\": 3}", "c.json"); },
      {"c.json", "duplicate key 'k-max'"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { detail::ParseJsonStrict("{\"gate\": {\"bias\": [1], \"bias\": [2]}}", "p.json"); },
      {"duplicate key 'bias'"}));
  // The same key in sibling objects is fine.
  EXPECT_NO_THROW(detail::ParseJsonStrict("[{\"a\": 1}, {\"a\": 2}]", "ok.json"));
}

TEST(JsonReadTest, ParserMessagesAreBoundedAndPrintable) {
  const std::string text = "{\"a\": \"" + std::string(100000, 'x') + std::string(1, '\0') + "\"}";
  try {
    detail::ParseJsonStrict(text, "bin.json");
    FAIL() << "invalid JSON accepted";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_LT(message.size(), 400u);
    EXPECT_EQ(message.find('\0'), std::string::npos);
    EXPECT_NE(message.find("bin.json: invalid JSON"), std::string::npos);
  }
}

}  // namespace
}  // namespace moelab
