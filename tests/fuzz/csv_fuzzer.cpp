// libFuzzer harness: the dataset CSV reader (io/dataset_csv.hpp, io/csv.hpp).
// Any input must give a Dataset or std::invalid_argument - no crash, no
// other exception, no sanitizer report.
#include <stdexcept>

#include "fuzz_input.hpp"
#include "moelab/io/dataset_csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = moelab::fuzz::WriteInput(data, size, "data.csv");
  try {
    const moelab::Dataset d = moelab::ReadDatasetCsv(path);
    d.Validate();
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
