#include "moelab/routing/top_k_row.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__GNUC__) || defined(__clang__)
#define MOELAB_TOPK_VECTOR_EXTENSIONS 1
#endif

namespace moelab {

namespace {

// Insertion into a sorted list of the best K over the candidates idx[0..n)
// (in increasing index order); a strict comparison keeps the lower index
// ahead on ties. The values ride along with the indices so the admission
// test against the current K-th value needs no indirect load.
void InsertionTopK(const double* v, const int* idx, int n, int K, int* out, double* val) {
  int filled = 0;
  double threshold = 0.0;  // val[K - 1] once K entries are in
  for (int c = 0; c < n; ++c) {
    const int j = idx ? idx[c] : c;
    const double x = v[j];
    int pos;
    if (filled == K) {
      if (!(x > threshold)) continue;
      pos = K - 1;
    } else {
      pos = filled++;
    }
    while (pos > 0 && x > val[pos - 1]) {
      val[pos] = val[pos - 1];
      out[pos] = out[pos - 1];
      --pos;
    }
    val[pos] = x;
    out[pos] = j;
    if (filled == K) threshold = val[K - 1];
  }
}

#if defined(MOELAB_TOPK_VECTOR_EXTENSIONS)

typedef double Pair __attribute__((vector_size(16)));
typedef std::int64_t PairMask __attribute__((vector_size(16)));
typedef std::uint64_t PairBits __attribute__((vector_size(16)));

// The fast path of TopKOfRow on w[0..n), K <= 8, 4K <= n <= 64. Returns
// false (out untouched) when the row has a NaN or a selected value is not
// matched by exactly one entry; the caller then takes the insertion path.
template <int K>
bool TopKSmallRow(const double* w, int n, int offset, int* out) {
  // Lower bound: smallest of K block maxima (the last block takes the rest).
  // Pairs of entries at a time; `seen` stays all-ones unless a NaN shows up.
  const int block = n / K;
  double bound = std::numeric_limits<double>::infinity();
  PairMask seen = {-1, -1};
  for (int b = 0; b < K; ++b) {
    const int begin = b * block, end = b + 1 == K ? n : begin + block;
    int j = begin;
    double m = -std::numeric_limits<double>::infinity();
    if (end - begin >= 2) {
      Pair mp;
      std::memcpy(&mp, w + j, sizeof mp);
      seen &= mp == mp;
      for (j += 2; j + 2 <= end; j += 2) {
        Pair x;
        std::memcpy(&x, w + j, sizeof x);
        seen &= x == x;
        mp = x > mp ? x : mp;
      }
      m = mp[0] > mp[1] ? mp[0] : mp[1];
    }
    for (; j < end; ++j) {
      seen[0] &= -static_cast<std::int64_t>(w[j] == w[j]);
      m = w[j] > m ? w[j] : m;
    }
    bound = m < bound ? m : bound;
  }
  if ((seen[0] & seen[1]) == 0) return false;
  // Bit j of mask: w[j] >= bound. Two entries at a time, each lane setting
  // its own bit.
  const Pair bounds = Pair{} + bound;
  PairBits bits = {0, 0}, bit = {1, 2};
  int j = 0;
  for (; j + 2 <= n; j += 2) {
    Pair x;
    std::memcpy(&x, w + j, sizeof x);
    bits |= reinterpret_cast<PairBits>(x >= bounds) & bit;
    bit <<= 2;
  }
  std::uint64_t mask = bits[0] | bits[1];
  if (j < n) mask |= static_cast<std::uint64_t>(w[j] >= bound) << j;
  // The kLevels >= K largest values (a multiset, descending) of the
  // candidates: inserting x into the sorted L is
  // L'[i] = max(L[i], min(L[i-1], x)) with L[-1] = +inf, no branch; held as
  // pairs (L[2i], L[2i+1]), the shifted list as pairs (L[2i-1], L[2i]).
  constexpr int kPairs = (K + 1) / 2, kLevels = 2 * kPairs;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Pair top[kPairs];
  for (int i = 0; i < kPairs; ++i) top[i] = Pair{} - kInf;
  for (std::uint64_t r = mask; r != 0; r &= r - 1) {
    const Pair x = Pair{} + w[__builtin_ctzll(r)];
    Pair shifted[kPairs];
    shifted[0] = Pair{kInf, top[0][0]};
    for (int i = 1; i < kPairs; ++i) shifted[i] = Pair{top[i - 1][1], top[i][0]};
    for (int i = 0; i < kPairs; ++i) {
      const Pair a = shifted[i] < x ? shifted[i] : x;
      top[i] = top[i] > a ? top[i] : a;
    }
  }
  double values[kLevels];
  std::memcpy(values, top, sizeof values);
  const double kth = values[K - 1];
  // Index of each value: every entry equal to values[i] is a candidate (it
  // is >= the bound), and only those >= the K-th value can match, so count
  // and sum the matching ones per slot; one match per slot means the slot's
  // index is that sum.
  if constexpr (K % 2 == 1) top[kPairs - 1][1] = std::numeric_limits<double>::quiet_NaN();  // not a slot
  std::uint64_t selected = 0;
  for (std::uint64_t r = mask; r != 0; r &= r - 1) {
    const int c = __builtin_ctzll(r);
    selected |= static_cast<std::uint64_t>(w[c] >= kth) << c;
  }
  PairMask count[kPairs] = {}, index[kPairs] = {};
  for (std::uint64_t r = selected; r != 0; r &= r - 1) {
    const std::int64_t c = __builtin_ctzll(r);
    const Pair x = Pair{} + w[c];
    const PairMask cc = PairMask{} + c;
    for (int i = 0; i < kPairs; ++i) {
      const PairMask eq = top[i] == x;
      count[i] -= eq;
      index[i] += eq & cc;
    }
  }
  std::int64_t counts[2 * kPairs], indices[2 * kPairs];
  std::memcpy(counts, count, sizeof counts);
  std::memcpy(indices, index, sizeof indices);
  std::int64_t unique = 1;
  for (int i = 0; i < K; ++i) unique &= counts[i] == 1;
  if (!unique) return false;
  for (int i = 0; i < K; ++i) out[i] = static_cast<int>(indices[i]) + offset;
  return true;
}

bool TopKFast(const double* v, int lo, int hi, int K, int* out) {
  const int n = hi - lo;
  if (K < 1 || K > 8 || n < 4 * K || n > 64) return false;
  const double* w = v + lo;
  switch (K) {
    case 1: return TopKSmallRow<1>(w, n, lo, out);
    case 2: return TopKSmallRow<2>(w, n, lo, out);
    case 3: return TopKSmallRow<3>(w, n, lo, out);
    case 4: return TopKSmallRow<4>(w, n, lo, out);
    case 5: return TopKSmallRow<5>(w, n, lo, out);
    case 6: return TopKSmallRow<6>(w, n, lo, out);
    case 7: return TopKSmallRow<7>(w, n, lo, out);
    default: return TopKSmallRow<8>(w, n, lo, out);
  }
}

#else

bool TopKFast(const double*, int, int, int, int*) { return false; }

#endif

}  // namespace

namespace detail {

void TopKOfRowInsertion(const double* v, int lo, int hi, int K, int* out) {
  // Two passes when the row is long against K: split [lo, hi) into K blocks;
  // the smallest of the K block maxima is <= the K-th largest value, so every
  // member of the top-K (ties included) is >= it. Pass 1 finds that bound
  // (branch-free maxima), pass 2 keeps the candidates >= bound in index order
  // (typically 1.5-2 K of them) and the insertion top-K runs on those only.
  // Rows with NaN fall back to the single pass (a NaN block maximum would
  // break the bound), as do short rows, rows over 256 and K over 64.
  constexpr int kStack = 64;
  const int n = hi - lo;
  if (K <= kStack && n >= 4 * K && n <= 256) {
    double val[kStack];
    int cand[256];
    const int block = n / K;
    double bound = std::numeric_limits<double>::infinity();
    bool finite = true;
    for (int b = 0; b < K; ++b) {
      const int begin = lo + b * block, end = b + 1 == K ? hi : begin + block;
      double m = v[begin];
      for (int j = begin; j < end; ++j) {
        finite &= v[j] == v[j];
        m = v[j] > m ? v[j] : m;
      }
      bound = m < bound ? m : bound;
    }
    if (finite) {
      int count = 0;
      for (int j = lo; j < hi; ++j) {
        cand[count] = j;
        count += v[j] >= bound;
      }
      if (count >= K) {
        InsertionTopK(v, cand, count, K, out, val);
        return;
      }
    }
  }
  if (K <= kStack) {
    double val[kStack];
    InsertionTopK(v + lo, nullptr, n, K, out, val);
    for (int i = 0; i < std::min(K, n); ++i) out[i] += lo;
    return;
  }
  std::vector<double> values(static_cast<std::size_t>(K));
  InsertionTopK(v + lo, nullptr, n, K, out, values.data());
  for (int i = 0; i < std::min(K, n); ++i) out[i] += lo;
}

}  // namespace detail

void TopKOfRow(const double* v, int lo, int hi, int K, int* out) {
  if (TopKFast(v, lo, hi, K, out)) return;
  detail::TopKOfRowInsertion(v, lo, hi, K, out);
}

}  // namespace moelab
