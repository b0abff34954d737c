#include "common/cli.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "moelab/estimators/detail/simd_level.hpp"
#include "moelab/io/detail/json_read.hpp"
#include "moelab/io/text_snippet.hpp"

namespace moelab::cli {
namespace {

std::string Quote(const std::string& s) { return nlohmann::json(s).dump(); }

std::string FormatReal(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string RangeText(IntRange r) {
  if (r.min == IntRange{}.min && r.max == IntRange{}.max) return "any integer";
  const auto bound = [](long long v) {
    if (v == std::numeric_limits<long long>::max()) return std::string("2^63-1");
    if (v == std::numeric_limits<long long>::min()) return std::string("-2^63");
    return std::to_string(v);
  };
  return bound(r.min) + ".." + bound(r.max);
}

std::string RangeText(RealRange r) {
  const bool any_min = r.min == -std::numeric_limits<double>::max() && !r.min_open;
  const bool any_max = r.max == std::numeric_limits<double>::max() && !r.max_open;
  if (any_min && any_max) return "any finite number";
  if (any_max) return (r.min_open ? "> " : ">= ") + FormatReal(r.min);
  if (any_min) return (r.max_open ? "< " : "<= ") + FormatReal(r.max);
  return std::string(r.min_open ? "(" : "[") + FormatReal(r.min) + ", " + FormatReal(r.max) +
         (r.max_open ? ")" : "]");
}

std::string OutOfRange(const std::string& what, const std::string& text, const std::string& range) {
  return what + ": " + Snippet(text) + " is out of range (accepted: " + range + ")";
}

}  // namespace

long long ParseInteger(const std::string& text, const std::string& what, IntRange range) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  long long value = 0;
  const auto result = std::from_chars(begin, end, value);
  if (!text.empty() && result.ptr == end && result.ec == std::errc::result_out_of_range)
    throw std::invalid_argument(OutOfRange(what, text, RangeText(range)));
  if (text.empty() || result.ec != std::errc() || result.ptr != end) {
    // Exponent or decimal form ("1e6", "1000.0" from a JSON config).
    double real = 0.0;
    const auto r = std::from_chars(begin, end, real);
    if (text.empty() || r.ptr != end || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range))
      throw std::invalid_argument(what + ": " + Snippet(text) + " is not a number");
    if (r.ec == std::errc::result_out_of_range || !std::isfinite(real) || std::abs(real) >= 9.2e18)
      throw std::invalid_argument(OutOfRange(what, text, RangeText(range)));
    if (real != std::floor(real))
      throw std::invalid_argument(what + ": " + Snippet(text) + " is not an integer");
    value = static_cast<long long>(real);
  }
  if (value < range.min || value > range.max)
    throw std::invalid_argument(OutOfRange(what, text, RangeText(range)));
  return value;
}

double ParseReal(const std::string& text, const std::string& what, RealRange range) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  if (text.empty() || result.ptr != end ||
      (result.ec != std::errc() && result.ec != std::errc::result_out_of_range))
    throw std::invalid_argument(what + ": " + Snippet(text) + " is not a number");
  if (result.ec == std::errc::result_out_of_range)  // 1e400, 1e-400
    throw std::invalid_argument(what + ": " + Snippet(text) +
                                " is out of range (beyond what a double holds; accepted: " +
                                RangeText(range) + ")");
  if (!std::isfinite(value))
    throw std::invalid_argument(what + ": " + Snippet(text) + " is not finite (accepted: " +
                                RangeText(range) + ")");
  const bool below = range.min_open ? !(value > range.min) : !(value >= range.min);
  const bool above = range.max_open ? !(value < range.max) : !(value <= range.max);
  if (below || above) throw std::invalid_argument(OutOfRange(what, text, RangeText(range)));
  return value;
}

std::vector<std::string> SplitList(const std::string& text, const std::string& what) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    const std::size_t first = item.find_first_not_of(" \t");
    item = first == std::string::npos ? "" : item.substr(first, item.find_last_not_of(" \t") - first + 1);
    if (item.empty()) {
      if (text.find_first_not_of(" \t") == std::string::npos)
        throw std::invalid_argument(what + ": the list is empty");
      throw std::invalid_argument(what + ": empty entry " + std::to_string(items.size() + 1) +
                                  " in " + Snippet(text));
    }
    items.push_back(std::move(item));
    if (comma == text.size()) break;
    start = comma + 1;
  }
  return items;
}

std::vector<long long> ParseIntList(const std::string& text, const std::string& what, IntRange range) {
  std::vector<long long> values;
  for (const auto& item : SplitList(text, what)) values.push_back(ParseInteger(item, what, range));
  return values;
}

