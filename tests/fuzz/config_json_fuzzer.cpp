// libFuzzer harness: --config files of the experiment binaries
// (experiments/common/cli.hpp) with a flag of every type. Any input must be
// applied or refused with std::invalid_argument.
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = moelab::fuzz::WriteInput(data, size, "config.json");
  long long reps = 40, k = 0;
  std::uint64_t seed = 1;
  double tolerance = 1e-6;
  bool quick = false;
  std::string gates = "softmax";
  moelab::cli::CommandLine cli("fuzz", "config fuzzing");
  cli.AddInt("reps", &reps, "replications", {1, moelab::cli::kIntMax});
  cli.AddInt("k", &k, "experts", {0, 10000});
  cli.AddUint64("seed", &seed, "seed");
  cli.AddDouble("tolerance", &tolerance, "tolerance", {0.0});
  cli.AddBool("quick", &quick, "quick");
  cli.AddString("gates", &gates, "gates");
  std::string arg0 = "fuzz", arg1 = "--config";
  std::string arg2 = path;
  std::vector<char*> argv = {arg0.data(), arg1.data(), arg2.data()};
  try {
    cli.Parse(static_cast<int>(argv.size()), argv.data());
    (void)moelab::cli::SplitList(gates, "gates");
    if (reps < 1 || k < 0 || !(tolerance >= 0)) __builtin_trap();  // a range check was skipped
    (void)cli.ResolvedJson();
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
