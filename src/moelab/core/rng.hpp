// Explicit random-number generation.
//
// Every function in moelab that draws takes an `Rng&`; there is no global
// generator. The engine is std::mt19937_64, whose output sequence the C++
// standard fixes. Distributions come from Boost.Random, whose algorithms are
// fixed by Boost rather than by the standard library, so the same seed gives
// the same draws with libstdc++ and libc++ alike.
#pragma once

#include <cstdint>
#include <random>

#include "moelab/core/types.hpp"

namespace moelab {

using Rng = std::mt19937_64;

// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
std::uint64_t Mix64(std::uint64_t x);

// Seed of one independent stream derived from a base seed and two coordinates
// (for rate-study cells: the sample size n and the replication index).
// Rule: Mix64(Mix64(Mix64(base) ^ a) ^ (b + 0x9E3779B97F4A7C15)).
// The result depends only on (base, a, b), never on the order in which
// streams are created, so a cell draws the same data whether it runs first,
// last, alone or on another machine.
std::uint64_t DeriveSeed(std::uint64_t base, std::uint64_t a, std::uint64_t b);

// One standard normal draw (Boost.Random ziggurat).
double StandardNormal(Rng& rng);

// One draw from Uniform[lower, upper).
double UniformReal(Rng& rng, double lower, double upper);

// Index drawn from the categorical law whose log-probabilities are
// `log_probs` (entries may be -inf; they need not be normalised).
Index CategoricalFromLog(Rng& rng, const Eigen::Ref<const Vector>& log_probs);

}  // namespace moelab