CommandLine::CommandLine(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void CommandLine::AddString(const std::string& name, std::string* target, const std::string& help) {
  flags_[name] = Flag{help, *target, "", false, [target](const std::string& v) { *target = v; },
                      [target] { return Quote(*target); }};
  order_.push_back(name);
}

void CommandLine::AddInt(const std::string& name, long long* target, const std::string& help,
                         IntRange range) {
  flags_[name] = Flag{help, std::to_string(*target), RangeText(range), false,
                      [target, name, range](const std::string& v) {
                        *target = ParseInteger(v, "option --" + name, range);
                      },
                      [target] { return std::to_string(*target); }};
  order_.push_back(name);
}

void CommandLine::AddUint64(const std::string& name, std::uint64_t* target, const std::string& help) {
  flags_[name] = Flag{help, std::to_string(*target), "0..2^64-1", false,
                      [target, name](const std::string& v) {
                        std::uint64_t value = 0;
                        const char* end = v.data() + v.size();
                        const auto r = std::from_chars(v.data(), end, value);
                        if (!v.empty() && r.ptr == end && r.ec == std::errc::result_out_of_range)
                          throw std::invalid_argument(OutOfRange("option --" + name, v, "0..2^64-1"));
                        if (v.empty() || r.ec != std::errc() || r.ptr != end) {
                          // Negative, exponent form: through the signed parser (range 0..2^63-1).
                          value = static_cast<std::uint64_t>(
                              ParseInteger(v, "option --" + name, {0, std::numeric_limits<long long>::max()}));
                        }
                        *target = value;
                      },
                      [target] { return std::to_string(*target); }};
  order_.push_back(name);
}

void CommandLine::AddDouble(const std::string& name, double* target, const std::string& help,
                            RealRange range) {
  flags_[name] = Flag{help, FormatReal(*target), RangeText(range), false,
                      [target, name, range](const std::string& v) {
                        *target = ParseReal(v, "option --" + name, range);
                      },
                      [target] {
                        std::ostringstream out;
                        out.precision(17);
                        out << *target;
                        return out.str();
                      }};
  order_.push_back(name);
}

void CommandLine::AddBool(const std::string& name, bool* target, const std::string& help) {
  flags_[name] = Flag{help, *target ? "true" : "false", "true or false", true,
                      [target, name](const std::string& v) {
                        if (v == "true" || v == "1" || v.empty()) *target = true;
                        else if (v == "false" || v == "0") *target = false;
                        else throw std::invalid_argument("option --" + name + ": " + Snippet(v) +
                                                         " is not true/false");
                      },
                      [target] { return std::string(*target ? "true" : "false"); }};
  order_.push_back(name);
}

void CommandLine::Set(const std::string& name, const std::string& value, const std::string& origin) {
  auto it = flags_.find(name);
  if (it == flags_.end()) {
    throw std::invalid_argument(origin + ": unknown option " + Snippet(name) +
                                DidYouMean(name, order_) + " (see --help)");
  }
  it->second.set(value);
  set_.insert(name);
}

void CommandLine::ApplyConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::invalid_argument("config file '" + path + "' is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot open config file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  // Strict: bounded depth (nothing below recurses into a hostile value),
  // duplicate keys refused rather than "last wins".
  const nlohmann::json config = moelab::detail::ParseJsonStrict(text.str(), path);
  if (!config.is_object()) throw std::invalid_argument(path + ": the config must be a JSON object");
  for (const auto& [key, value] : config.items()) {
    if (value.is_array() || value.is_object() || value.is_null())
      throw std::invalid_argument(path + ": key " + Snippet(key) + ": expected a string, number " +
                                  "or boolean, got " + value.type_name());
    const std::string text_value = value.is_string() ? value.get<std::string>() : value.dump();
    Set(key, text_value, path);
  }
}

bool CommandLine::Parse(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // The config file is applied first so that command-line flags override it.
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << Help();
      return false;
    }
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) throw std::invalid_argument("--config needs a file");
      ApplyConfigFile(args[i + 1]);
    } else if (args[i].rfind("--config=", 0) == 0) {
      ApplyConfigFile(args[i].substr(9));
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      throw std::invalid_argument("unexpected argument " + Snippet(arg) + " (see --help)");
    }
    std::string name = arg.substr(2), value;
    const auto eq = name.find('=');
    const bool has_inline_value = eq != std::string::npos;
    if (has_inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "config") {
      if (!has_inline_value) ++i;
      continue;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      std::vector<std::string> flags;
      for (const auto& known : order_) flags.push_back("--" + known);
      throw std::invalid_argument("unknown option '--" + Printable(name, 60) + "'" +
                                  DidYouMean("--" + name, flags) + " (see --help)");
    }
    if (!has_inline_value) {
      const bool next_is_value = i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0;
      if (it->second.is_bool && !next_is_value) {
        value = "true";
      } else {
        if (i + 1 >= args.size()) throw std::invalid_argument("option --" + name + " needs a value");
        value = args[++i];
      }
    }
    it->second.set(value);
    set_.insert(name);
  }
  return true;
}

std::string CommandLine::Help() const {
  std::ostringstream os;
  os << "Usage: " << program_ << " [options]\n\n" << summary_ << "\n\nOptions:\n";
  os << "  --help                 print this help and exit\n";
  os << "  --config FILE          JSON object of option values (command line overrides it)\n";
  for (const auto& name : order_) {
    const Flag& flag = flags_.at(name);
    std::string left = "  --" + name + (flag.is_bool ? "" : " VALUE");
    if (left.size() < 24) left.resize(24, ' ');
    else left += "\n" + std::string(24, ' ');
    os << left << flag.help << " [default: " << (flag.default_text.empty() ? "''" : flag.default_text)
       << (flag.range_text.empty() ? "" : "; accepted: " + flag.range_text) << "]\n";
  }
  return os.str();
}

std::string CommandLine::ResolvedJson() const {
  std::ostringstream os;
  os << "{\n";
  for (std::size_t i = 0; i < order_.size(); ++i) {
    os << "  " << Quote(order_[i]) << ": " << flags_.at(order_[i]).get()
       << (i + 1 < order_.size() ? "," : "") << "\n";
  }
  os << "}\n";
  return os.str();
}

int RunMain(const std::function<int()>& body) {
  try {
    // A bad MOELAB_SIMD is an error before any work.
    detail::CheckSimdEnvironment();
    return body();
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace moelab::cli
