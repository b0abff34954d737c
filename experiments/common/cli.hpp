// Command-line and config-file options shared by the experiment binaries.
//
// Each binary registers its flags (name, help, default) once. Values come,
// in increasing priority, from the defaults, from `--config FILE` (a JSON
// object whose keys are flag names without the dashes), and from the command
// line (`--name value` or `--name=value`; booleans also as bare `--name`).
// `--help` prints every flag with its default. Unknown flags, unknown config
// keys and unparsable values throw std::invalid_argument naming the flag.
// ResolvedJson() gives the final values, written next to every run's output.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace moelab::cli {

class CommandLine {
 public:
  CommandLine(std::string program, std::string summary);

  void AddString(const std::string& name, std::string* target, const std::string& help);
  void AddInt(const std::string& name, long long* target, const std::string& help);
  void AddUint64(const std::string& name, std::uint64_t* target, const std::string& help);
  void AddDouble(const std::string& name, double* target, const std::string& help);
  void AddBool(const std::string& name, bool* target, const std::string& help);

  // Returns false when --help was given (the help text has been printed).
  bool Parse(int argc, char** argv);

  // True when `name` was given on the command line or in the config file
  // (rather than left at its default).
  bool WasSet(const std::string& name) const { return set_.count(name) > 0; }

  std::string Help() const;
  std::string ResolvedJson() const;

 private:
  struct Flag {
    std::string help;
    std::string default_text;
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

// Parses "100,300,1000" into numbers; throws naming `what` on a bad entry.
std::vector<long long> ParseIntList(const std::string& text, const std::string& what);

}  // namespace moelab::cli
