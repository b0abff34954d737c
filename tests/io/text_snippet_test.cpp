#include "moelab/io/text_snippet.hpp"

#include <gtest/gtest.h>

#include <string>

namespace moelab {
namespace {

TEST(SnippetTest, QuotesShortTextUnchanged) { EXPECT_EQ(Snippet("x1"), "'x1'"); }

TEST(SnippetTest, EscapesNulAndControlBytesAndTruncatesLongText) {
  EXPECT_EQ(Snippet(std::string("a\0b\x1b", 4)), "'a\\0b\\x1b'");
  const std::string cell(2 * 1024 * 1024, '7');  // issue 14: a 2 MB cell was echoed whole
  const std::string quoted = Snippet(cell);
  EXPECT_LT(quoted.size(), 100u);
  EXPECT_NE(quoted.find("(2097152 bytes)"), std::string::npos);
}

TEST(DidYouMeanTest, SuggestsTheClosestNameForATypo) {
  const std::vector<std::string> keys = {"kind", "bias", "slope", "temperature", "top_k"};
  EXPECT_EQ(DidYouMean("temprature", keys), " (did you mean 'temperature'?)");
  EXPECT_EQ(DidYouMean("slpoe", keys), " (did you mean 'slope'?)");  // adjacent swap
  EXPECT_EQ(DidYouMean("completely-different", keys), "");
  EXPECT_EQ(DidYouMean(std::string(5000, 'a'), keys), "");  // no quadratic work on hostile input
}

}  // namespace
}  // namespace moelab
