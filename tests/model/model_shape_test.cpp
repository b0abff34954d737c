#include "moelab/model/model_shape.hpp"

#include <gtest/gtest.h>

#include "support/expect_invalid.hpp"
#include "support/random_params.hpp"

namespace moelab {
namespace {

using testing::ThrowsInvalidArgument;

TEST(ModelShapeTest, ShapeOfAndZeroGateRoundTrip) {
  Rng rng(1001);
  for (const GateParams& gate : testing::EveryGate(4, 3, rng)) {
    const MoeParams params = testing::RandomMoe(gate, rng);
    const ModelShape shape = ShapeOf(params);
    EXPECT_NO_THROW(shape.Validate());
    EXPECT_EQ(shape.num_experts, 4);
    EXPECT_EQ(shape.dim, 3);
    const GateParams zero = ZeroGate(shape);
    EXPECT_EQ(zero.kind, gate.kind);
    EXPECT_EQ(zero.top_k, gate.top_k);
    EXPECT_EQ(zero.ranking, gate.ranking);
    EXPECT_EQ(zero.activation, gate.activation);
    EXPECT_EQ(zero.temperature, gate.temperature);
    EXPECT_TRUE(zero.bias.isZero(0.0));
    EXPECT_EQ(zero.slope.rows(), 4);
    EXPECT_EQ(zero.slope.cols(), 3);
    EXPECT_TRUE(zero.slope.isZero(0.0));
  }
}

TEST(ModelShapeTest, ValidateNamesTheField) {
  ModelShape k;
  k.num_experts = 0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { k.Validate(); }, {"num_experts"}));
  ModelShape d;
  d.dim = 0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { d.Validate(); }, {"dim"}));
  ModelShape topk;
  topk.gate = GateKind::kTopK;
  topk.num_experts = 3;
  topk.top_k = 4;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { topk.Validate(); }, {"top_k"}));
  topk.top_k = 0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { topk.Validate(); }, {"top_k"}));
  ModelShape tau;
  tau.gate = GateKind::kTemperature;
  tau.temperature = -1.0;
  EXPECT_TRUE(ThrowsInvalidArgument([&] { tau.Validate(); }, {"temperature"}));
}

}  // namespace
}  // namespace moelab
