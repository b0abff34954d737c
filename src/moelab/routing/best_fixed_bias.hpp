// The best fixed bias p* = argmin_p D_S(p) for a finite token set S, computed
// exactly as the dual of the balanced-assignment (transportation) LP of
// docs/theory.md §7.2:
//   max sum_{t,j} s_tj x_tj  s.t.  sum_j x_tj = K,  sum_t x_tj = C = K N / E,
//   0 <= x_tj <= 1.
// The constraint matrix is totally unimodular, so the LP optimum is integral
// and equals min_p D_S(p) (strong duality).
//
// Algorithm: successive shortest paths on the E-node "expert graph"
// (min-cost flow specialised to few sinks). Start from unconstrained top-K
// routing (optimal when the expert constraints are dropped); every overloaded
// expert holds excess. Moving one assignment from expert j to j' through a
// token t that holds j but not j' costs s_tj - s_tj'; the cheapest such move
// for each ordered pair (j, j') is kept in a lazily cleaned heap (E^2 heaps,
// N K (E - K) entries of 4 bytes). Each augmentation is a Dijkstra search with
// Johnson potentials from the overloaded to the underloaded experts, O(E^2)
// heap peeks, and moves one unit along the path. The number of augmentations
// is the total initial excess <= N K. The final potentials pi give the prices
// p* = -pi: every token's selected set is then a top-K of s - p*
// (non-negative reduced costs), which is the optimality certificate.
//
// Accuracy: exact up to floating-point round-off. The result reports the
// duality gap D_S(p*) - (primal value), which is 0 in exact arithmetic; with
// doubles it is O(1e-12) relative in our tests, far below any regret
// difference it is used to measure (regret.hpp).
//
// N K must be divisible by E (C integral); Validate the sample size upstream.
#pragma once

#include "moelab/core/types.hpp"

namespace moelab {

struct BestFixedBiasResult {
  Vector bias;             // p*, centred (mean 0)
  double primal_value = 0.0;  // optimal sum of selected scores
  double dual_value = 0.0;    // D_S(p*)
  double gap = 0.0;           // dual_value - primal_value (certificate)
  Index augmentations = 0;
  Vector loads;            // loads of the optimal assignment (all equal C)
};

// Throws std::invalid_argument when K is outside [1, E), N K is not a
// multiple of E, or scores are not finite.
BestFixedBiasResult SolveBestFixedBias(const Eigen::Ref<const Matrix>& scores, int K);

}  // namespace moelab
