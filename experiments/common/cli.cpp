#include "common/cli.hpp"

#include <charconv>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace moelab::cli {
namespace {

template <typename T>
T ParseNumber(const std::string& text, const std::string& name) {
  T value{};
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(begin, end, value);
  if (text.empty() || result.ec != std::errc() || result.ptr != end) {
    throw std::invalid_argument("option --" + name + ": '" + text + "' is not a valid number");
  }
  return value;
}

std::string Quote(const std::string& s) { return nlohmann::json(s).dump(); }

}  // namespace

CommandLine::CommandLine(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void CommandLine::AddString(const std::string& name, std::string* target, const std::string& help) {
  flags_[name] = Flag{help, *target, false, [target](const std::string& v) { *target = v; },
                      [target] { return Quote(*target); }};
  order_.push_back(name);
}

void CommandLine::AddInt(const std::string& name, long long* target, const std::string& help) {
  flags_[name] = Flag{help, std::to_string(*target), false,
                      [target, name](const std::string& v) { *target = ParseNumber<long long>(v, name); },
                      [target] { return std::to_string(*target); }};
  order_.push_back(name);
}

void CommandLine::AddUint64(const std::string& name, std::uint64_t* target, const std::string& help) {
  flags_[name] = Flag{help, std::to_string(*target), false,
                      [target, name](const std::string& v) { *target = ParseNumber<std::uint64_t>(v, name); },
                      [target] { return std::to_string(*target); }};
  order_.push_back(name);
}

void CommandLine::AddDouble(const std::string& name, double* target, const std::string& help) {
  std::ostringstream os;
  os << *target;
  flags_[name] = Flag{help, os.str(), false,
                      [target, name](const std::string& v) { *target = ParseNumber<double>(v, name); },
                      [target] {
                        std::ostringstream out;
                        out.precision(17);
                        out << *target;
                        return out.str();
                      }};
  order_.push_back(name);
}

void CommandLine::AddBool(const std::string& name, bool* target, const std::string& help) {
  flags_[name] = Flag{help, *target ? "true" : "false", true,
                      [target, name](const std::string& v) {
                        if (v == "true" || v == "1" || v.empty()) *target = true;
                        else if (v == "false" || v == "0") *target = false;
                        else throw std::invalid_argument("option --" + name + ": '" + v +
                                                         "' is not true/false");
                      },
                      [target] { return std::string(*target ? "true" : "false"); }};
  order_.push_back(name);
}

void CommandLine::Set(const std::string& name, const std::string& value, const std::string& origin) {
  auto it = flags_.find(name);
  if (it == flags_.end()) {
    throw std::invalid_argument(origin + ": unknown option '" + name + "' (see --help)");
  }
  it->second.set(value);
  set_.insert(name);
}

void CommandLine::ApplyConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot open config file '" + path + "'");
  nlohmann::json config;
  try {
    in >> config;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + ": invalid JSON: " + e.what());
  }
  if (!config.is_object()) throw std::invalid_argument(path + ": the config must be a JSON object");
  for (const auto& [key, value] : config.items()) {
    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    Set(key, text, path);
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
      throw std::invalid_argument("unexpected argument '" + arg + "' (see --help)");
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
    if (it == flags_.end()) throw std::invalid_argument("unknown option '--" + name + "' (see --help)");
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
    os << left << flag.help << " [default: " << flag.default_text << "]\n";
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
    return body();
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

std::vector<long long> ParseIntList(const std::string& text, const std::string& what) {
  std::vector<long long> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    long long value = 0;
    const auto result = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || result.ec != std::errc() || result.ptr != item.data() + item.size()) {
      throw std::invalid_argument(what + ": '" + item + "' is not an integer");
    }
    values.push_back(value);
  }
  return values;
}

}  // namespace moelab::cli
