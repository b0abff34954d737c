// Vectorised exp and log over contiguous arrays (private to estimators).
//
// Why: exps are a large share of the EM E-step (2(k - 1) per sample at
// k = 2, 3, 2k otherwise: the gate's and the joint's softmax; a quarter of
// the pass at k = 3), and logs enter the log-sum-exps. The default build targets plain
// x86-64 (SSE2), where Eigen's packet exp/log cost ~4 ns per value (their
// floor and ldexp are emulated without SSE4.1) - slower than glibc's scalar
// exp. These kernels use the Cephes rational approximation for exp (the one
// Eigen uses) and the fdlibm/musl polynomial for log, but reduce the argument
// with the round-to-nearest "shift" trick and build 2^n with integer adds, so
// every step is one SSE2 / AVX2 instruction:
//
//   exp(x) = 2^n e^r,  n = round(x / ln 2),  r = x - n ln 2 (two-part ln 2),
//            e^r = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)),   |r| <= ln(2)/2;
//   log(x) = k ln 2 + log(1 + f),  x = 2^k (1 + f),  1 + f in [sqrt(2)/2, sqrt(2)),
//            log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)),  s = f / (2 + f).
//
// Accuracy (measured over 2e6 random arguments against glibc): exp relative
// error <= 1.5 eps, log <= 1 ulp. Special values: exp(-inf) = 0 exactly (so a
// top-K gate's unselected experts get probability exactly 0), exp(x) = 0 for
// x < -708.3 (results that would be subnormal are flushed to zero),
// exp(x > 709) = +inf, NaN stays NaN; log of 0, negatives, subnormals, inf and
// NaN falls back to std::log.
//
// Levels (simd_level.hpp; the active one is chosen at run time, so the
// binary still runs on any x86-64): portable - 2-wide SSE2 (std::exp /
// std::log with compilers without vector extensions); avx2 - the same
// kernels 4-wide with FMA contraction; avx512 - another exp,
// exp(x) = 2^(m/16) e^r with 2^(j/16) from a 16-entry table (one permute),
// |r| <= ln(2)/32, e^r by a degree-6 polynomial and the power of two by
// scalef (relative error <= 1 eps over the same 2e6 arguments, no
// division), and the AVX2 log. ExpArray in one throwaway loop over 256
// arguments: 2.9-3.3 (portable), 1.03-1.12 (avx2), 0.49 (avx512) ns per
// value. The same special values on every level (tested); otherwise the
// levels agree to within 3 eps (exp) and 2 ulps (log), not bit for bit,
// and each level gives the same bits on every x86-64 machine that runs it.
#pragma once

#include "moelab/core/types.hpp"
#include "moelab/estimators/detail/simd_level.hpp"

namespace moelab::detail {

// y[j] = exp(x[j]) for j < n, at ActiveSimdLevel(). x and y may be the same
// array (not partially overlapping); out of place is faster at the avx2 and
// portable levels (one range check for the whole array instead of one per
// vector; the same bits).
void ExpArray(const double* x, double* y, Index n);

// y[j] = log(x[j]) for j < n, at ActiveSimdLevel(). x and y may be the same array.
void LogArray(const double* x, double* y, Index n);

// The same at a given level, which must run here (SimdLevelRuns): the EM
// kernels call the exps of their own level, tests compare the levels.
void ExpArray(SimdLevel level, const double* x, double* y, Index n);
void LogArray(SimdLevel level, const double* x, double* y, Index n);

}  // namespace moelab::detail
