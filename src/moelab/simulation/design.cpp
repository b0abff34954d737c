#include "moelab/simulation/design.hpp"

#include <boost/math/distributions/normal.hpp>
#include <stdexcept>

#include "moelab/core/check.hpp"

namespace moelab {

const char* ToString(DesignKind kind) {
  switch (kind) {
    case DesignKind::kUniform: return "uniform";
    case DesignKind::kNormal: return "normal";
    case DesignKind::kGrid: return "grid";
  }
  return "unknown";
}

DesignKind ParseDesignKind(const std::string& name) {
  for (DesignKind k : {DesignKind::kUniform, DesignKind::kNormal, DesignKind::kGrid}) {
    if (name == ToString(k)) return k;
  }
  throw std::invalid_argument("unknown covariate design '" + name +
                              "' (valid: uniform, normal, grid)");
}

void CovariateDesign::Validate() const {
  constexpr const char* kFn = "CovariateDesign::Validate";
  if (dim < 1) ThrowInvalid(kFn, "dim must be >= 1, got " + std::to_string(dim));
  if (kind != DesignKind::kNormal) {
    CheckFinite(kFn, "lower", lower);
    CheckFinite(kFn, "upper", upper);
    if (!(lower < upper)) ThrowInvalid(kFn, "lower must be < upper");
  }
  if (kind == DesignKind::kGrid && dim != 1) {
    ThrowInvalid(kFn, "the grid design is one-dimensional (dim = 1)");
  }
}

Matrix DrawCovariates(const CovariateDesign& design, Index n, Rng& rng) {
  design.Validate();
  if (n < 1) ThrowInvalid("DrawCovariates", "n must be >= 1, got " + std::to_string(n));
  Matrix X(n, design.dim);
  switch (design.kind) {
    case DesignKind::kUniform:
      for (Index r = 0; r < n; ++r)
        for (Index c = 0; c < design.dim; ++c) X(r, c) = UniformReal(rng, design.lower, design.upper);
      break;
    case DesignKind::kNormal:
      for (Index r = 0; r < n; ++r)
        for (Index c = 0; c < design.dim; ++c) X(r, c) = StandardNormal(rng);
      break;
    case DesignKind::kGrid:
      if (n == 1) {
        X(0, 0) = design.lower;
      } else {
        X.col(0) = Vector::LinSpaced(n, design.lower, design.upper);
      }
      break;
  }
  return X;
}

Matrix MidpointCovariates(const CovariateDesign& design, Index m) {
  constexpr const char* kFn = "MidpointCovariates";
  design.Validate();
  if (design.dim != 1) {
    ThrowInvalid(kFn, "needs a one-dimensional design, got d = " + std::to_string(design.dim));
  }
  if (m < 1) ThrowInvalid(kFn, "m must be >= 1, got " + std::to_string(m));
  Matrix X(m, 1);
  const boost::math::normal_distribution<double> standard;
  for (Index i = 0; i < m; ++i) {
    const double u = (static_cast<double>(i) + 0.5) / static_cast<double>(m);
    X(i, 0) = design.kind == DesignKind::kNormal
                  ? boost::math::quantile(standard, u)
                  : design.lower + u * (design.upper - design.lower);
  }
  return X;
}

}  // namespace moelab
