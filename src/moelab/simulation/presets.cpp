#include "moelab/simulation/presets.hpp"

#include <stdexcept>

namespace moelab {
namespace {

// Column-vector / row-matrix shorthands for d = 1 truths.
Vector Vec(std::initializer_list<double> values) {
  Vector v(static_cast<Index>(values.size()));
  Index i = 0;
  for (double x : values) v[i++] = x;
  return v;
}

ExpertParams DemystExperts() {
  ExpertParams experts;
  experts.intercept = Vec({15.0, -5.0});
  experts.slope = Vec({-20.0, 20.0});
  experts.variance = Vec({0.09, 0.16});
  return experts;
}

CovariateDesign UnitInterval() {
  CovariateDesign design;
  design.kind = DesignKind::kUniform;
  design.lower = 0.0;
  design.upper = 1.0;
  return design;
}

Preset SoftmaxExact() {
  Preset p;
  p.name = "softmax-exact";
  p.description = "[Demyst] truth: k*=2 softmax gate, beta0=(-8,0), beta1=(25,0), "
                  "means 15-20x and -5+20x, variances 0.09/0.16, x~U[0,1]; fit k=2";
  p.truth.gate.kind = GateKind::kSoftmax;
  p.truth.gate.bias = Vec({-8.0, 0.0});
  p.truth.gate.slope = Vec({25.0, 0.0});
  p.truth.experts = DemystExperts();
  p.design = UnitInterval();
  p.fitted_experts = 2;
  return p;
}

Preset SoftmaxOver() {
  Preset p = SoftmaxExact();
  p.name = "softmax-over";
  p.description = "[Demyst] truth (k*=2), over-specified fit with k=3";
  p.fitted_experts = 3;
  return p;
}

Preset TopKExact() {
  Preset p;
  p.name = "topk-exact";
  p.description = "top-2 of 3 experts ranked by beta1*x: beta1=(8,4,0), beta0=(-1,1,0), "
                  "means 4-2x, x, -4+3x, variances 0.09/0.16/0.25, x~U[-1,1]; fit k=3, K=2";
  p.truth.gate.kind = GateKind::kTopK;
  p.truth.gate.top_k = 2;
  p.truth.gate.ranking = TopKRanking::kSlopeOnly;
  p.truth.gate.bias = Vec({-1.0, 1.0, 0.0});
  p.truth.gate.slope = Vec({8.0, 4.0, 0.0});
  p.truth.experts.intercept = Vec({4.0, 0.0, -4.0});
  p.truth.experts.slope = Vec({-2.0, 1.0, 3.0});
  p.truth.experts.variance = Vec({0.09, 0.16, 0.25});
  p.design = CovariateDesign{};  // Uniform[-1, 1]
  p.fitted_experts = 3;
  p.fitted_top_k = 2;
  return p;
}

Preset TopKOver() {
  Preset p = TopKExact();
  p.name = "topk-over";
  p.description = "topk-exact truth, over-specified fit with k=4 and top-3 "
                  "(two atoms for the always-selected expert)";
  p.fitted_experts = 4;
  p.fitted_top_k = 3;
  return p;
}

Preset Temperature() {
  Preset p;
  p.name = "temperature";
  p.description = "[Demyst] experts, temperature gate softmax((beta1 x+beta0)/tau) with "
                  "beta1=(2.5,0), beta0=(-0.8,0), tau=0.1, x~U[0,1]; fit k=2";
  p.truth.gate.kind = GateKind::kTemperature;
  p.truth.gate.bias = Vec({-0.8, 0.0});
  p.truth.gate.slope = Vec({2.5, 0.0});
  p.truth.gate.temperature = 0.1;
  p.truth.experts = DemystExperts();
  p.design = UnitInterval();
  p.fitted_experts = 2;
  return p;
}

Preset ActivationPreset() {
  Preset p;
  p.name = "activation";
  p.description = "[Demyst] experts, activation gate softmax(tanh(beta1 x)/tau+beta0) with "
                  "beta1=(3,0), beta0=(-1,0), tau=0.5, x~U[0,1]; fit k=2";
  p.truth.gate.kind = GateKind::kActivation;
  p.truth.gate.activation = Activation::kTanh;
  p.truth.gate.bias = Vec({-1.0, 0.0});
  p.truth.gate.slope = Vec({3.0, 0.0});
  p.truth.gate.temperature = 0.5;
  p.truth.experts = DemystExperts();
  p.design = UnitInterval();
  p.fitted_experts = 2;
  return p;
}

Preset NormalisedSigmoid() {
  Preset p;
  p.name = "normalised-sigmoid";
  p.description = "normalised sigmoid gate sigmoid(z_i)/sum_j sigmoid(z_j), z = beta1 x + beta0, "
                  "beta1=(4,-2), beta0=(1,-0.5), means 2-x and -2+2x, variances 0.25/0.16, "
                  "x~U[-1,1]; fit k=2 (no rate theory)";
  p.truth.gate.kind = GateKind::kNormalisedSigmoid;
  p.truth.gate.bias = Vec({1.0, -0.5});
  p.truth.gate.slope = Vec({4.0, -2.0});
  p.truth.experts.intercept = Vec({2.0, -2.0});
  p.truth.experts.slope = Vec({-1.0, 2.0});
  p.truth.experts.variance = Vec({0.25, 0.16});
  p.design.kind = DesignKind::kUniform;
  p.design.lower = -1.0;
  p.design.upper = 1.0;
  p.fitted_experts = 2;
  return p;
}

}  // namespace

const std::vector<std::string>& PresetNames() {
  static const std::vector<std::string> names = {
      "softmax-exact", "softmax-over", "topk-exact", "topk-over", "temperature", "activation",
      "normalised-sigmoid"};
  return names;
}

Preset GetPreset(const std::string& name) {
  Preset p;
  if (name == "softmax-exact") p = SoftmaxExact();
  else if (name == "softmax-over") p = SoftmaxOver();
  else if (name == "topk-exact") p = TopKExact();
  else if (name == "topk-over") p = TopKOver();
  else if (name == "temperature") p = Temperature();
  else if (name == "activation") p = ActivationPreset();
  else if (name == "normalised-sigmoid") p = NormalisedSigmoid();
  else {
    std::string valid;
    for (const auto& n : PresetNames()) valid += (valid.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown preset '" + name + "' (valid: " + valid + ")");
  }
  p.truth.Validate();
  return p;
}

}  // namespace moelab
