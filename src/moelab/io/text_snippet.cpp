#include "moelab/io/text_snippet.hpp"

#include <algorithm>
#include <cstdio>

namespace moelab {

std::string Printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  const std::size_t shown = std::min(text.size(), max_bytes);
  for (std::size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0) {
      out += "\\0";
    } else if (c < 0x20 || c >= 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string Snippet(std::string_view text, std::size_t max_bytes) {
  // Appended piecewise: "'" + ... trips a GCC 12 -Wrestrict false positive.
  std::string out(1, '\'');
  out.append(Printable(text, max_bytes));
  out.push_back('\'');
  return out;
}

namespace {

// Optimal string alignment distance (Damerau-Levenshtein without repeated
// edits of one substring), bounded inputs only (names, not data).
std::size_t EditDistance(std::string_view a, std::string_view b) {
  const std::size_t m = a.size(), n = b.size();
  std::vector<std::vector<std::size_t>> d(m + 1, std::vector<std::size_t>(n + 1));
  for (std::size_t i = 0; i <= m; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= n; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= m; ++i) {
    for (std::size_t j = 1; j <= n; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[m][n];
}

}  // namespace

std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  // Names longer than any sensible key cannot be a typo of one (and would
  // make the quadratic distance expensive on hostile input).
  if (name.size() > 200) return "";
  const std::string* best = nullptr;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    const std::size_t distance = EditDistance(name, c);
    if (!best || distance < best_distance) best = &c, best_distance = distance;
  }
  if (!best || best_distance == 0 || best_distance > std::max<std::size_t>(1, name.size() / 3))
    return "";
  return " (did you mean '" + *best + "'?)";
}

LineDifference FirstDifferingLine(std::string_view a, std::string_view b) {
  const auto next_line = [](std::string_view& text, std::string* line) {
    if (text.empty()) return false;
    const std::size_t end = std::min(text.find('\n'), text.size());
    *line = std::string(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
    return true;
  };
  LineDifference d;
  while (true) {
    ++d.line;
    const bool ga = next_line(a, &d.a);
    const bool gb = next_line(b, &d.b);
    if (!ga) d.a = "<end>";
    if (!gb) d.b = "<end>";
    if (d.a != d.b || (!ga && !gb)) return d;
  }
}

}  // namespace moelab
