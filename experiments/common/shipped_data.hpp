// Finding the data files shipped with moelab (data/...) from any working
// directory: a binary in the build tree (<build>/bin) finds them in the
// source tree it was configured from, an installed one under
// <prefix>/share/moelab/.
#pragma once

#include <string>
#include <vector>

namespace moelab::cli {

// The first existing file among: `relative` (from the working directory),
// <directory of the running binary>/../share/moelab/<relative> (installed),
// and <source tree>/<relative> (the tree the build was configured from).
// Throws std::invalid_argument listing every place tried when none exists.
std::string FindShippedData(const std::string& relative);

// The places FindShippedData looks, in order (for --help).
std::vector<std::string> ShippedDataCandidates(const std::string& relative);

}  // namespace moelab::cli
