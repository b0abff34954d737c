#include "moelab/estimators/detail/affine_block_kernel.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "moelab/estimators/detail/vector_math.hpp"

#if defined(__GNUC__) || defined(__clang__)
#if defined(__x86_64__) || defined(__i386__)
#define MOELAB_AFFINE_AVX2 1
#endif
// 32-byte vectors never cross a function boundary (everything below the
// entry points is always_inline), so the psABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace moelab::detail {

#if defined(__GNUC__) || defined(__clang__)

namespace {

typedef double D4 __attribute__((vector_size(32)));

[[gnu::always_inline]] inline D4 Load(const double* p) {
  D4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void Store(double* p, const D4& v) { std::memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline D4 Splat(double x) { return D4{} + x; }
[[gnu::always_inline]] inline double Reduce(const D4& v) { return (v[0] + v[1]) + (v[2] + v[3]); }
[[gnu::always_inline]] inline D4 Max(const D4& a, const D4& b) { return a > b ? a : b; }

// dst[r] = src[r], r < count. Explicit vector moves: GCC expands a memcpy of
// a run-time length here into `rep movsq`, whose start-up cost dominates
// copies of a few hundred bytes.
[[gnu::always_inline]] inline void CopyRows(double* dst, const double* src, Index count) {
  Index r = 0;
  for (; r + 4 <= count; r += 4) Store(dst + r, Load(src + r));
  for (; r < count; ++r) dst[r] = src[r];
}

constexpr Index kC = kChunkRows;
static_assert(kC % 4 == 0);

// Position of (a, b), a <= b, in the row-major packed upper triangle of a q x q matrix.
[[gnu::always_inline]] inline int Packed(int a, int b, int q) {
  return a * q - a * (a - 1) / 2 + (b - a);
}

// sums[Packed(a, b, q)] = sum_r w_r c_a[r] c_b[r] over `rows` (a multiple of 4)
// with c_0 = 1 and c_a = cols[a] for a >= 1. Q > 0: q = Q at compile time
// (register accumulators); Q = 0: q = q_runtime, accumulators in `acc`.
template <int Q>
[[gnu::always_inline]] inline void Gram(const double* w, const double* const* cols, int q_runtime,
                                        Index rows, double* sums, double* acc) {
  if constexpr (Q > 0) {
    constexpr int kT = Q * (Q + 1) / 2;
    D4 a4[kT];
    for (int t = 0; t < kT; ++t) a4[t] = D4{};
    for (Index r = 0; r < rows; r += 4) {
      const D4 wv = Load(w + r);
      D4 c[Q];
      c[0] = Splat(1.0);
#pragma GCC unroll 8
      for (int a = 1; a < Q; ++a) c[a] = Load(cols[a] + r);
      int t = 0;
      a4[t++] += wv;
#pragma GCC unroll 8
      for (int b = 1; b < Q; ++b) a4[t++] += wv * c[b];
#pragma GCC unroll 8
      for (int a = 1; a < Q; ++a) {
        const D4 wa = wv * c[a];
#pragma GCC unroll 8
        for (int b = a; b < Q; ++b) a4[t++] += wa * c[b];
      }
    }
    for (int t = 0; t < kT; ++t) sums[t] = Reduce(a4[t]);
  } else {
    const int q = q_runtime, count = q * (q + 1) / 2;
    std::fill(acc, acc + 4 * count, 0.0);
    for (Index r = 0; r < rows; r += 4) {
      const D4 wv = Load(w + r);
      int t = 0;
      Store(acc, Load(acc) + wv);
      ++t;
      for (int b = 1; b < q; ++b, ++t) Store(acc + 4 * t, Load(acc + 4 * t) + wv * Load(cols[b] + r));
      for (int a = 1; a < q; ++a) {
        const D4 wa = wv * Load(cols[a] + r);
        for (int b = a; b < q; ++b, ++t) {
          Store(acc + 4 * t, Load(acc + 4 * t) + wa * Load(cols[b] + r));
        }
      }
    }
    for (int t = 0; t < count; ++t) sums[t] = Reduce(Load(acc + 4 * t));
  }
}

// sums[a] = sum_r w_r c_a[r], a < q, c_0 = 1 (the first row of Gram).
template <int Q>
[[gnu::always_inline]] inline void RowSums(const double* w, const double* const* cols,
                                           int q_runtime, Index rows, double* sums, double* acc) {
  if constexpr (Q > 0) {
    D4 a4[Q];
    for (int a = 0; a < Q; ++a) a4[a] = D4{};
    for (Index r = 0; r < rows; r += 4) {
      const D4 wv = Load(w + r);
      a4[0] += wv;
#pragma GCC unroll 8
      for (int a = 1; a < Q; ++a) a4[a] += wv * Load(cols[a] + r);
    }
    for (int a = 0; a < Q; ++a) sums[a] = Reduce(a4[a]);
  } else {
    const int q = q_runtime;
    std::fill(acc, acc + 4 * q, 0.0);
    for (Index r = 0; r < rows; r += 4) {
      const D4 wv = Load(w + r);
      Store(acc, Load(acc) + wv);
      for (int a = 1; a < q; ++a) Store(acc + 4 * a, Load(acc + 4 * a) + wv * Load(cols[a] + r));
    }
    for (int a = 0; a < q; ++a) sums[a] = Reduce(Load(acc + 4 * a));
  }
}

// sum_r sum_i x_i[r] log_g_i[r] (0 log 0 := 0 when masked) over k columns of stride kC.
[[gnu::always_inline]] inline double WeightedLog(const double* x, const double* log_g, Index k,
                                                 Index rows, bool masked) {
  D4 acc{};
  const D4 zero{};
  for (Index i = 0; i < k; ++i) {
    const double* xi = x + i * kC;
    const double* li = log_g + i * kC;
    for (Index r = 0; r < rows; r += 4) {
      const D4 xv = Load(xi + r);
      const D4 term = xv * Load(li + r);
      acc += masked ? (xv == zero ? zero : term) : term;
    }
  }
  return Reduce(acc);
}

// In place over k columns of stride kC and `rows` rows (a multiple of 4):
// v_i := exp(v_i - max_l v_l) / sum, lse := max + log(sum). `sum` and `inv`
// hold kC each. Column sweeps (expert outer, rows inner) rather than a loop
// over the experts per row: no inner loop of run-time length k.
[[gnu::always_inline]] inline void SoftmaxColumns(double* v, Index k, Index rows, double* lse,
                                                  double* sum, double* inv) {
  CopyRows(lse, v, rows);
  for (Index i = 1; i < k; ++i) {
    const double* vi = v + i * kC;
    for (Index r = 0; r < rows; r += 4) Store(lse + r, Max(Load(lse + r), Load(vi + r)));
  }
  for (Index i = 0; i < k; ++i) {
    double* vi = v + i * kC;
    for (Index r = 0; r < rows; r += 4) Store(vi + r, Load(vi + r) - Load(lse + r));
  }
  if (rows == kC) {
    ExpArray(v, v, k * kC);
  } else {
    for (Index i = 0; i < k; ++i) ExpArray(v + i * kC, v + i * kC, rows);
  }
  CopyRows(sum, v, rows);
  for (Index i = 1; i < k; ++i) {
    const double* vi = v + i * kC;
    for (Index r = 0; r < rows; r += 4) Store(sum + r, Load(sum + r) + Load(vi + r));
  }
  for (Index r = 0; r < rows; r += 4) Store(inv + r, 1.0 / Load(sum + r));
  for (Index i = 0; i < k; ++i) {
    double* vi = v + i * kC;
    for (Index r = 0; r < rows; r += 4) Store(vi + r, Load(vi + r) * Load(inv + r));
  }
  LogArray(sum, sum, rows);
  for (Index r = 0; r < rows; r += 4) Store(lse + r, Load(lse + r) + Load(sum + r));
}

// total[r] = sum_i x_i[r] over k columns of stride kC.
[[gnu::always_inline]] inline void RowTotals(const double* x, Index k, Index rows, double* total) {
  CopyRows(total, x, rows);
  for (Index i = 1; i < k; ++i) {
    const double* xi = x + i * kC;
    for (Index r = 0; r < rows; r += 4) Store(total + r, Load(total + r) + Load(xi + r));
  }
}

struct Scratch {
  std::vector<double> values;
  std::vector<const double*> cols;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

template <int P>
[[gnu::always_inline]] inline void Body(const AffineBlockInput& in, const AffineBlockSums& out) {
  const Index p = P > 0 ? P : in.p, k = in.k, m = (k - 1) * p;
  const int q = static_cast<int>(p);
  const bool estep = in.y != nullptr, with_old = in.r_old != nullptr;
  Scratch& s = ThreadScratch();
  const Index acc_size = 4 * (p + 1) * (p + 2) / 2, sums_size = (p + 1) * (p + 2) / 2;
  const Index needed = kC * (p + 1 + 6 * k + 5) + acc_size + sums_size;
  if (static_cast<Index>(s.values.size()) < needed) s.values.resize(needed);
  s.cols.resize(p + 1);
  double* base = s.values.data();
  double* zc = base;              // column j >= 1 at zc + j kC (column 0 is the ones)
  double* yc = zc + p * kC;
  double* lg = yc + kC;           // logits -> log g (k columns)
  double* g = lg + k * kC;        // gate probabilities
  double* rr = g + k * kC;        // responsibilities
  double* e = rr + k * kC;        // joint log densities -> responsibilities
  double* ro = e + k * kC;        // previous responsibilities
  double* res = ro + k * kC;      // E-step: residuals y - z' gamma_i of the current means
  double* lse = res + k * kC;
  double* work = lse + kC;
  double* rn = work + kC;
  double* wt = rn + kC;
  double* llr = wt + kC;
  double* acc = llr + kC;
  double* sums = acc + acc_size;
  // cols[j] (1 <= j < p): column j of Z, cols[p]: y, for the current chunk.
  const double** cols = s.cols.data();

  for (Index c0 = 0; c0 < in.rows; c0 += kC) {
    const Index c = std::min(kC, in.rows - c0), c4 = (c + 3) & ~Index{3};
    // Copy the chunk's inputs; rows c..c4 are padding that must add nothing
    // (zero responsibilities, finite logits).
    auto copy = [&](double* dst, const double* src) {
      CopyRows(dst, src, c);
      for (Index r = c; r < c4; ++r) dst[r] = 0.0;
    };
    if (c == kC) {  // a full chunk reads Z and y in place
      for (Index j = 1; j < p; ++j) cols[j] = in.z + j * in.z_stride + c0;
      cols[p] = estep ? in.y + c0 : yc;
    } else {
      for (Index j = 1; j < p; ++j) {
        copy(zc + j * kC, in.z + j * in.z_stride + c0);
        cols[j] = zc + j * kC;
      }
      if (estep) copy(yc, in.y + c0);
      cols[p] = yc;
    }
    if (in.w != nullptr) {
      for (Index i = 0; i < k; ++i) {
        const double* wi = in.w + i * p;
        double* li = lg + i * kC;
        double* gi = g + i * kC;
        for (Index r = 0; r < c4; r += 4) {
          D4 v = Splat(wi[0]);
          for (Index j = 1; j < p; ++j) v += wi[j] * Load(cols[j] + r);
          Store(li + r, v);
          Store(gi + r, v);
        }
      }
    } else {
      for (Index i = 0; i < k; ++i) copy(lg + i * kC, in.logits + i * in.logits_stride + c0);
      CopyRows(g, lg, k * kC);
    }
    if (!estep) {
      for (Index i = 0; i < k; ++i) copy(rr + i * kC, in.r_given + i * in.r_stride + c0);
    }
    if (with_old) {
      for (Index i = 0; i < k; ++i) copy(ro + i * kC, in.r_old + i * in.r_old_stride + c0);
    }

    // Gate: g = softmax(logits), log g = logits - lse (in the joint's sweep
    // for the E-step).
    SoftmaxColumns(g, k, c4, lse, work, wt);
    if (!estep) {
      for (Index i = 0; i < k; ++i) {
        for (Index r = 0; r < c4; r += 4) {
          Store(lg + i * kC + r, Load(lg + i * kC + r) - Load(lse + r));
        }
      }
    }

    if (estep) {
      // Joint log densities, then their softmax (responsibilities) and lse (log p(y|x)).
      for (Index i = 0; i < k; ++i) {
        const double* mi = in.means + i * p;
        const D4 constant = Splat(in.constant[i]), inv_two_var = Splat(in.inv_two_var[i]);
        for (Index r = 0; r < c4; r += 4) {
          const D4 log_g = Load(lg + i * kC + r) - Load(lse + r);
          Store(lg + i * kC + r, log_g);
          D4 mean = Splat(mi[0]);
          for (Index j = 1; j < p; ++j) mean += mi[j] * Load(cols[j] + r);
          const D4 residual = Load(cols[p] + r) - mean;
          Store(res + i * kC + r, residual);
          Store(e + i * kC + r, log_g + constant - residual * residual * inv_two_var);
        }
      }
      SoftmaxColumns(e, k, c4, llr, work, wt);
      std::swap(e, rr);
      for (Index i = 0; i < k; ++i) {
        for (Index r = c; r < c4; ++r) rr[i * kC + r] = 0.0;
        CopyRows(in.r + i * in.r_stride + c0, rr + i * kC, c);
      }
      for (Index r = c; r < c4; ++r) llr[r] = 0.0;
      D4 ll{};
      for (Index r = 0; r < c4; r += 4) ll += Load(llr + r);
      *out.log_likelihood += Reduce(ll);
    }

    // Q = sum r log g and its gradient sum_n (r_ni - R_n g_ni) z_n for the
    // responsibilities x; leaves the row masses R_n = sum_i r_ni in rn (1 up
    // to round-off; used as computed, as in the information formula).
    auto gate_sums = [&](const double* x, double* q_out, double* gradient) {
      *q_out += WeightedLog(x, lg, k, c4, in.masked);
      RowTotals(x, k, c4, rn);
      for (Index i = 0; i + 1 < k; ++i) {
        for (Index r = 0; r < c4; r += 4) {
          Store(wt + r, Load(x + i * kC + r) - Load(rn + r) * Load(g + i * kC + r));
        }
        RowSums<P>(wt, cols, q, c4, sums, acc);
        for (Index a = 0; a < p; ++a) gradient[i * p + a] += sums[a];
      }
    };
    gate_sums(rr, out.q, out.gradient);
    if (in.with_information) {
      // Block (i, l): sum_n R_n g_ni (delta_il - g_nl) z_n z_n'.
      for (Index i = 0; i + 1 < k; ++i) {
        for (Index l = i; l + 1 < k; ++l) {
          if (l == i) {
            for (Index r = 0; r < c4; r += 4) {
              const D4 gi = Load(g + i * kC + r);
              Store(wt + r, Load(rn + r) * gi * (1.0 - gi));
            }
          } else {
            for (Index r = 0; r < c4; r += 4) {
              Store(wt + r, -(Load(rn + r) * Load(g + i * kC + r) * Load(g + l * kC + r)));
            }
          }
          Gram<P>(wt, cols, q, c4, sums, acc);
          for (int a = 0; a < q; ++a) {
            for (int b = a; b < q; ++b) {
              const double v = sums[Packed(a, b, q)];
              out.information[(i * p + a) + (l * p + b) * m] += v;
              if (a != b) out.information[(i * p + b) + (l * p + a) * m] += v;
              if (l != i) {
                out.information[(l * p + a) + (i * p + b) * m] += v;
                if (a != b) out.information[(l * p + b) + (i * p + a) * m] += v;
              }
            }
          }
        }
      }
    }
    if (estep) {
      // Experts: the Gram of [Z e_i] weighted by r_i gives mass, Z'R_i e_i,
      // Z'R_i Z and e_i'R_i e_i (e_i the residuals of expert i's current mean).
      const int qa = q + 1;
      for (Index i = 0; i < k; ++i) {
        cols[p] = res + i * kC;
        Gram<(P > 0 ? P + 1 : 0)>(rr + i * kC, cols, qa, c4, sums, acc);
        double* o = out.experts + i * ExpertSumsSize(p);
        o[0] += sums[0];
        for (int a = 0; a < q; ++a) {
          o[1 + a] += sums[Packed(a, q, qa)];
          for (int b = a; b < q; ++b) {
            const double v = sums[Packed(a, b, qa)];
            o[1 + p + a + b * p] += v;
            if (a != b) o[1 + p + b + a * p] += v;
          }
        }
        o[1 + p + p * p] += sums[Packed(q, q, qa)];
      }
    }
    if (with_old) gate_sums(ro, out.q_old, out.gradient_old);
    if (estep) std::swap(e, rr);  // restore the buffer roles for the next chunk
  }
}

template <int P>
void RunPortable(const AffineBlockInput& in, const AffineBlockSums& out) {
  Body<P>(in, out);
}

#if defined(MOELAB_AFFINE_AVX2)
template <int P>
__attribute__((target("avx2"))) void RunAvx2(const AffineBlockInput& in,
                                             const AffineBlockSums& out) {
  Body<P>(in, out);
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

template <int P>
void Dispatch(const AffineBlockInput& in, const AffineBlockSums& out, bool portable) {
  (void)portable;  // no AVX2 copy off x86
#if defined(MOELAB_AFFINE_AVX2)
  if (!portable && HasAvx2()) return RunAvx2<P>(in, out);
#endif
  RunPortable<P>(in, out);
}

void DispatchOnP(const AffineBlockInput& in, const AffineBlockSums& out, bool portable) {
  switch (in.p) {
    case 2:
      return Dispatch<2>(in, out, portable);
    case 3:
      return Dispatch<3>(in, out, portable);
    case 4:
      return Dispatch<4>(in, out, portable);
    case 5:
      return Dispatch<5>(in, out, portable);
    default:
      return Dispatch<0>(in, out, portable);
  }
}

}  // namespace

bool AffineBlockKernelAvailable() { return true; }

void AccumulateAffineBlock(const AffineBlockInput& in, const AffineBlockSums& out) {
  DispatchOnP(in, out, false);
}

void AccumulateAffineBlockPortable(const AffineBlockInput& in, const AffineBlockSums& out) {
  DispatchOnP(in, out, true);
}

#else  // no vector extensions: callers use the column-wise kernels

bool AffineBlockKernelAvailable() { return false; }
void AccumulateAffineBlock(const AffineBlockInput&, const AffineBlockSums&) {}
void AccumulateAffineBlockPortable(const AffineBlockInput&, const AffineBlockSums&) {}

#endif

}  // namespace moelab::detail
