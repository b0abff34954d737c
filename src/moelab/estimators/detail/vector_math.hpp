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
// Dispatch: on x86 with GCC or Clang, the same kernel is compiled twice - with
// 4-wide vectors and FMA for CPUs that report AVX2 and FMA (checked once at
// run time, so the binary still runs on any x86-64) and 2-wide SSE2 for the
// rest. The AVX2 copy fuses multiply-adds (ExpArray ~25 % faster, 0.8 vs
// 1.1 ns per value in a throwaway timing loop); the two copies therefore agree to within 3 eps (exp) and 2 ulps
// (log), exactly on the special values (tested), and each copy gives the same
// bits on every machine that runs it. Other compilers use std::exp / std::log.
#pragma once

#include "moelab/core/types.hpp"

namespace moelab::detail {

// y[j] = exp(x[j]) for j < n. x and y may be the same array (not partially
// overlapping); out of place is faster (one range check for the whole array
// instead of one per vector; the same bits).
void ExpArray(const double* x, double* y, Index n);

// y[j] = log(x[j]) for j < n. x and y may be the same array.
void LogArray(const double* x, double* y, Index n);

// The portable 2-wide kernels, bypassing the AVX2 dispatch (tests compare the
// two paths bit for bit).
void ExpArrayPortable(const double* x, double* y, Index n);
void LogArrayPortable(const double* x, double* y, Index n);

}  // namespace moelab::detail
