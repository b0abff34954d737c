// Pieces of error messages built from untrusted input: a bounded, printable
// quote of a cell or token, and a "did you mean" suggestion for a misspelt
// name. Error messages must stay one readable line whatever the input holds
// (a 2 MB cell, a NUL byte, a terminal escape).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace moelab {

// `text` with control and non-ASCII bytes as \xNN (NUL as \0), cut after
// `max_bytes` input bytes with "... (N bytes)" appended.
std::string Printable(std::string_view text, std::size_t max_bytes);

// Printable(text) in single quotes: how messages quote an input value.
std::string Snippet(std::string_view text, std::size_t max_bytes = 60);

// " (did you mean 'x'?)" for the candidate closest to `name` in edit distance
// (insertions, deletions, substitutions and adjacent swaps), when it is close
// enough to be a typo (distance <= max(1, |name| / 3)); "" otherwise.
std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates);

// The first line (1-based) where `a` and `b` differ, with both lines
// ("<end>" past the last line): how a refusal quotes what differs between a
// folder's identity file and the run's.
struct LineDifference {
  int line = 0;
  std::string a, b;
};
LineDifference FirstDifferingLine(std::string_view a, std::string_view b);

}  // namespace moelab
