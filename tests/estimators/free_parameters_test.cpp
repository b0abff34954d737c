// Tests of the gauge-free parameter count shared by every estimator and the
// rate studies (free_parameters.hpp).
#include "moelab/estimators/free_parameters.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "moelab/model/gates/gate.hpp"
#include "moelab/model/model_shape.hpp"

namespace moelab {
namespace {

ModelShape Shape(GateKind kind, Index k, Index d) {
  ModelShape shape;
  shape.gate = kind;
  shape.num_experts = k;
  shape.dim = d;
  shape.top_k = kind == GateKind::kTopK ? 1 : 0;
  return shape;
}

TEST(FreeParametersTest, ReferenceExpertEntriesArePinned) {
  // k = 3, d = 2: packed entries 0..8, the reference expert at 6 (beta0), 7..8 (beta1).
  GateParams gate = ZeroGate(Shape(GateKind::kSoftmax, 3, 2));
  EXPECT_EQ(FreeGateEntries(gate), (std::vector<Index>{0, 1, 2, 3, 4, 5}));
  // Softmax has no temperature: asking to fit one changes nothing.
  EXPECT_EQ(FreeGateEntries(gate, true), (std::vector<Index>{0, 1, 2, 3, 4, 5}));
  gate.kind = GateKind::kActivation;  // tanh: only the reference beta0 is pinned
  EXPECT_EQ(FreeGateEntries(gate), (std::vector<Index>{0, 1, 2, 3, 4, 5, 7, 8}));
  EXPECT_EQ(FreeGateEntries(gate, true), (std::vector<Index>{0, 1, 2, 3, 4, 5, 7, 8, 9}));
  gate.activation = Activation::kIdentity;  // translation symmetric again
  EXPECT_EQ(FreeGateEntries(gate, true), (std::vector<Index>{0, 1, 2, 3, 4, 5, 9}));
  gate.kind = GateKind::kTemperature;  // log tau is packed last
  EXPECT_EQ(PackedGateSize(3, 2, true), 10);
  EXPECT_EQ(FreeGateEntries(gate, true), (std::vector<Index>{0, 1, 2, 3, 4, 5, 9}));
}

TEST(FreeParametersTest, CountsMatchTheClosedForm) {
  for (GateKind kind : {GateKind::kSoftmax, GateKind::kTopK, GateKind::kTemperature,
                        GateKind::kActivation}) {
    for (Index k : {1, 2, 5}) {
      for (Index d : {1, 3}) {
        for (bool fit_tau : {false, true}) {
          const ModelShape shape = Shape(kind, k, d);
          const bool nonlinear = kind == GateKind::kActivation;  // default tanh
          const bool has_tau = kind == GateKind::kTemperature || kind == GateKind::kActivation;
          // With one expert the gate is identically 1: nothing of it is free.
          const Index gate = k == 1 ? 0
                                    : (nonlinear ? (k - 1) + k * d : (k - 1) * (d + 1)) +
                                          (fit_tau && has_tau ? 1 : 0);
          const Index expected = gate + k * (d + 2);
          EXPECT_EQ(NumFreeParameters(shape, fit_tau), expected)
              << "kind " << static_cast<int>(kind) << " k " << k << " d " << d;
          MoeParams params;
          params.gate = ZeroGate(shape);
          EXPECT_EQ(NumFreeParameters(params, fit_tau), expected);
          EXPECT_EQ(NumFreeParameters(params.gate, fit_tau), expected);
        }
      }
    }
  }
}

}  // namespace
}  // namespace moelab
