// One fused sweep over a row block for the affine IRLS gates (private): the
// EM E-step's log-likelihood, responsibilities, Q(gate) with its gradient and
// information, and the experts' normal equations; or, with given
// responsibilities, the gate part alone (SoftmaxIrls::Evaluate).
//
// Why: the column-wise block code (row_kernels.hpp, SoftmaxIrls::AccumulateBlock)
// sweeps the 1024-row block a dozen times with B x k temporaries. This kernel
// cuts the block into chunks of kChunkRows rows whose work arrays stay in L1
// and does each chunk in three sweeps around the vectorised exp of
// vector_math.hpp (one call over the chunk at k = 2, 3): (1) logits, joint
// log densities, their row maxima and the exp arguments; (2) the exps - k - 1 per softmax at k = 2, 3, as a row's
// largest argument is exactly 0; (3) normalisation into gate probabilities
// and responsibilities (written out directly). The logs of the gate's and
// the joint's row sums enter the log-likelihood and Q through per-lane
// products, one log per chunk lane. The gate's Q, gradient and information
// and the experts' normal equations follow as weighted Grams, one sweep each
// at p = d + 1 <= 5 and k = 2, 3 with the accumulators in registers where
// they fit (at d = 1; larger p spills some), generic loops otherwise.
//
// Cost (one EM iteration at n = 10^6, one thread, README "Performance"):
// 2.9 ns per sample x expert at k = 3, d = 1 with the AVX-512 copy, against
// 3.5-3.8 ns for the AVX2 copy in the same run (em_benchmark's *Avx2
// baseline).
//
// Determinism: every sum is accumulated in W lanes (lane l takes rows
// r = l mod W of a chunk), the lanes are added pairwise ((l0 + l1) +
// (l2 + l3), then the halves at W = 8) and the chunks in row order, and the
// blocks are reduced in block order (block_runner.hpp): a block's sums,
// hence every result, are the same for every thread count. The copy that
// runs is the active SIMD level's (simd_level.hpp): AVX-512 - 8 lanes, FMA
// and its table-driven exp (vector_math.hpp); AVX2 - 4 lanes, FMA; portable
// - the same 4-lane code for SSE2, no FMA. FMA contraction alone made one EM
// iteration at n = 10^6, k = 3, d = 1 15-20 % cheaper (min and median of 15
// interleaved runs; 10 % at d = 4, within noise at k = 8, d = 4); 8 lanes
// and the AVX-512 exp another ~20 %. So the copies agree to round-off, not
// bit for bit (tests bound the difference: sums to 1e-11 absolute over 1000
// rows, responsibilities to 2e-14): a binary gives the same bits on every
// machine that runs the same level (MOELAB_SIMD caps the level to reproduce
// another machine's), and the sums differ from the column-wise code's in the
// last bits too (other order).
#pragma once

#include "moelab/core/types.hpp"
#include "moelab/estimators/detail/simd_level.hpp"

namespace moelab::detail {

struct AffineBlockInput {
  Index rows = 0, p = 0, k = 0;
  // Z block: column j at z + j * z_stride; column 0 must be all ones.
  const double* z = nullptr;
  Index z_stride = 0;
  // Logits: either coefficients W (p x k, column-major; logits = Z W), or -
  // when w is nullptr - precomputed logits (column i at logits + i *
  // logits_stride; -inf marks an expert not selected).
  const double* w = nullptr;
  const double* logits = nullptr;
  Index logits_stride = 0;
  bool masked = false;  // logits may hold -inf (0 log 0 := 0 in Q)
  // E-step when y is given: responsibilities are computed and written to r.
  // Gate evaluation when y is nullptr: r_given holds the responsibilities.
  const double* y = nullptr;
  const double* means = nullptr;      // p x k column-major expert mean coefficients
  const double* constant = nullptr;   // k: -(log 2 pi + log variance) / 2
  const double* inv_two_var = nullptr;  // k: 1 / (2 variance)
  double* r = nullptr;
  const double* r_given = nullptr;
  Index r_stride = 0;                 // of r or r_given
  // Optional previous responsibilities: Q_old and its gradient at this gate.
  const double* r_old = nullptr;
  Index r_old_stride = 0;
  bool with_information = true;
};

// Outputs, added to (never overwritten). m = (k - 1) p; gate blocks in the
// reduced layout of softmax_irls.hpp (the last expert is the reference).
struct AffineBlockSums {
  double* log_likelihood = nullptr;  // E-step
  double* q = nullptr;
  double* gradient = nullptr;        // m
  double* information = nullptr;     // m x m column-major (with_information)
  double* q_old = nullptr;           // with r_old
  double* gradient_old = nullptr;    // m, with r_old
  double* experts = nullptr;         // E-step: per expert ExpertSumsSize(p) sums
};

// The E-step's sums of expert i, about its current mean (residuals e_i = y -
// Z gamma_i): [mass sum r_i, Z'R_i e_i (p), Z'R_i Z (p x p column-major),
// e_i'R_i e_i]. The M-step solves Z'R_i Z delta = Z'R_i e_i and has the new
// weighted residual sum of squares as e_i'R_i e_i - delta'Z'R_i e_i without
// another pass (em_engine.cpp).
inline constexpr Index ExpertSumsSize(Index p) { return 2 + p + p * p; }

inline constexpr Index kChunkRows = 64;

// False where the compiler has no vector extensions (the callers then use
// the column-wise kernels).
bool AffineBlockKernelAvailable();

// At ActiveSimdLevel(), or at a given level that runs here (SimdLevelRuns:
// tests compare the levels to round-off, see Determinism above; benchmarks
// time them).
void AccumulateAffineBlock(const AffineBlockInput& in, const AffineBlockSums& out);
void AccumulateAffineBlock(const AffineBlockInput& in, const AffineBlockSums& out,
                           SimdLevel level);

// The expert M-step's second pass over a row block: rss[i] += sum_r r_ri
// (y_r - z_r' means_i)^2 for i < k. Reads rows, p, k, z, y, means (here the
// M-step's new coefficients) and r (the E-step's responsibilities, read only)
// of `in`. Same lanes, order and levels as the kernel above.
void AccumulateExpertRss(const AffineBlockInput& in, double* rss);
void AccumulateExpertRss(const AffineBlockInput& in, double* rss, SimdLevel level);

}  // namespace moelab::detail
