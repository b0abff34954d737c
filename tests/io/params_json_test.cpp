#include "moelab/io/params_json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

// Parameters with full-precision random mantissas (not short decimals), so
// that a writer printing fewer than 17 significant digits would be caught.
MoeParams AwkwardParams(const GateParams& gate, Rng& rng) {
  MoeParams params = testing::RandomMoe(gate, rng);
  params.gate.bias[0] = 1.0 / 3.0;
  params.experts.variance[0] = 2.0 / 7.0 * 1e-5;
  params.experts.intercept[0] = -std::nextafter(1e10, 0.0);
  return params;
}

void ExpectIdentical(const MoeParams& a, const MoeParams& b) {
  EXPECT_EQ(a.gate.kind, b.gate.kind);
  EXPECT_EQ(a.gate.bias, b.gate.bias);
  EXPECT_EQ(a.gate.slope, b.gate.slope);
  if (a.gate.uses_temperature()) {
    EXPECT_EQ(a.gate.temperature, b.gate.temperature);
  }
  if (a.gate.kind == GateKind::kTopK) {
    EXPECT_EQ(a.gate.top_k, b.gate.top_k);
    EXPECT_EQ(a.gate.ranking, b.gate.ranking);
  }
  if (a.gate.kind == GateKind::kActivation) {
    EXPECT_EQ(a.gate.activation, b.gate.activation);
  }
  EXPECT_EQ(a.experts.slope, b.experts.slope);
  EXPECT_EQ(a.experts.intercept, b.experts.intercept);
  EXPECT_EQ(a.experts.variance, b.experts.variance);
}

TEST(ParamsJsonTest, RoundTripIsExactForEveryGateKind) {
  Rng rng(1401);
  for (Index d : {1, 3}) {
    for (const GateParams& gate : testing::EveryGate(3, d, rng)) {
      SCOPED_TRACE(testing::Describe(gate));
      const MoeParams params = AwkwardParams(gate, rng);
      ExpectIdentical(params, ParamsFromJson(ParamsToJson(params)));
    }
  }
}

TEST(ParamsJsonTest, FileRoundTripIsExact) {
  Rng rng(1402);
  const MoeParams params =
      AwkwardParams(testing::RandomGate(GateKind::kTopK, 4, 2, rng, 2, TopKRanking::kFullLogit), rng);
  const std::string path = testing::MakeTempDir("moelab_params_") + "/truth.json";
  WriteParamsJson(params, path);
  ExpectIdentical(params, ReadParamsJson(path));
}

TEST(ParamsJsonTest, OptionalGateFieldsTakeTheDefaultsAndScalarRowsMeanDOne) {
  const MoeParams params = ParamsFromJson(R"({
    "gate": {"kind": "topk", "bias": [0, 1, 2], "slope": [1, 2, 3], "top_k": 2},
    "experts": {"intercept": [0, 0, 0], "slope": [[1], [2], [3]], "variance": [1, 1, 1]}})");
  EXPECT_EQ(params.gate.ranking, TopKRanking::kSlopeOnly);
  EXPECT_EQ(params.gate.slope.rows(), 3);
  EXPECT_EQ(params.gate.slope.cols(), 1);
  EXPECT_EQ(params.gate.slope(2, 0), 3.0);
}

// A valid document with one substitution applied.
std::string Doc(const std::string& gate_extra = "", const std::string& variance = "[1, 2]",
                const std::string& bias = "[0.5, 0]", const std::string& kind = "\"temperature\"") {
  return R"({"gate": {"kind": )" + kind + R"(, "bias": )" + bias +
         R"(, "slope": [[1], [0]])" + gate_extra +
         R"(}, "experts": {"intercept": [0, 1], "slope": [[1], [2]], "variance": )" + variance +
         "}}";
}

TEST(ParamsJsonTest, TheTestDocumentIsValid) { EXPECT_NO_THROW(ParamsFromJson(Doc(), "doc.json")); }

TEST(ParamsJsonTest, SyntaxErrorsNameTheSource) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson("{\"gate\": ", "broken.json"); },
                                    {"broken.json", "invalid JSON"}));
}

TEST(ParamsJsonTest, MissingFieldsAreNamed) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(R"({"experts": {}})", "a.json"); },
                                    {"a.json", "'gate'"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { ParamsFromJson(R"({"gate": {"kind": "softmax", "slope": [[1]]}, "experts": {}})", "b.json"); },
      {"b.json", "gate.bias"}));
  std::string no_variance = Doc();
  no_variance.replace(no_variance.find("\"variance\""), 10, "\"varianceX\"");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ParamsFromJson(no_variance, "c.json"); },
                                    {"c.json", "experts.variance"}));
}

