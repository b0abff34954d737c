#include "moelab/estimators/detail/affine_block_kernel.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "moelab/estimators/detail/vector_math.hpp"

#if defined(__GNUC__) || defined(__clang__)
// Wide vectors (32- and 64-byte) cross function boundaries only between
// functions of the same target (everything below the entry points is
// always_inline or takes pointers), so the psABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
// The AVX2 and AVX-512 copies also contract a * b + c into fused
// multiply-adds; the portable SSE2 copy has no FMA instruction, so this
// changes nothing there. The determinism contract is in the header.
#if defined(__clang__)
#pragma clang fp contract(fast)
#else
#pragma GCC optimize("fp-contract=fast")
#endif
#endif

namespace moelab::detail {

#if defined(__GNUC__) || defined(__clang__)

namespace {

constexpr Index kC = kChunkRows;

// Position of (a, b), a <= b, in the row-major packed upper triangle of a q x q matrix.
[[gnu::always_inline]] inline int Packed(int a, int b, int q) {
  return a * q - a * (a - 1) / 2 + (b - a);
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

// The first `count` doubles of the scratch, starting on a 64-byte boundary:
// the work columns sit at multiples of 512 bytes from it, so a misaligned
// base (a large vector comes from mmap at 16 bytes past a page) made every
// other 32-byte access split a cache line - one E-step at k = 3, d = 4 took
// 3x as long after another (p, k) had sized the scratch.
double* AlignedScratch(Scratch& s, Index count) {
  constexpr Index kSlack = 64 / sizeof(double);
  if (static_cast<Index>(s.values.size()) < count + kSlack) s.values.resize(count + kSlack);
  const auto address = reinterpret_cast<std::uintptr_t>(s.values.data());
  return s.values.data() + ((64 - address % 64) % 64) / sizeof(double);
}

// Q's last term sum_n R_n log S_n (S_n the gate's softmax denominator, R_n
// the row mass of the responsibilities) is taken as log prod_n S_n - one log
// per lane per chunk instead of one per row - when every |R_n - 1| of the
// chunk is below this: the neglected sum_n (R_n - 1) log S_n is then below
// 1e-12 log k per row, far under IRLS's tolerance (E-step responsibilities
// sum to 1 within a few ulps). Other responsibilities take the exact sum.
constexpr double kUnitMass = 1e-12;

// Whether the gate and expert sums take the fused sweeps (GateChunkFixed,
// ExpertChunkFixed): where the gate sweep's accumulators (Q, gradient,
// information) are few enough that its spills cost less than the separate
// loops' latency (measured: k = 3, d = 1 and k = 2, d = 4 faster; k = 3,
// d = 4 - 58 accumulators - 10-25 % slower than separate loops).
template <int P, int K>
inline constexpr bool kFusedSweeps =
    P > 0 && K > 0 && K + (K - 1) * P + (K - 1) * K / 2 * P * (P + 1) / 2 <= 24;

// The vector of W doubles (specialised: GCC ignores a vector_size that
// depends on a template parameter).
template <int W>
struct VectorOf;
template <>
struct VectorOf<4> {
  typedef double type __attribute__((vector_size(32)));
};
template <>
struct VectorOf<8> {
  typedef double type __attribute__((vector_size(64)));
};

// The kernels for W lanes (4 or 8) whose exps and logs are those of level L
// (the vector width and L together fix the bits).
template <int W, SimdLevel L>
struct Kernel {
  using V = typename VectorOf<W>::type;

  [[gnu::always_inline]] static V Load(const double* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  [[gnu::always_inline]] static void Store(double* p, const V& v) { std::memcpy(p, &v, sizeof v); }
  [[gnu::always_inline]] static V Splat(double x) { return V{} + x; }
  // Lanes added pairwise: (l0 + l1) + (l2 + l3), then the two halves at W = 8.
  [[gnu::always_inline]] static double Reduce(const V& v) {
    if constexpr (W == 4) {
      return (v[0] + v[1]) + (v[2] + v[3]);
    } else {
      return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    }
  }
  [[gnu::always_inline]] static V Max(const V& a, const V& b) { return a > b ? a : b; }

  // dst[r] = src[r], r < count. Explicit vector moves: GCC expands a memcpy of
  // a run-time length here into `rep movsq`, whose start-up cost dominates
  // copies of a few hundred bytes.
  [[gnu::always_inline]] static void CopyRows(double* dst, const double* src, Index count) {
    Index r = 0;
    for (; r + W <= count; r += W) Store(dst + r, Load(src + r));
    for (; r < count; ++r) dst[r] = src[r];
  }

  static_assert(kC % W == 0);

  // sums[Packed(a, b, q)] = sum_r w(r) c_a[r] c_b[r] over `rows` (a multiple
  // of W) with c_0 = 1 and c_a = cols[a] for a >= 1; w(r) returns the weights
  // of the W rows from r (computed in the loop rather than stored and
  // reloaded). Q > 0: q = Q at compile time (register accumulators); Q = 0:
  // q = q_runtime, accumulators in `acc`.
  template <int Q, typename Weight>
  [[gnu::always_inline]] static void Gram(const Weight& w, const double* const* cols, int q_runtime,
                                          Index rows, double* sums, double* acc) {
    if constexpr (Q > 0) {
      constexpr int kT = Q * (Q + 1) / 2;
      V reg[kT];
      for (int t = 0; t < kT; ++t) reg[t] = V{};
      for (Index r = 0; r < rows; r += W) {
        const V wv = w(r);
        V c[Q];
        c[0] = Splat(1.0);
#pragma GCC unroll 8
        for (int a = 1; a < Q; ++a) c[a] = Load(cols[a] + r);
        int t = 0;
        reg[t++] += wv;
#pragma GCC unroll 8
        for (int b = 1; b < Q; ++b) reg[t++] += wv * c[b];
#pragma GCC unroll 8
        for (int a = 1; a < Q; ++a) {
          const V wa = wv * c[a];
#pragma GCC unroll 8
          for (int b = a; b < Q; ++b) reg[t++] += wa * c[b];
        }
      }
      for (int t = 0; t < kT; ++t) sums[t] = Reduce(reg[t]);
    } else {
      const int q = q_runtime, count = q * (q + 1) / 2;
      std::fill(acc, acc + W * count, 0.0);
      for (Index r = 0; r < rows; r += W) {
        const V wv = w(r);
        int t = 0;
        Store(acc, Load(acc) + wv);
        ++t;
        for (int b = 1; b < q; ++b, ++t) {
          Store(acc + W * t, Load(acc + W * t) + wv * Load(cols[b] + r));
        }
        for (int a = 1; a < q; ++a) {
          const V wa = wv * Load(cols[a] + r);
          for (int b = a; b < q; ++b, ++t) {
            Store(acc + W * t, Load(acc + W * t) + wa * Load(cols[b] + r));
          }
        }
      }
      for (int t = 0; t < count; ++t) sums[t] = Reduce(Load(acc + W * t));
    }
  }

  // sums[a] = sum_r w(r) c_a[r], a < q, c_0 = 1 (the first row of Gram).
  template <int Q, typename Weight>
  [[gnu::always_inline]] static void RowSums(const Weight& w, const double* const* cols,
                                             int q_runtime, Index rows, double* sums, double* acc) {
    if constexpr (Q > 0) {
      V reg[Q];
      for (int a = 0; a < Q; ++a) reg[a] = V{};
      for (Index r = 0; r < rows; r += W) {
        const V wv = w(r);
        reg[0] += wv;
#pragma GCC unroll 8
        for (int a = 1; a < Q; ++a) reg[a] += wv * Load(cols[a] + r);
      }
      for (int a = 0; a < Q; ++a) sums[a] = Reduce(reg[a]);
    } else {
      const int q = q_runtime;
      std::fill(acc, acc + W * q, 0.0);
      for (Index r = 0; r < rows; r += W) {
        const V wv = w(r);
        Store(acc, Load(acc) + wv);
        for (int a = 1; a < q; ++a) Store(acc + W * a, Load(acc + W * a) + wv * Load(cols[a] + r));
      }
      for (int a = 0; a < q; ++a) sums[a] = Reduce(Load(acc + W * a));
    }
  }

  // Expert i's mean z' gamma_i on the W rows from r (mean: its p
  // coefficients; zr: the rows' Z columns 1.. in registers when P > 0).
  template <int P>
  [[gnu::always_inline]] static V ExpertMean(const double* mean, const V* zr,
                                              const double* const* cols, Index p, Index r) {
    V value = Splat(mean[0]);
    if constexpr (P > 0) {
#pragma GCC unroll 8
      for (int j = 1; j < P; ++j) value += mean[j] * zr[j];
    } else {
      for (Index j = 1; j < p; ++j) value += mean[j] * Load(cols[j] + r);
    }
    return value;
  }

  // Q's sum_n sum_i x_ni log g_ni up to the log S term above, and the gate
  // gradient sum_n (x_ni - R_n g_ni) z_n over one chunk (x: responsibilities,
  // `mass` their row masses R_n, sh = log g + log S, g the gate probabilities);
  // with `information`, also the information blocks (i, l):
  // sum_n R_n g_ni (delta_il - g_nl) z_n z_n' (packed per block, upper
  // triangles in Gram's order, into `blocks`), in one sweep (where
  // kFusedSweeps below: the separate loops were latency-bound, a few
  // accumulators each); the sums per accumulator run over the rows in the same
  // order as Gram and RowSums.
  template <int P, int K>
  [[gnu::always_inline]] static void GateChunkFixed(const double* const* xs, const double* mass,
                                                    const double* sh, const double* g,
                                                    const double* const* cols, Index rows,
                                                    bool masked, bool information, double* q_part,
                                                    double* gradient, double* blocks) {
    constexpr int kM = K - 1, kT = P * (P + 1) / 2, kB = kM * (kM + 1) / 2;
    V qa[K], grad[kM][P], info[kB > 0 ? kB : 1][kT];
    for (auto& v : qa) v = V{};
    for (auto& row : grad) {
      for (auto& v : row) v = V{};
    }
    for (auto& row : info) {
      for (auto& v : row) v = V{};
    }
    const V zero{};
    auto gate_part = [&](Index r, bool with_information) __attribute__((always_inline)) {
      V c[P];
      c[0] = Splat(1.0);
#pragma GCC unroll 8
      for (int a = 1; a < P; ++a) c[a] = Load(cols[a] + r);
      const V rn = Load(mass + r);
      V gv[K];
#pragma GCC unroll 8
      for (int i = 0; i < K; ++i) {
        const V xv = Load(xs[i] + r);
        const V term = xv * Load(sh + i * kC + r);
        qa[i] += masked ? (xv == zero ? zero : term) : term;
        gv[i] = Load(g + i * kC + r);
        if (i < kM) {
          const V w = xv - rn * gv[i];
          grad[i][0] += w;
#pragma GCC unroll 8
          for (int a = 1; a < P; ++a) grad[i][a] += w * c[a];
        }
      }
      if (!with_information) return;
      int b = 0;
#pragma GCC unroll 8
      for (int i = 0; i < kM; ++i) {
#pragma GCC unroll 8
        for (int l = i; l < kM; ++l, ++b) {
          const V u = l == i ? rn * gv[i] * (1.0 - gv[i]) : -(rn * gv[i] * gv[l]);
          int t = 0;
          info[b][t++] += u;
#pragma GCC unroll 8
          for (int e = 1; e < P; ++e) info[b][t++] += u * c[e];
#pragma GCC unroll 8
          for (int a = 1; a < P; ++a) {
            const V ua = u * c[a];
#pragma GCC unroll 8
            for (int e = a; e < P; ++e) info[b][t++] += ua * c[e];
          }
        }
      }
    };
    if (information) {
      for (Index r = 0; r < rows; r += W) gate_part(r, true);
    } else {
      for (Index r = 0; r < rows; r += W) gate_part(r, false);
    }
    V q_sum = qa[0];
    for (int i = 1; i < K; ++i) q_sum += qa[i];
    *q_part += Reduce(q_sum);
    for (int i = 0; i < kM; ++i) {
      for (int a = 0; a < P; ++a) gradient[i * P + a] += Reduce(grad[i][a]);
    }
    if (information) {
      for (int b = 0; b < kB; ++b) {
        for (int t = 0; t < kT; ++t) blocks[b * kT + t] = Reduce(info[b][t]);
      }
    }
  }

  // The experts' sums of one chunk (ExpertSumsSize per expert): the Gram of
  // [Z e_i] weighted by r_i, e_i the residuals about expert i's current mean,
  // all K experts in one sweep (where kFusedSweeps), in Gram's order per
  // accumulator.
  template <int P, int K>
  [[gnu::always_inline]] static void ExpertChunkFixed(const double* r_cols, const double* means,
                                                      const double* const* cols, Index rows,
                                                      double* sums) {
    constexpr int kQ = P + 1, kT = kQ * (kQ + 1) / 2;
    V acc[K][kT];
    for (auto& row : acc) {
      for (auto& v : row) v = V{};
    }
    for (Index r = 0; r < rows; r += W) {
      V c[kQ];
      c[0] = Splat(1.0);
#pragma GCC unroll 8
      for (int a = 1; a < P; ++a) c[a] = Load(cols[a] + r);
      const V yv = Load(cols[P] + r);
#pragma GCC unroll 8
      for (int i = 0; i < K; ++i) {
        // The residuals of sweep 1 again (same expression, same bits):
        // recomputing is cheaper than storing and reloading them.
        c[P] = yv - ExpertMean<P>(means + i * P, c, cols, P, r);
        const V w = Load(r_cols + i * kC + r);
        int t = 0;
        acc[i][t++] += w;
#pragma GCC unroll 8
        for (int b = 1; b < kQ; ++b) acc[i][t++] += w * c[b];
#pragma GCC unroll 8
        for (int a = 1; a < kQ; ++a) {
          const V wa = w * c[a];
#pragma GCC unroll 8
          for (int b = a; b < kQ; ++b) acc[i][t++] += wa * c[b];
        }
      }
    }
    for (int i = 0; i < K; ++i) {
      for (int t = 0; t < kT; ++t) sums[i * kT + t] = Reduce(acc[i][t]);
    }
  }

  // The chunk's work, in three sweeps around the exp call:
  //   1. logits l_i, their row maxima M, the exp arguments l_i - M, and for the
  //      E-step a_i = (l_i - M) + constant_i - (y - mean_i)^2 / (2 variance_i)
  //      (log g_i phi_i up to the row's log S), their row maxima A and a_i - A;
  //   2. the exps (k = 2, 3: of the arguments other than each row's maximum,
  //      one call over the chunk; otherwise of every column);
  //   3. S = sum_i exp(l_i - M), T = sum_i exp(a_i - A), g_i = exp(l_i - M) / S,
  //      responsibilities r_i = exp(a_i - A) / T (written out directly). log S
  //      and log T go into running products per lane (kC / W rows of values in
  //      [1, k]), one log per chunk lane each: log p(y | x) = A + log T - log S
  //      (g_i phi_i = exp(a_i - log S), so the joint's softmax needs no log g),
  //      and Q's sum_n R_n log S_n see kUnitMass.
  // Then the gate sums and the experts' Grams, each with its weights computed
  // inside the accumulation loop. (Exps taken in registers inside sweep 1 or
  // 3 instead measured 15-25 % slower: a row's chain through the exps and the
  // division then bounds how many rows the core overlaps.)
  // K > 0: k = K at compile time (the loops over the experts unroll). A row's
  // largest exp argument is exactly 0 (exp(0) = 1), so K = 2 and 3 exp only
  // the others: K = 2 the one other argument (sh_0 + sh_1, as 0 + x = x
  // exactly), K = 3 the two after the maximum in cyclic order (selects, so
  // exact), put back into their columns in sweep 3 - the same bits as exps of every column,
  // with 2 (K = 2) and 4 (K = 3) exps per row instead of 4 and 6.
  template <int P, int K>
  [[gnu::always_inline]] static void Body(const AffineBlockInput& in, const AffineBlockSums& out) {
    const Index p = P > 0 ? P : in.p, k = K > 0 ? K : in.k, m = (k - 1) * p;
    const int q = static_cast<int>(p);
    const bool estep = in.y != nullptr, with_old = in.r_old != nullptr;
    Scratch& s = ThreadScratch();
    const Index acc_size = W * (p + 1) * (p + 2) / 2;
    const Index sums_size = std::max((p + 1) * (p + 2) / 2 * k, (k - 1) * k / 2 * p * (p + 1) / 2);
    const Index needed = kC * (p + 1 + 7 * k + 12) + acc_size + sums_size;
    double* base = AlignedScratch(s, needed);
    s.cols.resize(p + 1);
    s.x.resize(k);
    s.x_old.resize(k);
    s.logit_cols.resize(k);
    double* zc = base;        // column j >= 1 at zc + j kC (column 0 is the ones)
    double* yc = zc + p * kC;
    double* sh = yc + kC;     // l_i - M (k columns), kept for log g
    double* g = sh + k * kC;  // exp(l_i - M) -> gate probabilities
    double* e = g + k * kC;   // a_i - A -> exp -> responsibilities
    double* rc = e + k * kC;  // given responsibilities of a partial chunk
    double* ro = rc + k * kC; // previous responsibilities of a partial chunk
    double* lc = ro + k * kC; // given logits of a partial chunk
    double* res = lc + k * kC;  // E-step without kFusedSweeps: residuals y - z' gamma_i
    double* sum_s = res + k * kC;  // S per row (1 on padding rows)
    double* log_s = sum_s + kC;    // log S per row, on the exact path of kUnitMass only
    double* rn = log_s + kC;  // row masses R_n = sum_i x_ni
    double* rn_old = rn + kC;
    double* ex = rn_old + kC;  // K = 2, 3: the exp arguments other than the row maxima
    double* ex_out = ex + 4 * kC;  // K = 3: their exps (out of place: see ExpArray)
    double* acc = ex_out + 4 * kC;
    double* sums = acc + acc_size;
    // cols[j] (1 <= j < p): column j of Z, cols[p]: y (the experts' Grams: their residuals).
    const double** cols = s.cols.data();
    const double** x = s.x.data();          // responsibilities (column i of the chunk)
    const double** x_old = s.x_old.data();  // previous responsibilities
    const double** lcol = s.logit_cols.data();
    const V zero{}, one = Splat(1.0);

    for (Index c0 = 0; c0 < in.rows; c0 += kC) {
      // c rows; cw: c rounded up to whole vectors.
      const Index c = std::min(kC, in.rows - c0), cw = (c + W - 1) & ~Index{W - 1};
      const bool full = c == kC;
      // A full chunk reads its inputs in place; a partial one copies them, with
      // rows c..cw as padding that must add nothing (zero responsibilities,
      // finite logits).
      auto view = [&](const double* src, double* dst) -> const double* {
        if (full) return src;
        CopyRows(dst, src, c);
        for (Index r = c; r < cw; ++r) dst[r] = 0.0;
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
      V shift_sum{};  // sum of A over the chunk's rows
      for (Index r = 0; r < cw; r += W) {
        V zr[P > 0 ? P : 1];
        if constexpr (P > 0) {
#pragma GCC unroll 8
          for (int j = 1; j < P; ++j) zr[j] = Load(cols[j] + r);
        }
        auto zcol = [&](Index j) -> V {
          if constexpr (P > 0) {
            return zr[j];
          } else {
            return Load(cols[j] + r);
          }
        };
        // K > 0: a row's values stay in registers (lv, av) until stored once.
        constexpr int kRegs = K > 0 ? K : 1;
        V lv[kRegs], av[kRegs];
        auto logit = [&](Index i) -> V {
          if (in.w == nullptr) return Load(lcol[i] + r);
          const double* wi = in.w + i * p;
          V v = Splat(wi[0]);
#pragma GCC unroll 8
          for (Index j = 1; j < p; ++j) v += wi[j] * zcol(j);
          return v;
        };
        V max_l = Splat(-std::numeric_limits<double>::infinity());
#pragma GCC unroll 8
        for (Index i = 0; i < k; ++i) {
          const V v = logit(i);
          if constexpr (K > 0) {
            lv[i] = v;
          } else {
            Store(sh + i * kC + r, v);
          }
          max_l = Max(max_l, v);
        }
#pragma GCC unroll 8
        for (Index i = 0; i < k; ++i) {
          if constexpr (K > 0) {
            lv[i] -= max_l;
            Store(sh + i * kC + r, lv[i]);
          } else {
            Store(sh + i * kC + r, Load(sh + i * kC + r) - max_l);
          }
        }
        if (estep) {
          const V yv = Load(cols[p] + r);
          V max_a = Splat(-std::numeric_limits<double>::infinity());
#pragma GCC unroll 8
          for (Index i = 0; i < k; ++i) {
            const V residual = yv - ExpertMean<P>(in.means + i * p, zr, cols, p, r);
            if constexpr (!kFusedSweeps<P, K>) Store(res + i * kC + r, residual);
            const V l = K > 0 ? lv[i] : Load(sh + i * kC + r);
            const V a = (l + in.constant[i]) - residual * residual * in.inv_two_var[i];
            if constexpr (K > 0) {
              av[i] = a;
            } else {
              Store(e + i * kC + r, a);
            }
            max_a = Max(max_a, a);
          }
#pragma GCC unroll 8
          for (Index i = 0; i < k; ++i) {
            if constexpr (K > 0) {
              av[i] -= max_a;
              Store(e + i * kC + r, av[i]);
            } else {
              Store(e + i * kC + r, Load(e + i * kC + r) - max_a);
            }
          }
          if (r + W > c) {
            for (Index l = 0; l < W; ++l) {
              if (r + l >= c) max_a[l] = 0.0;  // padding rows add nothing
            }
          }
          shift_sum += max_a;
        }
        if constexpr (K == 2) {
          Store(ex + r, lv[0] + lv[1]);
          if (estep) Store(ex + kC + r, av[0] + av[1]);
        } else if constexpr (K == 3) {
          // The two arguments after the row's maximum (the first exact 0) in
          // cyclic order.
          auto others = [&](const V* v, double* to) {
            const auto m0 = v[0] == zero, m1 = v[1] == zero;
            Store(to + r, m0 ? v[1] : (m1 ? v[2] : v[0]));
            Store(to + kC + r, m0 ? v[2] : (m1 ? v[0] : v[1]));
          };
          others(lv, ex);
          if (estep) others(av, ex + 2 * kC);
        }
      }

      // Sweep 2: the exps (exp(-inf) = 0 for unselected experts).
      if constexpr (K == 2 || K == 3) {
        double* const to = K == 2 ? g : ex_out;
        const Index columns = (K == 2 ? 1 : 2) * (estep ? 2 : 1);
        if (full) {
          ExpArray(L, ex, to, columns * kC);
        } else {
          for (Index j = 0; j < columns; ++j) ExpArray(L, ex + j * kC, to + j * kC, cw);
        }
      } else if (full) {
        ExpArray(L, sh, g, k * kC);
        if (estep) ExpArray(L, e, e, k * kC);
      } else {
        for (Index i = 0; i < k; ++i) {
          ExpArray(L, sh + i * kC, g + i * kC, cw);
          if (estep) ExpArray(L, e + i * kC, e + i * kC, cw);
        }
      }

      // Sweep 3: normalise; responsibilities out; log S and log T by products.
      V prod_s = one, prod_t = one;
      for (Index r = 0; r < cw; r += W) {
        if constexpr (K == 2) {
          const V t_g = Load(g + r), t_e = Load(g + kC + r);
          Store(g + r, Load(sh + r) == zero ? one : t_g);
          Store(g + kC + r, Load(sh + kC + r) == zero ? one : t_g);
          if (estep) {
            Store(e + r, Load(e + r) == zero ? one : t_e);
            Store(e + kC + r, Load(e + kC + r) == zero ? one : t_e);
          }
        } else if constexpr (K == 3) {
          // Back to their columns, the maximum's exp 1. (A NaN argument makes
          // the row maximum NaN, or sits in an exp'd column: it reaches S, T.)
          auto expand = [&](const double* v, double* to, const double* exps) {
            const auto m0 = Load(v + r) == zero, m1 = Load(v + kC + r) == zero;
            const V e1 = Load(exps + r), e2 = Load(exps + kC + r);
            Store(to + r, m0 ? one : (m1 ? e2 : e1));
            Store(to + kC + r, m0 ? e1 : (m1 ? one : e2));
            Store(to + 2 * kC + r, m0 ? e2 : (m1 ? e1 : one));
          };
          expand(sh, g, ex_out);
          if (estep) expand(e, e, ex_out + 2 * kC);
        }
        V sum_g = Load(g + r), sum_e = one, inv_g{}, inv_e{};
#pragma GCC unroll 8
        for (Index i = 1; i < k; ++i) sum_g += Load(g + i * kC + r);
        if (estep) {
          sum_e = Load(e + r);
#pragma GCC unroll 8
          for (Index i = 1; i < k; ++i) sum_e += Load(e + i * kC + r);
          // One division for both (S, T in [1, k]; divisions are the slowest
          // instructions here).
          const V inv_both = 1.0 / (sum_g * sum_e);
          inv_g = sum_e * inv_both;
          inv_e = sum_g * inv_both;
        } else {
          inv_g = 1.0 / sum_g;
        }
#pragma GCC unroll 8
        for (Index i = 0; i < k; ++i) Store(g + i * kC + r, Load(g + i * kC + r) * inv_g);
        // Padding rows (r + l >= c): S := 1, and in the E-step responsibilities
        // 0, T := 1, A := 0.
        const bool padded = r + W > c;
        V keep = one;
        if (padded) {
          for (Index l = 0; l < W; ++l) {
            if (r + l >= c) {
              keep[l] = 0.0;
              sum_g[l] = 1.0;
            }
          }
        }
        Store(sum_s + r, sum_g);
        prod_s *= sum_g;
        if (estep) {
          if (padded) {
            for (Index l = 0; l < W; ++l) {
              if (r + l >= c) sum_e[l] = 1.0;
            }
          }
          V mass = zero;
#pragma GCC unroll 8
          for (Index i = 0; i < k; ++i) {
            V ri = Load(e + i * kC + r) * inv_e;
            if (padded) ri *= keep;
            Store(e + i * kC + r, ri);
            if (full) Store(in.r + i * in.r_stride + c0 + r, ri);
            mass += ri;
          }
          Store(rn + r, mass);
          prod_t *= sum_e;
        } else {
          V mass = Load(x[0] + r);
#pragma GCC unroll 8
          for (Index i = 1; i < k; ++i) mass += Load(x[i] + r);
          Store(rn + r, mass);
        }
        if (with_old) {
          V mass = Load(x_old[0] + r);
#pragma GCC unroll 8
          for (Index i = 1; i < k; ++i) mass += Load(x_old[i] + r);
          Store(rn_old + r, mass);
        }
      }
      // Lanes 0..W-1: log prod S, lanes W..2W-1: log prod T.
      double log_prods[2 * W];
      Store(log_prods, prod_s);
      Store(log_prods + W, prod_t);
      LogArray(L, log_prods, log_prods, estep ? 2 * W : W);
      const double log_prod_s = Reduce(Load(log_prods));
      if (estep) {
        if (!full) {
          for (Index i = 0; i < k; ++i) CopyRows(in.r + i * in.r_stride + c0, e + i * kC, c);
        }
        // log p(y | x) = A + log T - log S per row (A is the maximum of
        // a_i = (l_i - M) + ..., so M is already taken out).
        *out.log_likelihood += (Reduce(shift_sum) + Reduce(Load(log_prods + W))) - log_prod_s;
      }

      // sum_n R_n log S_n for the row masses in `mass` (see kUnitMass).
      bool have_log_s = false;
      // (always_inline: GCC outlined these lambdas, and an outlined lambda
      // does not get the AVX2 copy's target.)
      auto mass_log_s = [&](const double* mass) __attribute__((always_inline)) {
        // max |R_n - 1| over the chunk's rows (padding rows have R_n = 0).
        V deviation{};
        for (Index r = 0; r + W <= c; r += W) {
          const V u = Load(mass + r) - 1.0;
          deviation = Max(deviation, Max(u, -u));
        }
        double largest = 0.0;
        for (int l = 0; l < W; ++l) largest = std::max(largest, deviation[l]);
        for (Index r = c & ~Index{W - 1}; r < c; ++r) {
          largest = std::max(largest, std::abs(mass[r] - 1.0));
        }
        if (largest <= kUnitMass) return log_prod_s;
        if (!have_log_s) LogArray(L, sum_s, log_s, cw);
        have_log_s = true;
        V sum{};
        for (Index r = 0; r < cw; r += W) sum += Load(mass + r) * Load(log_s + r);
        return Reduce(sum);
      };
      // Q = sum r log g and its gradient sum_n (r_ni - R_n g_ni) z_n (and the
      // information) for the responsibilities xs with row masses R_n in mass
      // (1 up to round-off; used as computed, as in the information formula).
      auto gate_sums = [&](const double* const* xs, const double* mass, double* q_out,
                           double* gradient, bool information) __attribute__((always_inline)) {
        double q_part = 0.0;
        if constexpr (kFusedSweeps<P, K>) {
          GateChunkFixed<P, K>(xs, mass, sh, g, cols, cw, in.masked, information, &q_part,
                               gradient, sums);
        } else {
          V qa{};
          for (Index i = 0; i < k; ++i) {
            const double* xi = xs[i];
            const double* si = sh + i * kC;
            for (Index r = 0; r < cw; r += W) {
              const V xv = Load(xi + r);
              const V term = xv * Load(si + r);
              qa += in.masked ? (xv == zero ? zero : term) : term;
            }
          }
          q_part = Reduce(qa);
          for (Index i = 0; i + 1 < k; ++i) {
            const double* xi = xs[i];
            const double* gi = g + i * kC;
            RowSums<P>([&](Index r) { return Load(xi + r) - Load(mass + r) * Load(gi + r); }, cols,
                       q, cw, sums, acc);
            for (Index a = 0; a < p; ++a) gradient[i * p + a] += sums[a];
          }
          if (information) {
            // Block (i, l): sum_n R_n g_ni (delta_il - g_nl) z_n z_n', packed as below.
            const Index t_count = p * (p + 1) / 2;
            Index b = 0;
            for (Index i = 0; i + 1 < k; ++i) {
              for (Index l = i; l + 1 < k; ++l, ++b) {
                const double* gi = g + i * kC;
                const double* gl = g + l * kC;
                if (l == i) {
                  Gram<P>(
                      [&](Index r) {
                        const V gv = Load(gi + r);
                        return Load(mass + r) * gv * (1.0 - gv);
                      },
                      cols, q, cw, sums + b * t_count, acc);
                } else {
                  Gram<P>([&](Index r) { return -(Load(mass + r) * Load(gi + r) * Load(gl + r)); },
                          cols, q, cw, sums + b * t_count, acc);
                }
              }
            }
          }
        }
        *q_out += q_part - mass_log_s(mass);
        if (!information) return;
        const Index t_count = p * (p + 1) / 2;
        Index b = 0;
        for (Index i = 0; i + 1 < k; ++i) {
          for (Index l = i; l + 1 < k; ++l, ++b) {
            const double* block = sums + b * t_count;
            for (int a = 0; a < q; ++a) {
              for (int c2 = a; c2 < q; ++c2) {
                const double v = block[Packed(a, c2, q)];
                out.information[(i * p + a) + (l * p + c2) * m] += v;
                if (a != c2) out.information[(i * p + c2) + (l * p + a) * m] += v;
                if (l != i) {
                  out.information[(l * p + a) + (i * p + c2) * m] += v;
                  if (a != c2) out.information[(l * p + c2) + (i * p + a) * m] += v;
                }
              }
            }
          }
        }
      };
      gate_sums(x, rn, out.q, out.gradient, in.with_information);
      if (estep) {
        // Experts: the Gram of [Z e_i] weighted by r_i gives mass, Z'R_i e_i,
        // Z'R_i Z and e_i'R_i e_i (e_i the residuals of expert i's current mean).
        const int qa = q + 1;
        const Index t_count = (p + 1) * (p + 2) / 2;
        if constexpr (kFusedSweeps<P, K>) {
          ExpertChunkFixed<P, K>(e, in.means, cols, cw, sums);
        } else {
          for (Index i = 0; i < k; ++i) {
            const double* ri = e + i * kC;
            cols[p] = res + i * kC;
            Gram<(P > 0 ? P + 1 : 0)>([&](Index r) { return Load(ri + r); }, cols, qa, cw,
                                      sums + i * t_count, acc);
          }
        }
        for (Index i = 0; i < k; ++i) {
          const double* block = sums + i * t_count;
          double* o = out.experts + i * ExpertSumsSize(p);
          o[0] += block[0];
          for (int a = 0; a < q; ++a) {
            o[1 + a] += block[Packed(a, q, qa)];
            for (int b = a; b < q; ++b) {
              const double v = block[Packed(a, b, qa)];
              o[1 + p + a + b * p] += v;
              if (a != b) o[1 + p + b + a * p] += v;
            }
          }
          o[1 + p + p * p] += block[Packed(q, q, qa)];
        }
      }
      if (with_old) gate_sums(x_old, rn_old, out.q_old, out.gradient_old, false);
    }
  }

  // rss[i] += sum_r r_ri (y_r - z_r' mean_i)^2: rows in groups of W (the last
  // one zero-padded), expert loop inside, one accumulator per expert.
  template <int P, int K>
  [[gnu::always_inline]] static void RssBody(const AffineBlockInput& in, double* rss) {
    const Index p = P > 0 ? P : in.p, k = K > 0 ? K : in.k;
    Scratch& s = ThreadScratch();
    const Index needed = W * (2 * k + p + 1);
    double* acc = AlignedScratch(s, needed);  // W lanes per expert
    double* pad = acc + W * k;      // the last rows: y, z columns 1.., r columns
    std::fill(acc, acc + W * k, 0.0);
    V reg[K > 0 ? K : 1];  // K > 0: register accumulators
    for (auto& v : reg) v = V{};
    auto group = [&](const double* y, const double* const* z, const double* const* r,
                     Index stride_z, Index stride_r, Index row) {
      V zr[P > 0 ? P : 1];
      if constexpr (P > 0) {
#pragma GCC unroll 8
        for (int j = 1; j < P; ++j) zr[j] = Load(z[0] + j * stride_z + row);
      }
      const V yv = Load(y + row);
#pragma GCC unroll 8
      for (Index i = 0; i < k; ++i) {
        const double* mi = in.means + i * p;
        V mean = Splat(mi[0]);
#pragma GCC unroll 8
        for (Index j = 1; j < p; ++j) {
          if constexpr (P > 0) {
            mean += mi[j] * zr[j];
          } else {
            mean += mi[j] * Load(z[0] + j * stride_z + row);
          }
        }
        const V residual = yv - mean;
        const V term = Load(r[0] + i * stride_r + row) * (residual * residual);
        if constexpr (K > 0) {
          reg[i] += term;
        } else {
          Store(acc + W * i, Load(acc + W * i) + term);
        }
      }
    };
    const double* z0 = in.z;
    const double* r0 = in.r;
    Index row = 0;
    for (; row + W <= in.rows; row += W) group(in.y, &z0, &r0, in.z_stride, in.r_stride, row);
    if (row < in.rows) {
      // Padding rows: y = z = r = 0 adds nothing.
      std::fill(pad, pad + W * (k + p + 1), 0.0);
      for (Index l = 0; row + l < in.rows; ++l) {
        pad[l] = in.y[row + l];
        for (Index j = 1; j < p; ++j) pad[W * (1 + j) + l] = in.z[j * in.z_stride + row + l];
        for (Index i = 0; i < k; ++i) pad[W * (1 + p + i) + l] = in.r[i * in.r_stride + row + l];
      }
      const double* pz = pad + W;
      const double* pr = pad + W * (1 + p);
      group(pad, &pz, &pr, W, W, 0);
    }
    for (Index i = 0; i < k; ++i) rss[i] += Reduce(K > 0 ? reg[i] : Load(acc + W * i));
  }
};

// One entry per level: the portable copy is the 4-lane code compiled for the
// baseline target (SSE2 on x86-64).
template <int P, int K>
void RunPortable(const AffineBlockInput& in, const AffineBlockSums& out) {
  Kernel<4, SimdLevel::kPortable>::Body<P, K>(in, out);
}
template <int P, int K>
void RunPortable(const AffineBlockInput& in, double* rss) {
  Kernel<4, SimdLevel::kPortable>::RssBody<P, K>(in, rss);
}

#if defined(MOELAB_SIMD_X86)
template <int P, int K>
MOELAB_TARGET_AVX2 void RunAvx2(const AffineBlockInput& in, const AffineBlockSums& out) {
  Kernel<4, SimdLevel::kAvx2>::Body<P, K>(in, out);
}
template <int P, int K>
MOELAB_TARGET_AVX2 void RunAvx2(const AffineBlockInput& in, double* rss) {
  Kernel<4, SimdLevel::kAvx2>::RssBody<P, K>(in, rss);
}
template <int P, int K>
MOELAB_TARGET_AVX512 void RunAvx512(const AffineBlockInput& in, const AffineBlockSums& out) {
  Kernel<8, SimdLevel::kAvx512>::Body<P, K>(in, out);
}
template <int P, int K>
MOELAB_TARGET_AVX512 void RunAvx512(const AffineBlockInput& in, double* rss) {
  Kernel<8, SimdLevel::kAvx512>::RssBody<P, K>(in, rss);
}
#endif

template <int P, int K, typename In, typename Out>
void Dispatch(const In& in, const Out& out, SimdLevel level) {
  switch (RunnableSimdLevel(level)) {
#if defined(MOELAB_SIMD_X86)
    case SimdLevel::kAvx512:
      return RunAvx512<P, K>(in, out);
    case SimdLevel::kAvx2:
      return RunAvx2<P, K>(in, out);
#endif
    default:
      return RunPortable<P, K>(in, out);
  }
}

// Specialised for k = 2 and 3 (the common fits; the expert loops unroll) and
// p <= 5; the generic copy takes the rest.
template <int P, typename In, typename Out>
void DispatchOnK(const In& in, const Out& out, SimdLevel level) {
  switch (in.k) {
    case 2:
      return Dispatch<P, 2>(in, out, level);
    case 3:
      return Dispatch<P, 3>(in, out, level);
    default:
      return Dispatch<P, 0>(in, out, level);
  }
}

template <typename In, typename Out>
void DispatchOnP(const In& in, const Out& out, SimdLevel level) {
  switch (in.p) {
    case 2:
      return DispatchOnK<2>(in, out, level);
    case 3:
      return DispatchOnK<3>(in, out, level);
    case 4:
      return DispatchOnK<4>(in, out, level);
    case 5:
      return DispatchOnK<5>(in, out, level);
    default:
      return DispatchOnK<0>(in, out, level);
  }
}

}  // namespace

bool AffineBlockKernelAvailable() { return true; }

void AccumulateAffineBlock(const AffineBlockInput& in, const AffineBlockSums& out,
                           SimdLevel level) {
  DispatchOnP(in, out, level);
}

void AccumulateExpertRss(const AffineBlockInput& in, double* rss, SimdLevel level) {
  DispatchOnP(in, rss, level);
}

#else  // no vector extensions: callers use the column-wise kernels

bool AffineBlockKernelAvailable() { return false; }
void AccumulateAffineBlock(const AffineBlockInput&, const AffineBlockSums&, SimdLevel) {}
void AccumulateExpertRss(const AffineBlockInput&, double*, SimdLevel) {}

#endif

void AccumulateAffineBlock(const AffineBlockInput& in, const AffineBlockSums& out) {
  AccumulateAffineBlock(in, out, ActiveSimdLevel());
}

void AccumulateExpertRss(const AffineBlockInput& in, double* rss) {
  AccumulateExpertRss(in, rss, ActiveSimdLevel());
}

}  // namespace moelab::detail
