#include "moelab/core/resources.hpp"

#include <sys/statvfs.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace moelab {

std::uint64_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

std::uint64_t AvailableDiskBytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(path.empty() ? "." : path, ec);
  while (!p.empty() && !fs::exists(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  struct statvfs info {};
  if (::statvfs(p.c_str(), &info) != 0) return 0;
  return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
}

std::uint64_t ParseByteSize(const std::string& text, const std::string& what) {
  double value = 0.0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(begin, end, value);
  double unit = 0.0;  // 0: not a size
  if (!text.empty() && result.ec == std::errc()) {
    if (result.ptr == end) {
      unit = 1.0;
    } else if (result.ptr + 1 == end) {
      switch (*result.ptr) {
        case 'K': case 'k': unit = 1024.0; break;
        case 'M': case 'm': unit = 1024.0 * 1024; break;
        case 'G': case 'g': unit = 1024.0 * 1024 * 1024; break;
        case 'T': case 't': unit = 1024.0 * 1024 * 1024 * 1024; break;
        default: break;
      }
    }
  }
  if (unit == 0.0 || !(value > 0) || !(value * unit < 1.8e19))
    throw std::invalid_argument(what + ": '" + text.substr(0, 40) +
                                "' is not a size (a positive number of bytes, or with K, M, G or T)");
  return static_cast<std::uint64_t>(value * unit);
}

std::string FormatBytes(double bytes) {
  char buffer[48];
  if (bytes >= 1e12) std::snprintf(buffer, sizeof buffer, "%.3g TB", bytes / 1e12);
  else if (bytes >= 1e9) std::snprintf(buffer, sizeof buffer, "%.3g GB", bytes / 1e9);
  else if (bytes >= 1e6) std::snprintf(buffer, sizeof buffer, "%.3g MB", bytes / 1e6);
  else std::snprintf(buffer, sizeof buffer, "%.3g kB", bytes / 1e3);
  return buffer;
}

double MoeFitBytes(Index n, Index d, Index k) {
  // Per row: X, y, label; Z = [1 X]; R, the previous R and two n x k work
  // matrices (gate log-weights, expert log-densities) in the initialisation
  // and metrics; doubled for temporaries.
  const double per_row = 8.0 * (2.0 * (static_cast<double>(d) + 1) + 4.0 * static_cast<double>(k) + 2);
  return 2.0 * per_row * static_cast<double>(n) + 64.0 * 1024 * 1024;
}

void CheckMemoryBudget(double needed, const std::string& max_memory, const std::string& what,
                       const std::string& flags) {
  const bool explicit_budget = !max_memory.empty();
  const double budget = explicit_budget ? static_cast<double>(ParseByteSize(max_memory, "option --max-memory"))
                                        : static_cast<double>(AvailableMemoryBytes());
  if (budget <= 0.0 || needed <= budget) return;
  throw std::invalid_argument(what + " needs about " + FormatBytes(needed) + " of memory, more than " +
                              (explicit_budget ? "--max-memory " + max_memory
                                               : "the " + FormatBytes(budget) + " available now") +
                              "; lower " + flags +
                              (explicit_budget ? "" : " (or set --max-memory if the estimate is too high)"));
}

void CheckDiskBudget(double bytes, const std::string& folder, const std::string& what,
                     const std::string& flags) {
  const double free = static_cast<double>(AvailableDiskBytes(folder));
  if (free <= 0.0 || bytes <= free) return;
  throw std::invalid_argument(what + " would write about " + FormatBytes(bytes) + " to '" + folder +
                              "', more than the " + FormatBytes(free) + " free there; lower " + flags);
}

}  // namespace moelab
