#include "moelab/model/gate_params.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::RandomGate;
using testing::ThrowsInvalidArgument;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(GateParamsTest, RandomGatesOfEveryKindValidate) {
  Rng rng(601);
  for (const GateParams& gate : testing::EveryGate(3, 2, rng)) {
    EXPECT_NO_THROW(gate.Validate()) << testing::Describe(gate);
  }
}

TEST(GateParamsTest, ShapeErrorsNameTheField) {
  Rng rng(602);
  GateParams empty;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { empty.Validate(); }, {"GateParams::Validate", "k = 0"}));
  GateParams rows = RandomGate(GateKind::kSoftmax, 3, 2, rng);
  rows.slope.conservativeResize(2, 2);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { rows.Validate(); }, {"gate.slope rows"}));
  GateParams cols = RandomGate(GateKind::kSoftmax, 3, 2, rng);
  cols.slope.resize(3, 0);
  EXPECT_TRUE(ThrowsInvalidArgument([&] { cols.Validate(); }, {"gate.slope", "d = 0"}));
}

TEST(GateParamsTest, NonFiniteEntriesNameTheEntry) {
  Rng rng(603);
  for (double bad : {kNaN, kInf, -kInf}) {
    GateParams bias = RandomGate(GateKind::kSoftmax, 3, 2, rng);
    bias.bias[1] = bad;
    EXPECT_TRUE(ThrowsInvalidArgument([&] { bias.Validate(); }, {"gate.bias(1, 0)"}));
    GateParams slope = RandomGate(GateKind::kTopK, 3, 2, rng);
    slope.slope(2, 1) = bad;
    EXPECT_TRUE(ThrowsInvalidArgument([&] { slope.Validate(); }, {"gate.slope(2, 1)"}));
  }
}

TEST(GateParamsTest, TemperatureMustBePositiveWhereItIsUsed) {
  Rng rng(604);
  for (GateKind kind : {GateKind::kTemperature, GateKind::kActivation}) {
    for (double bad : {0.0, -0.5, kNaN, kInf}) {
      GateParams gate = RandomGate(kind, 2, 1, rng);
      gate.temperature = bad;
      EXPECT_TRUE(ThrowsInvalidArgument([&] { gate.Validate(); }, {"gate.temperature"}))
          << ToString(kind) << " tau=" << bad;
    }
  }
  // A softmax gate has no temperature, so the field is not checked.
  GateParams softmax = RandomGate(GateKind::kSoftmax, 2, 1, rng);
  softmax.temperature = 0.0;
  EXPECT_NO_THROW(softmax.Validate());
}

TEST(GateParamsTest, TopKMustLieBetweenOneAndK) {
  Rng rng(605);
  for (int bad : {-1, 0, 4, 10}) {
    GateParams gate = RandomGate(GateKind::kTopK, 3, 2, rng);
    gate.top_k = bad;
    EXPECT_TRUE(ThrowsInvalidArgument([&] { gate.Validate(); }, {"gate.top_k", "[1, k = 3]"}))
        << "K=" << bad;
  }
  for (int good : {1, 2, 3}) {
    GateParams gate = RandomGate(GateKind::kTopK, 3, 2, rng, good);
    EXPECT_NO_THROW(gate.Validate());
  }
}

TEST(GateParamsTest, NamesRoundTripAndUnknownNamesThrowListingTheValidOnes) {
  for (GateKind k : {GateKind::kSoftmax, GateKind::kTopK, GateKind::kTemperature,
                     GateKind::kActivation}) {
    EXPECT_EQ(ParseGateKind(ToString(k)), k);
  }
  for (TopKRanking r : {TopKRanking::kSlopeOnly, TopKRanking::kFullLogit}) {
    EXPECT_EQ(ParseTopKRanking(ToString(r)), r);
  }
  for (Activation a : {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity}) {
    EXPECT_EQ(ParseActivation(ToString(a)), a);
  }
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseGateKind("gaussian"); },
                                    {"gaussian", "softmax, topk, temperature, activation"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseTopKRanking("bias"); }, {"bias", "slope, logit"}));
  EXPECT_TRUE(ThrowsInvalidArgument([] { ParseActivation("relu"); },
                                    {"relu", "tanh, sigmoid, identity"}));
}

}  // namespace
}  // namespace moelab
