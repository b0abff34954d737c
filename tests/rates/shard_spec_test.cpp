#include "moelab/rates/shard_spec.hpp"

#include <gtest/gtest.h>

#include "support/expect_invalid.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

const std::string kIdentity = "{\n  \"study\": \"synthetic\",\n  \"grid\": [\n    1,\n    2\n  ],\n  \"seed\": 5\n}";

TEST(ShardSpecTest, ParsesAndPrintsIOverN) {
  const ShardSpec s = ParseShardSpec("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(s.ToString(), "2/5");
  EXPECT_FALSE(s.IsWhole());
  EXPECT_TRUE(ParseShardSpec("0/1").IsWhole());
  for (const char* bad : {"", "3", "5/5", "-1/3", "1/0", "a/2", "1/2x", "1//2"})
    EXPECT_TRUE(ThrowsInvalidArgument([&] { ParseShardSpec(bad); }, {"i/N", bad})) << bad;
  EXPECT_TRUE(ThrowsInvalidArgument([] { ShardSpec{3, 2}.Validate(); }, {"index"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ShardSpec{0, 0}.Validate(); }, {"count"}));
}

// The documented rule: position p belongs to shard p mod N, so every
// position has exactly one owner and consecutive positions (the replications
// of one n, then the next n) are dealt round-robin.
TEST(ShardSpecTest, EveryPositionHasExactlyOneOwnerRoundRobin) {
  for (int count : {1, 2, 3, 7}) {
    for (std::size_t p = 0; p < 50; ++p) {
      int owners = 0;
      for (int i = 0; i < count; ++i) owners += ShardSpec{i, count}.Owns(p) ? 1 : 0;
      EXPECT_EQ(owners, 1);
      EXPECT_TRUE((ShardSpec{static_cast<int>(p % count), count}.Owns(p)));
    }
  }
}

TEST(ShardSpecTest, ShardIdentityAppendsTheShardAndSplitsBackExactly) {
  EXPECT_EQ(ShardIdentity(kIdentity + "\n", {}), kIdentity);  // whole study: the identity itself
  const std::string sharded = ShardIdentity(kIdentity, {1, 3});
  EXPECT_NE(sharded, kIdentity);
  // The identity's lines are kept, in order, and the shard comes last.
  EXPECT_EQ(sharded.rfind("{\n  \"study\": \"synthetic\",\n  \"grid\": [", 0), 0u);
  EXPECT_NE(sharded.find("\"shard\": {\n    \"index\": 1,\n    \"count\": 3"), std::string::npos);
  const auto [identity, shard] = SplitShardIdentity(sharded + "\n");
  EXPECT_EQ(identity, kIdentity);
  EXPECT_EQ(shard, (ShardSpec{1, 3}));
  const auto [whole, whole_shard] = SplitShardIdentity(kIdentity + "\n");
  EXPECT_EQ(whole, kIdentity);
  EXPECT_TRUE(whole_shard.IsWhole());
  // Text that is not JSON is a whole study too (the runner compares text).
  EXPECT_EQ(SplitShardIdentity("plain text\n").first, "plain text");
}

TEST(ShardSpecTest, ShardOfANonCanonicalIdentityIsRefused) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { ShardIdentity("not json", {0, 2}); }, {"JSON-object"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ShardIdentity("[1, 2]", {0, 2}); }, {"JSON-object"}));
  // Valid JSON, but not in dump(2) form: its shard folders could not be
  // compared with the identity text, so it is refused rather than mangled.
  EXPECT_TRUE(ThrowsInvalidArgument([] { ShardIdentity("{\"a\": 1}", {0, 2}); }, {"canonical"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { ShardIdentity(ShardIdentity(kIdentity, {0, 2}), {1, 2}); }, {"'shard' key"}));
}

}  // namespace
}  // namespace moelab
