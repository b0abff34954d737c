// One fused sweep over a row block for the affine IRLS gates (private): the
// EM E-step's log-likelihood, responsibilities, Q(gate) with its gradient and
// information, and the experts' normal equations; or, with given
// responsibilities, the gate part alone (SoftmaxIrls::Evaluate).
//
// Why: the column-wise block code (row_kernels.hpp, SoftmaxIrls::AccumulateBlock)
// sweeps the 1024-row block a dozen times with B x k temporaries. This kernel
// cuts the block into chunks of kChunkRows rows whose work arrays stay in L1,
// does the two log-sum-exps with the vectorised exp/log of vector_math.hpp on
// short contiguous arrays, and forms every weighted Gram (gate information,
// expert normal equations) with register accumulators, specialised for
// p = d + 1 <= 5 (generic loop above).
//
// Determinism: every sum is accumulated in 4 lanes (lane l takes rows
// r = l mod 4 of a chunk), the lanes are added as (l0 + l1) + (l2 + l3) and
// the chunks in row order. The arithmetic is the same IEEE operations in the
// same order on every x86-64 (an AVX2 copy is selected at run time, the
// portable copy runs the same 4-lane code as SSE2 pairs; no FMA), so a block's
// sums do not depend on the machine, and the blocks' reduction in block order
// (block_runner.hpp) keeps them independent of the thread count. The sums
// differ from the column-wise code's in the last bits (other order).
#pragma once

#include "moelab/core/types.hpp"

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
  double* experts = nullptr;         // E-step: per expert [mass, Z'R_i y (p), Z'R_i Z (p x p)]
};

inline constexpr Index kChunkRows = 64;

// False where the compiler has no vector extensions (the callers then use
// the column-wise kernels).
bool AffineBlockKernelAvailable();

void AccumulateAffineBlock(const AffineBlockInput& in, const AffineBlockSums& out);

// The portable (SSE2) copy, bypassing the AVX2 dispatch: tests compare the
// two bit for bit.
void AccumulateAffineBlockPortable(const AffineBlockInput& in, const AffineBlockSums& out);

// The expert M-step's second pass over a row block: rss[i] += sum_r r_ri
// (y_r - z_r' means_i)^2 for i < k (means: p x k column-major; Z and r as in
// AffineBlockInput). Same 4-lane order and dispatch as the kernel above.
struct ExpertRssInput {
  Index rows = 0, p = 0, k = 0;
  const double* z = nullptr;
  Index z_stride = 0;
  const double* y = nullptr;
  const double* means = nullptr;
  const double* r = nullptr;
  Index r_stride = 0;
};
void AccumulateExpertRss(const ExpertRssInput& in, double* rss);
void AccumulateExpertRssPortable(const ExpertRssInput& in, double* rss);

}  // namespace moelab::detail
