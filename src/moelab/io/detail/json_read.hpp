// Strict JSON reading for every JSON file moelab reads (parameter files,
// --config files, study identities): nesting depth bounded before anything
// recurses, duplicate object keys refused, parser messages bounded and
// printable. nlohmann's own parser accepts any depth (and dump() / the
// destructor of a deeply nested value recurse) and lets the last duplicate
// key win silently.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace moelab::detail {

// Deeper than any file moelab writes (parameter files nest 4 levels).
inline constexpr int kMaxJsonDepth = 32;

// Throws std::invalid_argument "<source>: line L, column C: ..." when arrays
// and objects nest deeper than `max_depth`. A linear scan that does not
// recurse; strings (with escapes) are skipped.
void CheckJsonDepth(std::string_view text, const std::string& source, int max_depth = kMaxJsonDepth);

// CheckJsonDepth, then parses; throws std::invalid_argument naming `source`
// for invalid JSON (the parser's message, bounded), a duplicate key (naming
// it and its object's path) or excessive depth.
nlohmann::json ParseJsonStrict(std::string_view text, const std::string& source);

}  // namespace moelab::detail
