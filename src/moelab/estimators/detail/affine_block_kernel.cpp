#include "moelab/estimators/detail/affine_block_kernel.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "moelab/estimators/detail/vector_math.hpp"

#if defined(__GNUC__) || defined(__clang__)
#if defined(__x86_64__) || defined(__i386__)
#define MOELAB_AFFINE_AVX2 1
#endif
// 32-byte vectors never cross a function boundary (everything below the
// entry points is always_inline), so the psABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
// The AVX2 copy also contracts a * b + c into fused multiply-adds (target
// "avx2,fma"); the portable SSE2 copy has no FMA instruction, so this changes
// nothing there. The determinism contract is in the header.
#if defined(__clang__)
#pragma clang fp contract(fast)
#else
#pragma GCC optimize("fp-contract=fast")
#endif
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

// sums[Packed(a, b, q)] = sum_r w(r) c_a[r] c_b[r] over `rows` (a multiple of
// 4) with c_0 = 1 and c_a = cols[a] for a >= 1; w(r) returns the weights of
// rows r..r+3 (computed in the loop rather than stored and reloaded). Q > 0:
// q = Q at compile time (register accumulators); Q = 0: q = q_runtime,
// accumulators in `acc`.
template <int Q, typename Weight>
[[gnu::always_inline]] inline void Gram(const Weight& w, const double* const* cols, int q_runtime,
                                        Index rows, double* sums, double* acc) {
  if constexpr (Q > 0) {
    constexpr int kT = Q * (Q + 1) / 2;
    D4 a4[kT];
    for (int t = 0; t < kT; ++t) a4[t] = D4{};
    for (Index r = 0; r < rows; r += 4) {
      const D4 wv = w(r);
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
      const D4 wv = w(r);
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

// sums[a] = sum_r w(r) c_a[r], a < q, c_0 = 1 (the first row of Gram).
template <int Q, typename Weight>
[[gnu::always_inline]] inline void RowSums(const Weight& w, const double* const* cols,
                                           int q_runtime, Index rows, double* sums, double* acc) {
  if constexpr (Q > 0) {
    D4 a4[Q];
    for (int a = 0; a < Q; ++a) a4[a] = D4{};
    for (Index r = 0; r < rows; r += 4) {
      const D4 wv = w(r);
      a4[0] += wv;
#pragma GCC unroll 8
      for (int a = 1; a < Q; ++a) a4[a] += wv * Load(cols[a] + r);
    }
    for (int a = 0; a < Q; ++a) sums[a] = Reduce(a4[a]);
  } else {
    const int q = q_runtime;
    std::fill(acc, acc + 4 * q, 0.0);
    for (Index r = 0; r < rows; r += 4) {
      const D4 wv = w(r);
      Store(acc, Load(acc) + wv);
      for (int a = 1; a < q; ++a) Store(acc + 4 * a, Load(acc + 4 * a) + wv * Load(cols[a] + r));
    }
    for (int a = 0; a < q; ++a) sums[a] = Reduce(Load(acc + 4 * a));
  }
}

struct Scratch {
  std::vector<double> values;
  std::vector<const double*> cols;
  std::vector<const double*> x, x_old, logit_cols;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// The chunk's work, in three sweeps around the two exp calls:
//   1. logits l_i, their row maxima M, the exp arguments l_i - M, and for the
//      E-step a_i = (l_i - M) + constant_i - (y - mean_i)^2 / (2 variance_i)
//      (log g_i phi_i up to the row's log S), their row maxima A and a_i - A;
//   2. exp of both (one call each over the k columns);
//   3. S = sum_i exp(l_i - M), T = sum_i exp(a_i - A), g_i = exp(l_i - M) / S,
//      responsibilities r_i = exp(a_i - A) / T (written out directly); log S
//      (one log per row), while log T goes into a running product per lane
//      (16 rows of T in [1, k]) and costs one log per chunk lane:
//      log p(y | x) = A + log T - log S (g_i phi_i = exp(a_i - log S), so the
//      joint's softmax needs no log g).
// Then the gate sums (log g_i = l_i - M - log S formed on the fly) and the
// Grams, each with its weights computed inside the accumulation loop.
// K > 0: k = K at compile time (the loops over the experts unroll); K = 2
// also halves the exps (one of a row's two arguments is exactly 0).
template <int P, int K>
[[gnu::always_inline]] inline void Body(const AffineBlockInput& in, const AffineBlockSums& out) {
  const Index p = P > 0 ? P : in.p, k = K > 0 ? K : in.k, m = (k - 1) * p;
  const int q = static_cast<int>(p);
  const bool estep = in.y != nullptr, with_old = in.r_old != nullptr;
  Scratch& s = ThreadScratch();
  const Index acc_size = 4 * (p + 1) * (p + 2) / 2, sums_size = (p + 1) * (p + 2) / 2;
  const Index needed = kC * (p + 1 + 7 * k + 4) + acc_size + sums_size;
  if (static_cast<Index>(s.values.size()) < needed) s.values.resize(needed);
  s.cols.resize(p + 1);
  s.x.resize(k);
  s.x_old.resize(k);
  s.logit_cols.resize(k);
  double* base = s.values.data();
  double* zc = base;        // column j >= 1 at zc + j kC (column 0 is the ones)
  double* yc = zc + p * kC;
  double* sh = yc + kC;     // l_i - M (k columns), kept for log g
  double* g = sh + k * kC;  // exp(l_i - M) -> gate probabilities
  double* e = g + k * kC;   // a_i - A -> exp -> responsibilities
  double* rc = e + k * kC;  // given responsibilities of a partial chunk
  double* ro = rc + k * kC; // previous responsibilities of a partial chunk
  double* lc = ro + k * kC; // given logits of a partial chunk
  double* res = lc + k * kC;  // E-step: residuals y - z' gamma_i of the current means
  double* log_s = res + k * kC;
  double* rn = log_s + kC;  // row masses R_n = sum_i x_ni
  double* rn_old = rn + kC;
  double* shift = rn_old + kC;  // A, the joint's row maxima
  double* acc = shift + kC;
  double* sums = acc + acc_size;
  // cols[j] (1 <= j < p): column j of Z, cols[p]: y (the experts' Grams: their residuals).
  const double** cols = s.cols.data();
  const double** x = s.x.data();          // responsibilities (column i of the chunk)
  const double** x_old = s.x_old.data();  // previous responsibilities
  const double** lcol = s.logit_cols.data();
  const D4 zero{};

  for (Index c0 = 0; c0 < in.rows; c0 += kC) {
    const Index c = std::min(kC, in.rows - c0), c4 = (c + 3) & ~Index{3};
    const bool full = c == kC;
    // A full chunk reads its inputs in place; a partial one copies them, with
    // rows c..c4 as padding that must add nothing (zero responsibilities,
    // finite logits).
    auto view = [&](const double* src, double* dst) -> const double* {
      if (full) return src;
      CopyRows(dst, src, c);
      for (Index r = c; r < c4; ++r) dst[r] = 0.0;
      return dst;
    };
    for (Index j = 1; j < p; ++j) cols[j] = view(in.z + j * in.z_stride + c0, zc + j * kC);
    cols[p] = estep ? view(in.y + c0, yc) : yc;
    if (in.w == nullptr) {
      for (Index i = 0; i < k; ++i) {
        lcol[i] = view(in.logits + i * in.logits_stride + c0, lc + i * kC);
      }
    }
    if (!estep) {
      for (Index i = 0; i < k; ++i) x[i] = view(in.r_given + i * in.r_stride + c0, rc + i * kC);
    } else {
      for (Index i = 0; i < k; ++i) x[i] = e + i * kC;
    }
    if (with_old) {
      for (Index i = 0; i < k; ++i) {
        x_old[i] = view(in.r_old + i * in.r_old_stride + c0, ro + i * kC);
      }
    }

    // Sweep 1: logits, joint log densities, row maxima, exp arguments.
    for (Index r = 0; r < c4; r += 4) {
      D4 zr[P > 0 ? P : 1];
      if constexpr (P > 0) {
#pragma GCC unroll 8
        for (int j = 1; j < P; ++j) zr[j] = Load(cols[j] + r);
      }
      auto zcol = [&](Index j) -> D4 {
        if constexpr (P > 0) {
          return zr[j];
        } else {
          return Load(cols[j] + r);
        }
      };
      D4 max_l = Splat(-std::numeric_limits<double>::infinity());
#pragma GCC unroll 8
      for (Index i = 0; i < k; ++i) {
        D4 v;
        if (in.w != nullptr) {
          const double* wi = in.w + i * p;
          v = Splat(wi[0]);
#pragma GCC unroll 8
          for (Index j = 1; j < p; ++j) v += wi[j] * zcol(j);
        } else {
          v = Load(lcol[i] + r);
        }
        Store(sh + i * kC + r, v);
        max_l = Max(max_l, v);
      }
#pragma GCC unroll 8
      for (Index i = 0; i < k; ++i) Store(sh + i * kC + r, Load(sh + i * kC + r) - max_l);
      if (estep) {
        const D4 yv = Load(cols[p] + r);
        D4 max_a = Splat(-std::numeric_limits<double>::infinity());
#pragma GCC unroll 8
        for (Index i = 0; i < k; ++i) {
          const double* mi = in.means + i * p;
          D4 mean = Splat(mi[0]);
#pragma GCC unroll 8
          for (Index j = 1; j < p; ++j) mean += mi[j] * zcol(j);
          const D4 residual = yv - mean;
          Store(res + i * kC + r, residual);
          const D4 a = (Load(sh + i * kC + r) + in.constant[i]) - residual * residual * in.inv_two_var[i];
          Store(e + i * kC + r, a);
          max_a = Max(max_a, a);
        }
#pragma GCC unroll 8
        for (Index i = 0; i < k; ++i) Store(e + i * kC + r, Load(e + i * kC + r) - max_a);
        Store(shift + r, max_a);
      }
      if constexpr (K == 2) {
        // One of the two exp arguments of a row is the maximum's exact 0
        // (exp(0) = 1): exp only the other, sh_0 + sh_1 (0 + x = x exactly).
        Store(g + r, Load(sh + r) + Load(sh + kC + r));
        if (estep) Store(g + kC + r, Load(e + r) + Load(e + kC + r));
      }
    }

    // Sweep 2: the exps (exp(-inf) = 0 for unselected experts).
    if constexpr (K == 2) {
      // k = 2: half the exps, the same bits (see sweep 1).
      if (full && estep) {
        ExpArray(g, g, 2 * kC);
      } else {
        ExpArray(g, g, c4);
        if (estep) ExpArray(g + kC, g + kC, c4);
      }
    } else if (full) {
      ExpArray(sh, g, k * kC);
      if (estep) ExpArray(e, e, k * kC);
    } else {
      for (Index i = 0; i < k; ++i) {
        ExpArray(sh + i * kC, g + i * kC, c4);
        if (estep) ExpArray(e + i * kC, e + i * kC, c4);
      }
    }

    // Sweep 3: normalise; responsibilities out; log T by products.
    D4 prod_t = Splat(1.0), shift_sum{};
    for (Index r = 0; r < c4; r += 4) {
      if constexpr (K == 2) {
        const D4 one = Splat(1.0), t_g = Load(g + r), t_e = Load(g + kC + r);
        Store(g + r, Load(sh + r) == zero ? one : t_g);
        Store(g + kC + r, Load(sh + kC + r) == zero ? one : t_g);
        if (estep) {
          Store(e + r, Load(e + r) == zero ? one : t_e);
          Store(e + kC + r, Load(e + kC + r) == zero ? one : t_e);
        }
      }
      D4 sum_g = Load(g + r);
#pragma GCC unroll 8
      for (Index i = 1; i < k; ++i) sum_g += Load(g + i * kC + r);
      const D4 inv_g = 1.0 / sum_g;
#pragma GCC unroll 8
      for (Index i = 0; i < k; ++i) Store(g + i * kC + r, Load(g + i * kC + r) * inv_g);
      Store(log_s + r, sum_g);
      if (estep) {
        D4 sum_e = Load(e + r);
#pragma GCC unroll 8
        for (Index i = 1; i < k; ++i) sum_e += Load(e + i * kC + r);
        const D4 inv_e = 1.0 / sum_e;
        // Padding rows (r + l >= c): responsibilities 0, T := 1, A := 0.
        D4 keep = Splat(1.0);
        if (r + 4 > c) {
          for (Index l = 0; l < 4; ++l) {
            if (r + l >= c) {
              keep[l] = 0.0;
              sum_e[l] = 1.0;
              shift[r + l] = 0.0;
            }
          }
        }
        D4 mass = zero;
#pragma GCC unroll 8
        for (Index i = 0; i < k; ++i) {
          D4 ri = Load(e + i * kC + r) * inv_e;
          if (r + 4 > c) ri *= keep;
          Store(e + i * kC + r, ri);
          if (full) Store(in.r + i * in.r_stride + c0 + r, ri);
          mass += ri;
        }
        Store(rn + r, mass);
        prod_t *= sum_e;
        shift_sum += Load(shift + r);
      } else {
        D4 mass = Load(x[0] + r);
#pragma GCC unroll 8
        for (Index i = 1; i < k; ++i) mass += Load(x[i] + r);
        Store(rn + r, mass);
      }
      if (with_old) {
        D4 mass = Load(x_old[0] + r);
#pragma GCC unroll 8
        for (Index i = 1; i < k; ++i) mass += Load(x_old[i] + r);
        Store(rn_old + r, mass);
      }
    }
    LogArray(log_s, log_s, c4);
    if (estep) {
      if (!full) {
        for (Index i = 0; i < k; ++i) CopyRows(in.r + i * in.r_stride + c0, e + i * kC, c);
        for (Index r = c; r < c4; ++r) log_s[r] = 0.0;
      }
      // log p(y | x) = A + log T - log S per row (A is the maximum of
      // a_i = (l_i - M) + ..., so M is already taken out).
      double log_t[4];
      Store(log_t, prod_t);
      LogArray(log_t, log_t, 4);
      D4 ls{};
      for (Index r = 0; r < c4; r += 4) ls += Load(log_s + r);
      *out.log_likelihood += (Reduce(shift_sum) + Reduce(Load(log_t))) - Reduce(ls);
    }

    // Q = sum r log g and its gradient sum_n (r_ni - R_n g_ni) z_n for the
    // responsibilities xs with row masses R_n in mass (1 up to round-off;
    // used as computed, as in the information formula).
    auto gate_sums = [&](const double* const* xs, const double* mass, double* q_out,
                         double* gradient) {
      D4 qa{};
#pragma GCC unroll 8
      for (Index i = 0; i < k; ++i) {
        const double* xi = xs[i];
        const double* si = sh + i * kC;
        for (Index r = 0; r < c4; r += 4) {
          const D4 xv = Load(xi + r);
          const D4 term = xv * (Load(si + r) - Load(log_s + r));
          qa += in.masked ? (xv == zero ? zero : term) : term;
        }
      }
      *q_out += Reduce(qa);
      for (Index i = 0; i + 1 < k; ++i) {
        const double* xi = xs[i];
        const double* gi = g + i * kC;
        RowSums<P>([&](Index r) { return Load(xi + r) - Load(mass + r) * Load(gi + r); }, cols, q,
                   c4, sums, acc);
        for (Index a = 0; a < p; ++a) gradient[i * p + a] += sums[a];
      }
    };
    gate_sums(x, rn, out.q, out.gradient);
    if (in.with_information) {
      // Block (i, l): sum_n R_n g_ni (delta_il - g_nl) z_n z_n'.
      for (Index i = 0; i + 1 < k; ++i) {
        for (Index l = i; l + 1 < k; ++l) {
          const double* gi = g + i * kC;
          const double* gl = g + l * kC;
          if (l == i) {
            Gram<P>(
                [&](Index r) {
                  const D4 gv = Load(gi + r);
                  return Load(rn + r) * gv * (1.0 - gv);
                },
                cols, q, c4, sums, acc);
          } else {
            Gram<P>([&](Index r) { return -(Load(rn + r) * Load(gi + r) * Load(gl + r)); }, cols,
                    q, c4, sums, acc);
          }
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
        const double* ri = e + i * kC;
        cols[p] = res + i * kC;
        Gram<(P > 0 ? P + 1 : 0)>([&](Index r) { return Load(ri + r); }, cols, qa, c4, sums, acc);
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
    if (with_old) gate_sums(x_old, rn_old, out.q_old, out.gradient_old);
  }
}

// rss[i] += sum_r r_ri (y_r - z_r' mean_i)^2: rows in fours (the last group
// zero-padded), expert loop inside, one accumulator per expert.
template <int P, int K>
[[gnu::always_inline]] inline void RssBody(const AffineBlockInput& in, double* rss) {
  const Index p = P > 0 ? P : in.p, k = K > 0 ? K : in.k;
  Scratch& s = ThreadScratch();
  const Index needed = 4 * (2 * k + p + 1);
  if (static_cast<Index>(s.values.size()) < needed) s.values.resize(needed);
  double* acc = s.values.data();  // 4 lanes per expert
  double* pad = acc + 4 * k;      // the last rows: y, z columns 1.., r columns
  std::fill(acc, acc + 4 * k, 0.0);
  D4 a4[K > 0 ? K : 1];  // K > 0: register accumulators
  for (auto& v : a4) v = D4{};
  auto group = [&](const double* y, const double* const* z, const double* const* r, Index stride_z,
                   Index stride_r, Index row) {
    D4 zr[P > 0 ? P : 1];
    if constexpr (P > 0) {
#pragma GCC unroll 8
      for (int j = 1; j < P; ++j) zr[j] = Load(z[0] + j * stride_z + row);
    }
    const D4 yv = Load(y + row);
#pragma GCC unroll 8
    for (Index i = 0; i < k; ++i) {
      const double* mi = in.means + i * p;
      D4 mean = Splat(mi[0]);
#pragma GCC unroll 8
      for (Index j = 1; j < p; ++j) {
        if constexpr (P > 0) {
          mean += mi[j] * zr[j];
        } else {
          mean += mi[j] * Load(z[0] + j * stride_z + row);
        }
      }
      const D4 residual = yv - mean;
      const D4 term = Load(r[0] + i * stride_r + row) * (residual * residual);
      if constexpr (K > 0) {
        a4[i] += term;
      } else {
        Store(acc + 4 * i, Load(acc + 4 * i) + term);
      }
    }
  };
  const double* z0 = in.z;
  const double* r0 = in.r;
  Index row = 0;
  for (; row + 4 <= in.rows; row += 4) group(in.y, &z0, &r0, in.z_stride, in.r_stride, row);
  if (row < in.rows) {
    // Padding rows: y = z = r = 0 adds nothing.
    std::fill(pad, pad + 4 * (k + p + 1), 0.0);
    for (Index l = 0; row + l < in.rows; ++l) {
      pad[l] = in.y[row + l];
      for (Index j = 1; j < p; ++j) pad[4 * (1 + j) + l] = in.z[j * in.z_stride + row + l];
      for (Index i = 0; i < k; ++i) pad[4 * (1 + p + i) + l] = in.r[i * in.r_stride + row + l];
    }
    const double* pz = pad + 4;
    const double* pr = pad + 4 * (1 + p);
    group(pad, &pz, &pr, 4, 4, 0);
  }
  for (Index i = 0; i < k; ++i) rss[i] += Reduce(K > 0 ? a4[i] : Load(acc + 4 * i));
}

template <int P, int K>
void RunPortable(const AffineBlockInput& in, const AffineBlockSums& out) {
  Body<P, K>(in, out);
}
template <int P, int K>
void RunPortable(const AffineBlockInput& in, double* rss) {
  RssBody<P, K>(in, rss);
}

#if defined(MOELAB_AFFINE_AVX2)
template <int P, int K>
__attribute__((target("avx2,fma"))) void RunAvx2(const AffineBlockInput& in,
                                             const AffineBlockSums& out) {
  Body<P, K>(in, out);
}
template <int P, int K>
__attribute__((target("avx2,fma"))) void RunAvx2(const AffineBlockInput& in, double* rss) {
  RssBody<P, K>(in, rss);
}

bool HasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#endif

template <int P, int K, typename In, typename Out>
void Dispatch(const In& in, const Out& out, bool portable) {
  (void)portable;  // no AVX2 copy off x86
#if defined(MOELAB_AFFINE_AVX2)
  if (!portable && HasAvx2Fma()) return RunAvx2<P, K>(in, out);
#endif
  RunPortable<P, K>(in, out);
}

// Specialised for k = 2 and 3 (the common fits; the expert loops unroll) and
// p <= 5; the generic copy takes the rest.
template <int P, typename In, typename Out>
void DispatchOnK(const In& in, const Out& out, bool portable) {
  switch (in.k) {
    case 2:
      return Dispatch<P, 2>(in, out, portable);
    case 3:
      return Dispatch<P, 3>(in, out, portable);
    default:
      return Dispatch<P, 0>(in, out, portable);
  }
}

template <typename In, typename Out>
void DispatchOnP(const In& in, const Out& out, bool portable) {
  switch (in.p) {
    case 2:
      return DispatchOnK<2>(in, out, portable);
    case 3:
      return DispatchOnK<3>(in, out, portable);
    case 4:
      return DispatchOnK<4>(in, out, portable);
    case 5:
      return DispatchOnK<5>(in, out, portable);
    default:
      return DispatchOnK<0>(in, out, portable);
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

void AccumulateExpertRss(const AffineBlockInput& in, double* rss) { DispatchOnP(in, rss, false); }

void AccumulateExpertRssPortable(const AffineBlockInput& in, double* rss) {
  DispatchOnP(in, rss, true);
}

#else  // no vector extensions: callers use the column-wise kernels

bool AffineBlockKernelAvailable() { return false; }
void AccumulateAffineBlock(const AffineBlockInput&, const AffineBlockSums&) {}
void AccumulateAffineBlockPortable(const AffineBlockInput&, const AffineBlockSums&) {}
void AccumulateExpertRss(const AffineBlockInput&, double*) {}
void AccumulateExpertRssPortable(const AffineBlockInput&, double*) {}

#endif

}  // namespace moelab::detail
