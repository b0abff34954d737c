// A fitted or true MoE seen as the mixing measure the Voronoi losses compare
// (docs/theory.md §2.4):
//
//   G = sum_i exp(w_i) delta_{theta_i},   theta_i = (beta1_i, a_i, b_i, nu_i [, tau]).
//
// The log-weight w_i and the gate part of the atom come from the gate
// (Gate::MixingAtoms, model/gates/), chosen so that the measure only carries
// what the density can identify:
//
//   gate                    w_i           gate slope in theta   tau in theta
//   softmax, top-K          beta0_i       beta1_i               no
//   temperature (kRatio)    beta0_i/tau   beta1_i/tau           no
//   temperature (kRaw)      beta0_i/tau   beta1_i               yes
//   activation, identity    beta0_i       beta1_i/tau (kRatio)  no  (kRaw: beta1_i, yes)
//   activation, tanh/sigm.  beta0_i       beta1_i               yes
//
// (the README's gate table lists every registered gate's choice).
//
// Why kRatio is the default for the temperature gate: the gate is invariant
// under (beta0, beta1, tau) -> c (beta0, beta1, tau) (docs/theory.md §2.3), so only beta/tau
// is identified; a loss on raw (beta1, tau) would report the arbitrary scale
// an estimator happened to pick as "error". In ratio form a temperature model
// is exactly a softmax model with logits beta1/tau x + beta0/tau, so its loss
// equals the softmax loss of the equivalent softmax model (the temperature
// preset and softmax-exact have the same logits and hence the same losses).
// kRaw compares (beta1, tau) literally, as the atoms of docs/theory.md §2.4; it is only
// meaningful when the estimator pins the scale (tau fixed, as moelab's
// estimators do by default). A non-linear activation breaks the scale
// symmetry (act(c z)/c != act(z)), so tau is an honest atom coordinate there
// in either mode; it is shared by all atoms, so it never changes a Voronoi
// cell, but it enters the loss of every atom.
//
// Gauge (the gate's Gauge()): a common translation (w_i + t0, gate_slope_i +
// t1) of the measure leaves the density unchanged where the gate allows it:
// `weight_translation` says whether t0 applies, `slope_translation` whether
// t1 does (a non-linear activation gate: t0 only; a gate without translation
// symmetry: neither; docs/theory.md §2.3, §3.5). The representation is a plain value so the gauge code
// (voronoi_loss.hpp) can shift it without knowing the gate.
#pragma once

#include <optional>

#include "moelab/core/types.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

enum class TemperatureHandling {
  kRatio,  // compare beta/tau (scale-invariant; default)
  kRaw,    // compare beta1 and tau literally (needs a pinned scale)
};

const char* ToString(TemperatureHandling handling);

struct MixingMeasure {
  Vector log_weight;        // w_i (k)
  Matrix gate_slope;        // gate part of theta (k x d)
  Matrix expert_slope;      // a (k x d)
  Vector intercept;         // b (k)
  Vector variance;          // nu (k), the variance
  std::optional<double> temperature;  // tau, when it is an atom coordinate
  bool weight_translation = true;     // gauge acts on log_weight by t0
  bool slope_translation = true;      // gauge acts on gate_slope by t1

  Index num_atoms() const { return log_weight.size(); }
  Index dim() const { return expert_slope.cols(); }
  // Length of an atom's coordinate vector: 2d + 2 (+1 with tau).
  Index atom_size() const { return 2 * dim() + 2 + (temperature ? 1 : 0); }
  // Row i = theta_i laid out as (gate_slope_i, a_i, b_i, nu_i [, tau]).
  Matrix AtomCoordinates() const;
};

// The measure of `params` under the rules of the table above. Validates
// `params` (std::invalid_argument naming the field).
MixingMeasure ToMixingMeasure(const MoeParams& params,
                              TemperatureHandling handling = TemperatureHandling::kRatio);

// Reference-expert gauge on the measure: subtracts atom `reference`'s log
// weight from every log weight when weight_translation holds and, when
// slope_translation holds, its gate slope from every gate slope. For the last atom this equals
// ToMixingMeasure(NormaliseGauge(params)).
MixingMeasure NormaliseToReference(const MixingMeasure& measure, Index reference);

}  // namespace moelab
