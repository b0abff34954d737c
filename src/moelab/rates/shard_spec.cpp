#include "moelab/rates/shard_spec.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "moelab/core/check.hpp"

namespace moelab {
namespace {

// ordered_json keeps the identity's key order, so adding and removing the
// shard key gives back the identity text byte for byte.
using Json = nlohmann::ordered_json;

std::string TrimTrailingNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool ParseInt(const std::string& text, int* value) {
  const auto r = std::from_chars(text.data(), text.data() + text.size(), *value);
  return !text.empty() && r.ec == std::errc() && r.ptr == text.data() + text.size();
}

}  // namespace

std::string ShardSpec::ToString() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

void ShardSpec::Validate() const {
  if (count < 1) ThrowInvalid("ShardSpec::Validate", "count must be >= 1 (got " + std::to_string(count) + ")");
  if (index < 0 || index >= count)
    ThrowInvalid("ShardSpec::Validate", "index must be in [0, count) (got " + ToString() + ")");
}

ShardSpec ParseShardSpec(const std::string& text) {
  const std::size_t slash = text.find('/');
  ShardSpec s;
  if (slash == std::string::npos || !ParseInt(text.substr(0, slash), &s.index) ||
      !ParseInt(text.substr(slash + 1), &s.count) || s.count < 1 || s.index < 0 ||
      s.index >= s.count)
    ThrowInvalid("ParseShardSpec", "shard '" + text +
                                       "' is not of the form i/N with 0 <= i < N (e.g. 0/4 ... 3/4)");
  return s;
}

std::string ShardIdentity(const std::string& identity, const ShardSpec& shard) {
  shard.Validate();
  if (shard.IsWhole()) return TrimTrailingNewlines(identity);
  Json j;
  try {
    j = Json::parse(identity);
  } catch (const nlohmann::json::exception&) {
    ThrowInvalid("ShardIdentity", "a sharded study needs a JSON-object identity");
  }
  if (!j.is_object() || j.contains("shard"))
    ThrowInvalid("ShardIdentity", "a sharded study needs a JSON-object identity without a 'shard' key");
  if (j.dump(2) != TrimTrailingNewlines(identity))
    ThrowInvalid("ShardIdentity", "the identity is not in canonical dump(2) form, so its shard "
                                  "folders could not be compared with it");
  j["shard"] = {{"index", shard.index},
                {"count", shard.count},
                {"rule", "cells at positions p of the (n, replication)-sorted list with p mod count = index"}};
  return j.dump(2);
}

std::pair<std::string, ShardSpec> SplitShardIdentity(const std::string& text) {
  const std::string trimmed = TrimTrailingNewlines(text);
  Json j;
  try {
    j = Json::parse(trimmed);
  } catch (const nlohmann::json::exception&) {
    return {trimmed, ShardSpec{}};
  }
  if (!j.is_object() || !j.contains("shard")) return {trimmed, ShardSpec{}};
  ShardSpec shard;
  try {
    shard.index = j["shard"].at("index").get<int>();
    shard.count = j["shard"].at("count").get<int>();
  } catch (const nlohmann::json::exception&) {
    ThrowInvalid("SplitShardIdentity", "study.json has a malformed 'shard' record");
  }
  shard.Validate();
  j.erase("shard");
  return {j.dump(2), shard};
}

}  // namespace moelab
