// libFuzzer harness: the cells.log reader that a resume trusts
// (rates/detail/study_folder.hpp). Any input must give rows or
// std::invalid_argument; every row returned must carry a valid checksum,
// i.e. re-serialise to a line the reader accepts again.
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "moelab/rates/detail/study_folder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = moelab::fuzz::WriteInput(data, size, "cells.log");
  const std::vector<std::string> columns = {"loss", "u"};
  try {
    std::vector<std::string> ignored;
    const auto rows = moelab::detail::ReadCellLog(path, columns, false, &ignored);
    for (const auto& row : rows) {
      const std::string line = moelab::detail::CellRowLine(row, true);
      (void)moelab::detail::ParseCellLogLine(line, columns.size(), "again");
    }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
