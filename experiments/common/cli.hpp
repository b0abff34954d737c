// Command-line and config-file options shared by the experiment binaries.
//
// Each binary registers its flags (name, help, default) once. Values come,
// in increasing priority, from the defaults, from `--config FILE` (a JSON
// object whose keys are flag names without the dashes), and from the command
// line (`--name value` or `--name=value`; booleans also as bare `--name`).
// `--help` prints every flag with its default and accepted range. Unknown
// flags and config keys (with a "did you mean"), unparsable values ("not a
// number"), values outside the flag's range ("out of range", also for 1e400)
// and config values that are arrays or objects throw std::invalid_argument
// naming the flag. Numbers are parsed at full width and range-checked before
// any narrowing, so no value is silently truncated; integer flags also take
// exact integers in exponent form (1e6). Config files are read strictly
// (io/detail/json_read.hpp: bounded depth, no duplicate keys).
// ResolvedJson() gives the final values, written next to every run's output.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace moelab::cli {

// Inclusive bounds of an integer flag.
struct IntRange {
  long long min = std::numeric_limits<long long>::min();
  long long max = std::numeric_limits<long long>::max();
};
inline constexpr long long kIntMax = std::numeric_limits<int>::max();

// Bounds of a real flag (finite values only); an open end excludes the bound.
struct RealRange {
  double min = -std::numeric_limits<double>::max();
  double max = std::numeric_limits<double>::max();
  bool min_open = false;
  bool max_open = false;
};

class CommandLine {
 public:
  CommandLine(std::string program, std::string summary);

  void AddString(const std::string& name, std::string* target, const std::string& help);
  void AddInt(const std::string& name, long long* target, const std::string& help,
              IntRange range = {});
  void AddUint64(const std::string& name, std::uint64_t* target, const std::string& help);
  void AddDouble(const std::string& name, double* target, const std::string& help,
                 RealRange range = {});
  void AddBool(const std::string& name, bool* target, const std::string& help);

  // Returns false when --help was given (the help text has been printed).
  bool Parse(int argc, char** argv);

  // True when `name` was given on the command line or in the config file
  // (rather than left at its default).
  bool WasSet(const std::string& name) const { return set_.count(name) > 0; }

  const std::string& program() const { return program_; }
  std::string Help() const;
  std::string ResolvedJson() const;

 private:
  struct Flag {
    std::string help;
    std::string default_text;
    std::string range_text;  // "" = any value of the type
    bool is_bool = false;
    std::function<void(const std::string&)> set;
    std::function<std::string()> get;  // JSON literal of the current value
  };
  void Set(const std::string& name, const std::string& value, const std::string& origin);
  void ApplyConfigFile(const std::string& path);

  std::string program_;
  std::string summary_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  std::set<std::string> set_;
};

// Runs `body`, turning an escaping exception into "error: ..." on stderr and
// exit code 2 (bad input) or 1 (anything else).
int RunMain(const std::function<int()>& body);

// The one comma-list parser of the CLI: "a, b,c" -> {"a", "b", "c"} (spaces
// around entries trimmed). Throws std::invalid_argument naming `what` for an
// empty list or an empty entry ("a,,b", a trailing comma).
std::vector<std::string> SplitList(const std::string& text, const std::string& what);

// Full-width integer parsing with a range check: throws naming `what` with
// "is not a number", "is not an integer" or "is out of range (accepted:
// min..max)". Exact integers in exponent form ("1e6") are accepted.
long long ParseInteger(const std::string& text, const std::string& what, IntRange range = {});

// Finite real in `range`; "not a number" vs "out of range" (1e400) as above.
double ParseReal(const std::string& text, const std::string& what, RealRange range = {});

// SplitList, then ParseInteger on every entry: "100,300,1000".
std::vector<long long> ParseIntList(const std::string& text, const std::string& what,
                                    IntRange range = {});

}  // namespace moelab::cli
