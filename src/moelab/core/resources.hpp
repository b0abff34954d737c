// Resource checks made before a run starts, from the run's actual sizes:
// memory (what the machine has available now, or an explicit budget) and
// disk space for the output. A run that cannot fit is refused up front with
// a message naming the option to change, instead of dying in bad_alloc or
// filling the disk half-way (and leaving a folder behind).
#pragma once

#include <cstdint>
#include <string>

#include "moelab/core/types.hpp"

namespace moelab {

// MemAvailable from /proc/meminfo in bytes; 0 when unknown (then memory is
// not checked unless a budget is given).
std::uint64_t AvailableMemoryBytes();

// Free bytes for an unprivileged writer on the file system that holds
// `path` (or its nearest existing parent); 0 when unknown.
std::uint64_t AvailableDiskBytes(const std::string& path);

// "512M", "8G", "1.5T", "1000000" (bytes; K/M/G/T are powers of 1024).
// Throws std::invalid_argument naming `what`.
std::uint64_t ParseByteSize(const std::string& text, const std::string& what);

// "1.9 GB".
std::string FormatBytes(double bytes);

// Memory one Gaussian MoE fit of n rows, d covariates and k experts holds at
// its peak (the data set, EM's design matrix and responsibility matrices, the
// metrics' n x k work), rounded up generously: an estimate for refusing runs
// that cannot fit, not an accounting.
double MoeFitBytes(Index n, Index d, Index k);

// Throws std::invalid_argument when `needed` bytes exceed the budget:
// `max_memory` (ParseByteSize text; "" = AvailableMemoryBytes()). The message
// says what needs the memory (`what`), and which flags to change (`flags`).
void CheckMemoryBudget(double needed, const std::string& max_memory, const std::string& what,
                       const std::string& flags);

// Throws std::invalid_argument when `bytes` of output will not fit on the
// file system of `folder`, naming `what` and `flags`.
void CheckDiskBudget(double bytes, const std::string& folder, const std::string& what,
                     const std::string& flags);

}  // namespace moelab
