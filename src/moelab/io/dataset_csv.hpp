// Dataset to and from CSV with a header.
//
// Columns: x1, ..., xd, y, and optionally z (0-based latent expert label).
// The reader requires a header naming x1..xd (d >= 1, in order) and y; every
// value must parse fully as a finite number. Errors (missing file or column,
// empty file, non-number, NaN/Inf, ragged row) throw std::invalid_argument
// naming the file, the 1-based line and the column.
#pragma once

#include <string>

#include "moelab/core/dataset.hpp"

namespace moelab {

void WriteDatasetCsv(const Dataset& data, const std::string& path);
Dataset ReadDatasetCsv(const std::string& path);

}  // namespace moelab
