#include "support/test_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace moelab::testing {

Vector CentralDifferenceGradient(const std::function<double(const Vector&)>& f, const Vector& x,
                                 double h) {
  Vector gradient(x.size());
  Vector probe = x;
  for (Index i = 0; i < x.size(); ++i) {
    const double step = h * std::max(1.0, std::abs(x[i]));
    probe[i] = x[i] + step;
    const double up = f(probe);
    probe[i] = x[i] - step;
    const double down = f(probe);
    probe[i] = x[i];
    gradient[i] = (up - down) / (2.0 * step);
  }
  return gradient;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace moelab::testing
