// The experiments' command line (experiments/common/cli.hpp): full-width
// numbers with range checks, the one comma-list parser, strict config files.
// Issue 14 reproductions: --reps 4294967297 ran 1 replication, --starts
// 2147483648 failed with the wrong reason, 1e400 was "not a number", a
// config nested 100,000 deep crashed, duplicate config keys: last wins.
#include "common/cli.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab::cli {
namespace {

using testing::ThrowsInvalidArgument;

TEST(ParseIntegerTest, FullWidthWithDistinctReasons) {
  EXPECT_EQ(ParseInteger("42", "x"), 42);
  EXPECT_EQ(ParseInteger("1e6", "x"), 1000000);      // exact integer in exponent form
  EXPECT_EQ(ParseInteger("1000.0", "x"), 1000);      // as a JSON config dumps it
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseInteger("4294967297", "option --reps", {1, kIntMax}); },
                                    {"option --reps", "'4294967297' is out of range", "1..2147483647"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseInteger("99999999999999999999", "x"); }, {"out of range"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseInteger("1e400", "x"); }, {"out of range"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseInteger("-2", "option --k", {0, 10}); }, {"out of range", "0..10"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseInteger("1.5", "x"); }, {"not an integer"}));
  for (const char* bad : {"", "abc", "12abc", " 1", "0x10"})
    EXPECT_TRUE(ThrowsInvalidArgument([&] { ParseInteger(bad, "x"); }, {"not a number"})) << bad;
}

TEST(ParseRealTest, OutOfRangeIsNotNotANumber) {
  EXPECT_EQ(ParseReal("0.25", "x"), 0.25);
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseReal("1e400", "option --tolerance"); },
                                    {"option --tolerance", "out of range"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseReal("abc", "x"); }, {"not a number"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseReal("inf", "x"); }, {"not finite"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseReal("1", "x", {0.0, 1.0, true, true}); }, {"out of range", "(0, 1)"}));
}

TEST(SplitListTest, OneRuleForEveryList) {
  EXPECT_EQ(SplitList("a, b,c", "x"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(SplitList("single", "x"), (std::vector<std::string>{"single"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { SplitList("", "option --gates"); }, {"option --gates", "the list is empty"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { SplitList(" , ", "x"); }, {"empty"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { SplitList("a,,b", "x"); }, {"empty entry 2"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { SplitList("a,", "x"); }, {"empty entry 2"}));
  EXPECT_EQ(ParseIntList("100,300", "x", {1}), (std::vector<long long>{100, 300}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseIntList("100,0", "option --n-list", {1}); }, {"out of range"}));
}

struct Flags {
  long long reps = 40;
  double tolerance = 1e-6;
  std::string gates = "softmax";
};

CommandLine MakeCli(Flags* f) {
  CommandLine cli("test", "a test program");
  cli.AddInt("reps", &f->reps, "replications", {1, kIntMax});
  cli.AddDouble("tolerance", &f->tolerance, "tolerance", {0.0});
  cli.AddString("gates", &f->gates, "gates");
  return cli;
}

bool Parse(CommandLine& cli, std::vector<std::string> args) {
  args.insert(args.begin(), "test");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli.Parse(static_cast<int>(argv.size()), argv.data());
}

TEST(CommandLineTest, HelpStatesEveryRange) {
  Flags f;
  const std::string help = MakeCli(&f).Help();
  EXPECT_NE(help.find("accepted: 1..2147483647"), std::string::npos) << help;
  EXPECT_NE(help.find("accepted: >= 0"), std::string::npos) << help;
}

TEST(CommandLineTest, RangesAreCheckedBeforeAnyNarrowing) {
  Flags f;
  CommandLine cli = MakeCli(&f);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { Parse(cli, {"--reps", "4294967297"}); }, {"--reps", "out of range"}));
  EXPECT_EQ(f.reps, 40);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { Parse(cli, {"--repz", "3"}); }, {"did you mean '--reps'"}));
}

TEST(CommandLineTest, ConfigFilesAreReadStrictly) {
  const std::string dir = moelab::testing::MakeTempDir("moelab_cli_config");
  const auto run = [&](const std::string& json) {
    moelab::testing::WriteTextFile(dir + "/c.json", json);
    Flags f;
    CommandLine cli = MakeCli(&f);
    Parse(cli, {"--config", dir + "/c.json"});
    return f;
  };
  EXPECT_EQ(run("{\"reps\": 1e3, \"tolerance\": 0.5}").reps, 1000);
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] { run("{\"reps\": " + std::string(100000, '[') + std::string(100000, ']') + "}"); },
      {"c.json", "nested deeper"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { run("{\"reps\": 2, \"reps\": 3}"); }, {"duplicate key 'reps'"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { run("{\"reps\": [1]}"); }, {"'reps'", "got array"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { run("{\"repz\": 1}"); }, {"did you mean 'reps'"}));
  EXPECT_TRUE(ThrowsInvalidArgument([&] { run("{\"tolerance\": -1}"); }, {"--tolerance", "out of range"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [&] {
        Flags f;
        CommandLine cli = MakeCli(&f);
        Parse(cli, {"--config", dir});
      },
      {"is a directory"}));
}

}  // namespace
}  // namespace moelab::cli
