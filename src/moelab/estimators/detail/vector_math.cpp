#include "moelab/estimators/detail/vector_math.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__GNUC__) || defined(__clang__)
#define MOELAB_VECTOR_EXTENSIONS 1
#if defined(MOELAB_SIMD_X86)
#include <immintrin.h>
#endif
#endif

#if defined(MOELAB_VECTOR_EXTENSIONS)
// Wide vectors (32- and 64-byte) cross function boundaries only between
// functions of the same target (everything else is always_inline), so the
// psABI note does not apply.
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

#if defined(MOELAB_VECTOR_EXTENSIONS)

namespace {

template <int W>
struct Lanes {
  typedef double D __attribute__((vector_size(8 * W)));
  typedef std::int64_t I __attribute__((vector_size(8 * W)));
  typedef std::uint64_t U __attribute__((vector_size(8 * W)));
};

template <typename D>
[[gnu::always_inline]] inline D Splat(double value) {
  return D{} + value;
}

constexpr double kExpLow = -708.3, kExpHigh = 709.0;

// Whether every lane of a comparison result (all ones or zero) is true.
template <int W>
[[gnu::always_inline]] inline bool AllLanes(const typename Lanes<W>::I& mask) {
  bool all = true;
  for (int l = 0; l < W; ++l) all &= mask[l] != 0;
  return all;
}

// exp for lo <= xc <= hi.
template <int W>
[[gnu::always_inline]] inline typename Lanes<W>::D ExpCore(const typename Lanes<W>::D& xc) {
  using D = typename Lanes<W>::D;
  using I = typename Lanes<W>::I;
  // t = 1.5 * 2^52 + n: adding the shift rounds x / ln 2 to the nearest
  // integer n, which then sits in the low mantissa bits of t.
  const D shift = Splat<D>(6755399441055744.0);
  const D t = xc * 1.4426950408889634074 + shift;
  const D n = t - shift;
  const D r = (xc - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
  const D r2 = r * r;
  const D px = ((1.26177193074810590878e-4 * r2 + 3.02994407707441961300e-2) * r2 +
                9.99999999999999999910e-1) *
               r;
  const D qx = ((3.00198505138664455042e-6 * r2 + 2.52448340349684104192e-3) * r2 +
                2.27265548208155028766e-1) *
                   r2 +
               2.00000000000000000009e0;
  const D er = 1.0 + 2.0 * (px / (qx - px));
  // 2^n: (n + 1023) into the exponent field; the shift drops t's high bits.
  const I scale = ((I)t + 1023) << 52;
  return er * (D)scale;
}

// exp for x <= hi (or NaN): arguments below lo - the -inf of a top-K gate's
// unselected experts, the far tails of a narrow expert - give 0 without a
// branch (the core runs on lo there).
template <int W>
[[gnu::always_inline]] inline typename Lanes<W>::D ExpBelowHigh(const typename Lanes<W>::D& x) {
  using D = typename Lanes<W>::D;
  const D lo = Splat<D>(kExpLow);
  const auto low = x < lo;
  const D y = ExpCore<W>(low ? lo : x);
  return low ? Splat<D>(0.0) : y;
}

template <int W>
[[gnu::always_inline]] inline typename Lanes<W>::D ExpLanes(const typename Lanes<W>::D& x) {
  using D = typename Lanes<W>::D;
  const D lo = Splat<D>(kExpLow), hi = Splat<D>(kExpHigh);
  // Below hi every lane takes ExpBelowHigh (the same bits as this full
  // path there); the rare vector with NaN or an argument above hi takes the
  // full path.
  if (AllLanes<W>(x <= hi)) return ExpBelowHigh<W>(x);
  D xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  D y = ExpCore<W>(xc);
  y = x < lo ? Splat<D>(0.0) : y;
  y = x > hi ? Splat<D>(std::numeric_limits<double>::infinity()) : y;
  return x != x ? x : y;
}

template <int W>
[[gnu::always_inline]] inline typename Lanes<W>::D LogLanes(const typename Lanes<W>::D& x) {
  using D = typename Lanes<W>::D;
  using U = typename Lanes<W>::U;
  // fdlibm / musl log: move the mantissa into [sqrt(2)/2, sqrt(2)).
  U ix = (U)x;
  ix += std::uint64_t{0x3ff00000 - 0x3fe6a09e} << 32;
  const D k = (D)((ix >> 52) | 0x4330000000000000ULL) - (4503599627370496.0 + 1023.0);
  ix = (ix & 0x000fffffffffffffULL) + (std::uint64_t{0x3fe6a09e} << 32);
  const D f = (D)ix - 1.0;
  const D hfsq = 0.5 * f * f;
  const D s = f / (2.0 + f);
  const D z = s * s, w = z * z;
  const D t1 = w * (3.999999999940941908e-01 +
                    w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const D t2 = z * (6.666666666666735130e-01 +
                    w * (2.857142874366239149e-01 +
                         w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  return s * (hfsq + (t2 + t1)) + k * 1.90821492927058770002e-10 - hfsq + f +
         k * 6.93147180369123816490e-01;
}

bool NeedsLibmLog(double v) {
  return !(v >= std::numeric_limits<double>::min() && v <= std::numeric_limits<double>::max());
}

enum class Op { kExp, kLog };

// Full vectors, then the tail padded with `pad` (a harmless argument).
template <int W, Op op>
[[gnu::always_inline]] inline void Apply(const double* x, double* y, Index n, double pad) {
  using D = typename Lanes<W>::D;
  Index j = 0;
  for (; j + W <= n; j += W) {
    D v;
    std::memcpy(&v, x + j, sizeof v);
    if constexpr (op == Op::kExp) {
      v = ExpLanes<W>(v);
    } else {
      v = LogLanes<W>(v);
    }
    std::memcpy(y + j, &v, sizeof v);
  }
  if (j < n) {
    double buffer[W];
    for (int l = 0; l < W; ++l) buffer[l] = j + l < n ? x[j + l] : pad;
    D v;
    std::memcpy(&v, buffer, sizeof v);
    if constexpr (op == Op::kExp) {
      v = ExpLanes<W>(v);
    } else {
      v = LogLanes<W>(v);
    }
    std::memcpy(buffer, &v, sizeof v);
    for (Index l = 0; j + l < n; ++l) y[j + l] = buffer[l];
  }
}

template <int W>
[[gnu::always_inline]] inline void ExpImpl(const double* x, double* y, Index n) {
  using D = typename Lanes<W>::D;
  using I = typename Lanes<W>::I;
  if (x == y || n < W) {
    Apply<W, Op::kExp>(x, y, n, 0.0);
    return;
  }
  // Out of place: ExpBelowHigh over every full vector, with one check for
  // the whole array instead of a test and branch per vector (a quarter of
  // the time); the vectors holding a NaN or an argument above hi (rare: the
  // EM kernels' arguments are <= 0) are redone by the full path from x.
  const D hi = Splat<D>(kExpHigh);
  I below_high = ~I{};
  Index j = 0;
  for (; j + W <= n; j += W) {
    D v;
    std::memcpy(&v, x + j, sizeof v);
    below_high &= v <= hi;
    v = ExpBelowHigh<W>(v);
    std::memcpy(y + j, &v, sizeof v);
  }
  if (!AllLanes<W>(below_high)) {
    for (Index i = 0; i + W <= n; i += W) {
      D v;
      std::memcpy(&v, x + i, sizeof v);
      if (AllLanes<W>(v <= hi)) continue;
      v = ExpLanes<W>(v);
      std::memcpy(y + i, &v, sizeof v);
    }
  }
  if (j < n) Apply<W, Op::kExp>(x + j, y + j, n - j, 0.0);
}

template <int W>
[[gnu::always_inline]] inline void LogImpl(const double* x, double* y, Index n) {
  // The fast path is exact only for positive normal finite x; the rest (rare
  // here: sums of exps are >= 1) are redone by std::log. Checked before the
  // in-place write so that x == y works.
  using D = typename Lanes<W>::D;
  using I = typename Lanes<W>::I;
  const D lo = Splat<D>(std::numeric_limits<double>::min());
  const D hi = Splat<D>(std::numeric_limits<double>::max());
  I outside{};  // lanes that saw a value outside [min, max] or NaN
  Index j = 0;
  for (; j + W <= n; j += W) {
    D v;
    std::memcpy(&v, x + j, sizeof v);
    outside |= ~((v >= lo) & (v <= hi));
  }
  bool special = false;
  for (int l = 0; l < W; ++l) special |= outside[l] != 0;
  for (; j < n; ++j) special |= NeedsLibmLog(x[j]);
  if (!special) {
    Apply<W, Op::kLog>(x, y, n, 1.0);
    return;
  }
  for (Index j = 0; j < n; ++j) {
    if (NeedsLibmLog(x[j])) {
      y[j] = std::log(x[j]);
    } else {
      typename Lanes<W>::D v = Splat<typename Lanes<W>::D>(x[j]);
      y[j] = LogLanes<W>(v)[0];
    }
  }
}

#if defined(MOELAB_SIMD_X86)
MOELAB_TARGET_AVX2 void ExpAvx2(const double* x, double* y, Index n) {
  ExpImpl<4>(x, y, n);
}
MOELAB_TARGET_AVX2 void LogAvx2(const double* x, double* y, Index n) {
  LogImpl<4>(x, y, n);
}
// exp, 8 lanes: 2^(j/16) from a 16-entry table (one permute), e^r on
// |r| <= ln(2)/32 by a degree-6 polynomial, the power of 2 by scalef; lanes
// below lo zeroed by the mask (exp(-inf) = 0), NaN kept, lanes above hi set
// to +inf.
[[gnu::always_inline]] MOELAB_TARGET_AVX512 inline __m512d Exp8(__m512d x) {
  // 2^(j/16), j < 16, each rounded to nearest.
  alignas(64) static const double kTable[16] = {
      1.0, 1.0442737824274138, 1.0905077326652577, 1.1387886347566916,
      1.189207115002721, 1.241857812073484, 1.2968395546510096, 1.3542555469368927,
      1.4142135623730951, 1.4768261459394993, 1.5422108254079407, 1.6104903319492543,
      1.681792830507429, 1.7562521603732995, 1.8340080864093424, 1.9152065613971474};
  const __mmask8 keep = _mm512_cmp_pd_mask(x, _mm512_set1_pd(kExpLow), _CMP_NLT_UQ);
  const __mmask8 above = _mm512_cmp_pd_mask(x, _mm512_set1_pd(kExpHigh), _CMP_GT_OQ);
  // t = 1.5 * 2^52 + m, m = round(16 x / ln 2): the low 4 bits of t's
  // mantissa are m mod 16, the table index (the permute reads just those).
  const __m512d shift = _mm512_set1_pd(6755399441055744.0);
  const __m512d t = _mm512_fmadd_pd(x, _mm512_set1_pd(23.083120654223414), shift);
  const __m512d m = _mm512_sub_pd(t, shift);
  __m512d r = _mm512_fnmadd_pd(m, _mm512_set1_pd(6.93147180369123816490e-01 / 16), x);
  r = _mm512_fnmadd_pd(m, _mm512_set1_pd(1.90821492927058770002e-10 / 16), r);
  // e^r - 1 = r + r^2 P(r): P interpolates (e^r - 1 - r) / r^2 at the
  // Chebyshev nodes of [-ln(2)/32, ln(2)/32] (relative error of e^r 3e-17).
  __m512d poly = _mm512_fmadd_pd(_mm512_set1_pd(0.001388903440678947), r,
                                 _mm512_set1_pd(0.008333449747805583));
  poly = _mm512_fmadd_pd(poly, r, _mm512_set1_pd(0.041666666664959086));
  poly = _mm512_fmadd_pd(poly, r, _mm512_set1_pd(0.16666666665300597));
  poly = _mm512_fmadd_pd(poly, r, _mm512_set1_pd(0.5));
  const __m512d em1 = _mm512_fmadd_pd(_mm512_mul_pd(r, r), poly, r);
  const __m512d tab = _mm512_permutex2var_pd(_mm512_load_pd(kTable), _mm512_castpd_si512(t),
                                             _mm512_load_pd(kTable + 8));
  // 2^(m/16) e^r = 2^floor(m/16) (table * e^r): scalef takes the floor.
  const __m512d y = _mm512_maskz_scalef_pd(keep, _mm512_fmadd_pd(tab, em1, tab),
                                           _mm512_mul_pd(m, _mm512_set1_pd(0.0625)));
  return _mm512_mask_mov_pd(y, above, _mm512_set1_pd(std::numeric_limits<double>::infinity()));
}

MOELAB_TARGET_AVX512 void ExpAvx512(const double* x, double* y, Index n) {
  Index j = 0;
  for (; j + 8 <= n; j += 8) _mm512_storeu_pd(y + j, Exp8(_mm512_loadu_pd(x + j)));
  if (j < n) {
    const auto tail = static_cast<__mmask8>((1u << (n - j)) - 1);
    _mm512_mask_storeu_pd(y + j, tail, Exp8(_mm512_maskz_loadu_pd(tail, x + j)));
  }
}
#endif

}  // namespace

void ExpArray(SimdLevel level, const double* x, double* y, Index n) {
  switch (RunnableSimdLevel(level)) {
#if defined(MOELAB_SIMD_X86)
    case SimdLevel::kAvx512:
      return ExpAvx512(x, y, n);
    case SimdLevel::kAvx2:
      return ExpAvx2(x, y, n);
#endif
    default:
      return ExpImpl<2>(x, y, n);
  }
}

void LogArray(SimdLevel level, const double* x, double* y, Index n) {
  switch (RunnableSimdLevel(level)) {
#if defined(MOELAB_SIMD_X86)
    case SimdLevel::kAvx512:  // the AVX2 code (logs are few: one per chunk lane)
    case SimdLevel::kAvx2:
      return LogAvx2(x, y, n);
#endif
    default:
      return LogImpl<2>(x, y, n);
  }
}

#else  // no vector extensions: the C library

void ExpArray(SimdLevel, const double* x, double* y, Index n) {
  for (Index j = 0; j < n; ++j) y[j] = std::exp(x[j]);
}
void LogArray(SimdLevel, const double* x, double* y, Index n) {
  for (Index j = 0; j < n; ++j) y[j] = std::log(x[j]);
}

#endif

void ExpArray(const double* x, double* y, Index n) { ExpArray(ActiveSimdLevel(), x, y, n); }
void LogArray(const double* x, double* y, Index n) { LogArray(ActiveSimdLevel(), x, y, n); }

}  // namespace moelab::detail