TEST(ParamsJsonTest, WrongTypesAreNamed) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(Doc("", "[1, \"2\"]"), "t.json"); },
                                    {"t.json", "experts.variance[1]", "number"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(Doc("", "[1, 2]", "3"), "t.json"); },
                                    {"t.json", "gate.bias", "array"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(Doc(", \"temperature\": \"hot\""), "t.json"); },
                                    {"t.json", "gate.temperature"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(Doc("", "[1, 2]", "[0.5, 0]", "3"), "t.json"); },
                                    {"t.json", "gate.kind"}));
  // K = 1.5 must not be truncated to 1 silently.
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { ParamsFromJson(Doc(", \"top_k\": 1.5", "[1, 2]", "[0.5, 0]", "\"topk\""), "t.json"); },
      {"t.json", "gate.top_k", "integer"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { ParamsFromJson(Doc(", \"activation\": 1"), "t.json"); }, {"t.json", "gate.activation"}));
}

TEST(ParamsJsonTest, InvalidValuesAreNamed) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(Doc("", "[1, -2]"), "v.json"); },
                                    {"v.json", "experts.variance[1]"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(Doc(", \"temperature\": 0"), "v.json"); },
                                    {"v.json", "gate.temperature"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { ParamsFromJson(Doc(", \"top_k\": 3", "[1, 2]", "[0.5, 0]", "\"topk\""), "v.json"); },
      {"v.json", "gate.top_k"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { ParamsFromJson(Doc("", "[1, 2]", "[0.5, 0]", "\"gaussian\""), "v.json"); },
      {"v.json", "unknown gate 'gaussian'"}));
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] { ParamsFromJson(Doc(", \"ranking\": \"bias\""), "v.json"); }, {"v.json", "ranking"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(Doc("", "[1, 2, 3]"), "v.json"); },
                                    {"v.json", "experts.variance"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParamsFromJson(Doc("", "[1, 2]", "[0.5, 0, 1]"), "v.json"); },
                                    {"v.json", "gate.slope rows"}));
  // Gate with 2 experts, experts block with 3.
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] {
        ParamsFromJson(R"({"gate": {"kind": "softmax", "bias": [0, 0], "slope": [[1], [0]]},
          "experts": {"intercept": [0, 1, 2], "slope": [[1], [2], [3]], "variance": [1, 1, 1]}})",
                       "v.json");
      },
      {"v.json", "(k)"}));
  // Gate in d = 2, experts in d = 1.
  EXPECT_TRUE(ThrowsInvalidArgument(
      [] {
        ParamsFromJson(R"({"gate": {"kind": "softmax", "bias": [0, 0], "slope": [[1, 1], [0, 0]]},
          "experts": {"intercept": [0, 1], "slope": [[1], [2]], "variance": [1, 1]}})",
                       "v.json");
      },
      {"v.json", "(d)"}));
  std::string ragged = Doc();
  ragged.replace(ragged.find("[[1], [2]]"), 10, "[[1], [2, 3]]");
  EXPECT_TRUE(ThrowsInvalidArgument([&] { ParamsFromJson(ragged, "v.json"); },
                                    {"v.json", "experts.slope[1]"}));
}

TEST(ParamsJsonTest, MissingFileIsNamed) {
  EXPECT_TRUE(ThrowsInvalidArgument([] { ReadParamsJson("/nonexistent/moelab/p.json"); },
                                    {"/nonexistent/moelab/p.json"}));
}

}  // namespace
}  // namespace moelab

namespace moelab {
namespace {

// Issue 14: the typo "temprature" silently left tau = 1.
TEST(ParamsJsonStrictTest, UnknownKeysAreRefusedWithASuggestion) {
  EXPECT_TRUE(testing::ThrowsInvalidArgument(
      [] { ParamsFromJson(Doc(", \"temprature\": 2"), "typo.json"); },
      {"typo.json", "unknown field 'gate.temprature'", "did you mean 'temperature'"}));
  EXPECT_TRUE(testing::ThrowsInvalidArgument(
      [] { ParamsFromJson(R"({"gate": {}, "expert": {}})", "root.json"); },
      {"root.json", "unknown field 'expert'", "did you mean 'experts'"}));
}

// Issue 14: a variance of 1e-320 (subnormal) was accepted.
TEST(ParamsJsonStrictTest, SubnormalVariancesAreRefused) {
  EXPECT_TRUE(testing::ThrowsInvalidArgument([] { ParamsFromJson(Doc("", "[1, 1e-320]"), "tiny.json"); },
                                             {"tiny.json", "experts.variance[1]", "smallest normal"}));
  EXPECT_NO_THROW(ParamsFromJson(Doc("", "[1, 1e-300]"), "small.json"));
}

TEST(ParamsJsonStrictTest, DeepNestingAndDuplicateKeysAreRefused) {
  const std::string deep = "{\"gate\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { ParamsFromJson(deep, "deep.json"); },
                                             {"deep.json", "nested deeper"}));
  std::string twice = Doc();
  twice.replace(twice.find("\"variance\""), 10, "\"variance\": [3, 4], \"variance\"");
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { ParamsFromJson(twice, "dup.json"); },
                                             {"dup.json", "duplicate key 'variance'"}));
}

TEST(ParamsJsonStrictTest, ADirectoryIsReportedAsSuch) {
  const std::string dir = testing::MakeTempDir("moelab_params_dir");
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { ReadParamsJson(dir); }, {dir, "is a directory"}));
}

}  // namespace
}  // namespace moelab
