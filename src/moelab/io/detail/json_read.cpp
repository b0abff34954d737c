#include "moelab/io/detail/json_read.hpp"

#include <set>
#include <stdexcept>
#include <vector>

#include "moelab/io/text_snippet.hpp"

namespace moelab::detail {

void CheckJsonDepth(std::string_view text, const std::string& source, int max_depth) {
  int depth = 0;
  std::size_t line = 1, column = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    ++column;
    if (c == '\n') ++line, column = 0;
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw std::invalid_argument(source + ": line " + std::to_string(line) + ", column " +
                                    std::to_string(column) + ": JSON nested deeper than " +
                                    std::to_string(max_depth) + " levels");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

nlohmann::json ParseJsonStrict(std::string_view text, const std::string& source) {
  using nlohmann::json;
  CheckJsonDepth(text, source);
  // One key set per open object; arrays push nothing.
  std::vector<std::set<std::string>> keys;
  const json::parser_callback_t refuse_duplicates = [&](int, json::parse_event_t event,
                                                        json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::object_end: if (!keys.empty()) keys.pop_back(); break;
      case json::parse_event_t::key: {
        const std::string key = parsed.get<std::string>();
        if (!keys.empty() && !keys.back().insert(key).second)
          throw std::invalid_argument(source + ": duplicate key " + Snippet(key) +
                                      " in one JSON object (every key may appear once)");
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), refuse_duplicates);
  } catch (const json::exception& e) {
    // The parser's message quotes what it last read, which may be a huge or
    // binary token.
    throw std::invalid_argument(source + ": invalid JSON: " + Printable(e.what(), 240));
  }
}

}  // namespace moelab::detail
