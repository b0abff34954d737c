#include "moelab/model/model_shape.hpp"

#include "moelab/core/check.hpp"

namespace moelab {

void ModelShape::Validate() const {
  GateParams gate = ZeroGate(*this);
  if (num_experts < 1) ThrowInvalid("ModelShape::Validate", "num_experts must be >= 1");
  if (dim < 1) ThrowInvalid("ModelShape::Validate", "dim must be >= 1");
  gate.Validate();
}

GateParams ZeroGate(const ModelShape& shape) {
  GateParams gate;
  gate.kind = shape.gate;
  gate.bias = Vector::Zero(std::max<Index>(shape.num_experts, 0));
  gate.slope = Matrix::Zero(std::max<Index>(shape.num_experts, 0), std::max<Index>(shape.dim, 0));
  gate.top_k = shape.top_k;
  gate.ranking = shape.ranking;
  gate.activation = shape.activation;
  gate.temperature = shape.temperature;
  return gate;
}

ModelShape ShapeOf(const MoeParams& params) {
  ModelShape shape;
  shape.gate = params.gate.kind;
  shape.num_experts = params.num_experts();
  shape.dim = params.dim();
  shape.top_k = params.gate.top_k;
  shape.ranking = params.gate.ranking;
  shape.activation = params.gate.activation;
  shape.temperature = params.gate.temperature;
  return shape;
}

}  // namespace moelab
