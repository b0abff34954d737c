// libFuzzer harness: the parameter-file reader (io/params_json.hpp). Any
// input must give valid parameters or std::invalid_argument; accepted
// parameters must round-trip through the writer.
#include <stdexcept>
#include <string>

#include "moelab/io/params_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const moelab::MoeParams params = moelab::ParamsFromJson(text, "fuzz.json");
    const moelab::MoeParams again = moelab::ParamsFromJson(moelab::ParamsToJson(params), "again.json");
    if (again.experts.variance != params.experts.variance) __builtin_trap();
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
