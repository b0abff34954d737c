// Named true models that carry their parameters, their covariate design and
// the fitted model shape the studies use (as ensmallen's test problems carry
// their optimum). All truths are gauge-normalised (reference = last expert).
//
//   softmax-exact  [Demyst] (docs/theory.md §5.1): k* = 2, beta0* = (-8, 0), beta1* = (25, 0),
//                  means 15 - 20x and -5 + 20x, variances 0.09 and 0.16,
//                  x ~ Uniform[0, 1]. Fitted k = 2.
//   softmax-over   same truth, fitted k = 3 (studies may ask for 4).
//   topk-exact     k* = 3, K = 2, slope-only ranking, x ~ Uniform[-1, 1],
//                  beta1* = (8, 4, 0): expert 1 is selected everywhere, expert 0
//                  on x > 0 and expert 2 on x < 0, so every selection region
//                  has positive mass (docs/theory.md §2.2.2). Fitted k = 3, K = 2.
//                  (K = 1 is avoided on purpose: with one selected expert the
//                  gate weight is 1, so beta0 and the size of beta1 do not
//                  enter the density and cannot be estimated.)
//   topk-over      same truth, fitted k = 4 with top-3: the Voronoi cell of the
//                  always-selected expert 1 holds two atoms, and every region
//                  then needs |A_l1| + |A_l2| = 3 = K-bar (docs/theory.md §4.3 condition).
//   temperature    [Demyst] experts and logits under a temperature gate:
//                  beta1* = (2.5, 0), beta0* = (-0.8, 0), tau* = 0.1, so the
//                  logits equal softmax-exact's. x ~ Uniform[0, 1]. Fitted k = 2.
//   activation     same experts, tanh activation gate: beta1* = (3, 0),
//                  beta0* = (-1, 0), tau* = 0.5. x ~ Uniform[0, 1]. Fitted k = 2.
//   normalised-sigmoid  normalised sigmoid gate (gates/normalised_sigmoid_gate.hpp),
//                  beta1* = (4, -2), beta0* = (1, -0.5) (no gauge: both experts
//                  carry free gate parameters), means 2 - x and -2 + 2x,
//                  variances 0.25 and 0.16, x ~ Uniform[-1, 1]. Fitted k = 2.
//                  No rate theory is known for this gate.
#pragma once

#include <string>
#include <vector>

#include "moelab/model/moe_params.hpp"
#include "moelab/simulation/design.hpp"

namespace moelab {

struct Preset {
  std::string name;
  std::string description;
  MoeParams truth;
  CovariateDesign design;
  Index fitted_experts = 0;  // k of the fitted model
  int fitted_top_k = 0;      // K-bar of a top-K fit (0 when the gate is not top-K)
};

const std::vector<std::string>& PresetNames();

// Throws std::invalid_argument listing the valid names for an unknown name.
Preset GetPreset(const std::string& name);

}  // namespace moelab
