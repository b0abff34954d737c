// Shared by the libFuzzer harnesses: the readers under test take a path, so
// each input is written to one scratch file per process first.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace moelab::fuzz {

inline std::string WriteInput(const std::uint8_t* data, std::size_t size, const char* suffix) {
  static const std::string path =
      "/tmp/moelab_fuzz_" + std::to_string(::getpid()) + "_" + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) __builtin_trap();  // the harness itself is broken
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace moelab::fuzz
