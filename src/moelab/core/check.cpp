#include "moelab/core/check.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace moelab {

void ThrowInvalid(std::string_view function, const std::string& what) {
  std::string message(function);
  message += ": ";
  message += what;
  throw std::invalid_argument(message);
}

void CheckFinite(std::string_view function, std::string_view name, double value) {
  if (!std::isfinite(value)) {
    std::ostringstream os;
    os << name << " must be finite, got " << value;
    ThrowInvalid(function, os.str());
  }
}

void CheckPositive(std::string_view function, std::string_view name, double value) {
  if (!(value > 0.0) || !std::isfinite(value)) {
    std::ostringstream os;
    os << name << " must be finite and > 0, got " << value;
    ThrowInvalid(function, os.str());
  }
}

void CheckNonNegative(std::string_view function, std::string_view name, double value) {
  if (!(value >= 0.0) || !std::isfinite(value)) {
    std::ostringstream os;
    os << name << " must be finite and >= 0, got " << value;
    ThrowInvalid(function, os.str());
  }
}

void CheckAllFinite(std::string_view function, std::string_view name,
                    const Eigen::Ref<const Matrix>& m) {
  for (Index c = 0; c < m.cols(); ++c) {
    for (Index r = 0; r < m.rows(); ++r) {
      if (!std::isfinite(m(r, c))) {
        std::ostringstream os;
        os << name << "(" << r << ", " << c << ") must be finite, got " << m(r, c);
        ThrowInvalid(function, os.str());
      }
    }
  }
}

void CheckSize(std::string_view function, std::string_view name, Index actual,
               Index expected) {
  if (actual != expected) {
    std::ostringstream os;
    os << name << " has size " << actual << ", expected " << expected;
    ThrowInvalid(function, os.str());
  }
}

}  // namespace moelab
