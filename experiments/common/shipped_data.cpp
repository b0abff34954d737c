#include "common/shipped_data.hpp"

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace moelab::cli {

std::vector<std::string> ShippedDataCandidates(const std::string& relative) {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates{relative};
  std::error_code error;
  const fs::path binary = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    candidates.push_back(
        (binary.parent_path().parent_path() / "share" / "moelab" / relative).string());
  }
#ifdef MOELAB_SOURCE_DIR
  candidates.push_back((fs::path(MOELAB_SOURCE_DIR) / relative).string());
#endif
  return candidates;
}

std::string FindShippedData(const std::string& relative) {
  std::string tried;
  for (const std::string& candidate : ShippedDataCandidates(relative)) {
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate;
    if (!tried.empty()) tried += ", ";
    tried += candidate;
  }
  throw std::invalid_argument("cannot find the shipped data file '" + relative +
                              "' (tried " + tried + "); pass its path with --data");
}

}  // namespace moelab::cli
