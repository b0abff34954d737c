// Per-row record of the experts a sparse (top-K) gate selected (private).
// Stored as bits so that the EM engine can freeze a selection for the gate
// M-step (docs/theory.md §6.2) and count the rows whose selection switched.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "moelab/core/types.hpp"

namespace moelab::detail {

class SelectionMask {
 public:
  void Resize(Index num_rows, Index num_experts) {
    words_per_row_ = (num_experts + 63) / 64;
    bits_.assign(static_cast<std::size_t>(num_rows * words_per_row_), 0);
  }
  bool empty() const { return bits_.empty(); }
  bool Selected(Index row, Index expert) const {
    return (Word(row, expert) >> (expert % 64)) & 1u;
  }
  void ClearRow(Index row) {
    for (Index w = 0; w < words_per_row_; ++w) bits_[row * words_per_row_ + w] = 0;
  }
  void Select(Index row, Index expert) {
    bits_[row * words_per_row_ + expert / 64] |= std::uint64_t{1} << (expert % 64);
  }
  // logits(r, i) := -inf where expert i is not selected on row first_row + r
  // (the masked logits the kernels and Q take).
  void MaskUnselected(Index first_row, Eigen::Ref<Matrix> logits) const {
    for (Index i = 0; i < logits.cols(); ++i) {
      for (Index r = 0; r < logits.rows(); ++r) {
        if (!Selected(first_row + r, i)) logits(r, i) = -std::numeric_limits<double>::infinity();
      }
    }
  }
  bool RowEquals(const SelectionMask& other, Index row) const {
    for (Index w = 0; w < words_per_row_; ++w) {
      if (bits_[row * words_per_row_ + w] != other.bits_[row * words_per_row_ + w]) return false;
    }
    return true;
  }

 private:
  std::uint64_t Word(Index row, Index expert) const {
    return bits_[row * words_per_row_ + expert / 64];
  }
  Index words_per_row_ = 0;
  std::vector<std::uint64_t> bits_;
};

}  // namespace moelab::detail
