#include "moelab/estimators/initialization.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "moelab/core/check.hpp"
#include "moelab/estimators/detail/block_runner.hpp"
#include "moelab/estimators/detail/softmax_irls.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

const char* ToString(InitStrategy strategy) {
  switch (strategy) {
    case InitStrategy::kNearTruth: return "near-truth";
    case InitStrategy::kRandom: return "random";
    case InitStrategy::kDataDriven: return "data";
  }
  return "unknown";
}

InitStrategy ParseInitStrategy(const std::string& name) {
  if (name == "near-truth") return InitStrategy::kNearTruth;
  if (name == "random") return InitStrategy::kRandom;
  if (name == "data") return InitStrategy::kDataDriven;
  ThrowInvalid("ParseInitStrategy",
               "unknown init strategy '" + name + "' (valid: near-truth, random, data)");
}

namespace {

// Uniform index in [0, size).
Index UniformIndex(Rng& rng, Index size) {
  const auto j = static_cast<Index>(UniformReal(rng, 0.0, static_cast<double>(size)));
  return std::min(j, size - 1);
}

MoeParams EmptyParams(const ModelShape& shape) {
  MoeParams params;
  params.gate = ZeroGate(shape);
  params.experts.slope = Matrix::Zero(shape.num_experts, shape.dim);
  params.experts.intercept = Vector::Zero(shape.num_experts);
  params.experts.variance = Vector::Ones(shape.num_experts);
  return params;
}

void CheckShapeAgainstData(const char* fn, const Dataset& data, const ModelShape& shape) {
  shape.Validate();
  data.Validate();
  CheckSize(fn, "shape.dim (data X columns)", shape.dim, data.dim());
}

// Column standard deviations (population), zero-variance columns -> 1.
Vector ColumnScales(const Matrix& M) {
  const Eigen::RowVectorXd mean = M.colwise().mean();
  Vector sd = ((M.rowwise() - mean).array().square().colwise().sum() /
               static_cast<double>(M.rows()))
                  .sqrt()
                  .transpose();
  for (Index j = 0; j < sd.size(); ++j) {
    if (!(sd[j] > 0.0)) sd[j] = 1.0;
  }
  return sd;
}

}  // namespace

MoeParams InitNearTruth(const MoeParams& truth, const ModelShape& shape, Index n, Rng& rng) {
  constexpr const char* kFn = "InitNearTruth";
  truth.Validate();
  shape.Validate();
  CheckSize(kFn, "shape.dim (truth dimension)", shape.dim, truth.dim());
  const Index k = shape.num_experts, k_true = truth.num_experts(), d = shape.dim;
  if (k < k_true) {
    std::ostringstream os;
    os << "fitted k = " << k << " is smaller than the true k* = " << k_true;
    ThrowInvalid(kFn, os.str());
  }
  if (n < 1) ThrowInvalid(kFn, "n must be >= 1");

  // 1. Atom map s, covering every true atom.
  std::vector<Index> s(k);
  s[k - 1] = k_true - 1;
  std::vector<Index> count(k_true);
  while (true) {
    std::fill(count.begin(), count.end(), 0);
    ++count[k_true - 1];
    for (Index i = 0; i + 1 < k; ++i) {
      s[i] = UniformIndex(rng, k_true);
      ++count[s[i]];
    }
    if (std::all_of(count.begin(), count.end(), [](Index c) { return c > 0; })) break;
  }

  // 2.-4. Noisy copies of the mapped atoms.
  const double nd = static_cast<double>(n);
  const double gate_sd = 0.005 * std::pow(nd, -0.083);
  const double expert_sd = 0.05 * std::pow(nd, -0.083);
  const double variance_sd = 0.005 * std::pow(nd, -0.25);
  MoeParams init = EmptyParams(shape);
  if (truth.gate.uses_temperature() && init.gate.uses_temperature()) {
    init.gate.temperature = truth.gate.temperature;
  }
  for (Index i = 0; i < k; ++i) {
    const Index j = s[i];
    const double gate_noise = i + 1 < k ? gate_sd * StandardNormal(rng) : 0.0;
    init.gate.bias[i] = truth.gate.bias[j] + gate_noise +
                        std::log(1.0 / static_cast<double>(count[j]));
    init.gate.slope.row(i) = truth.gate.slope.row(j).array() + gate_noise;
    const double expert_noise = expert_sd * StandardNormal(rng);
    init.experts.intercept[i] = truth.experts.intercept[j] + expert_noise;
    init.experts.slope.row(i) = truth.experts.slope.row(j).array() + expert_noise;
    init.experts.variance[i] = truth.experts.variance[j] + std::abs(variance_sd * StandardNormal(rng));
  }
  (void)d;
  init.Validate();
  return NormaliseGauge(init);
}

MoeParams InitRandom(const Dataset& data, const ModelShape& shape, Rng& rng) {
  CheckShapeAgainstData("InitRandom", data, shape);
  const Index k = shape.num_experts, d = shape.dim, n = data.size();
  const Vector sd_x = ColumnScales(data.X);
  const double mean_y = data.y.mean();
  const double var_y = (data.y.array() - mean_y).square().mean();
  const double sd_y = var_y > 0.0 ? std::sqrt(var_y) : 1.0;
  MoeParams init = EmptyParams(shape);
  for (Index i = 0; i < k; ++i) {
    const Index anchor = UniformIndex(rng, n);
    for (Index c = 0; c < d; ++c) init.experts.slope(i, c) = StandardNormal(rng) * sd_y / sd_x[c];
    for (Index c = 0; c < d; ++c) init.gate.slope(i, c) = StandardNormal(rng) / sd_x[c];
    const Vector x = data.X.row(anchor).transpose();
    init.experts.intercept[i] = data.y[anchor] - init.experts.slope.row(i).dot(x);
    init.experts.variance[i] = std::max(var_y, 1e-8);
    init.gate.bias[i] = -init.gate.slope.row(i).dot(x);
  }
  init.Validate();
  return NormaliseGauge(init);
}

MoeParams InitDataDriven(const Dataset& data, const ModelShape& shape, Rng& rng) {
  CheckShapeAgainstData("InitDataDriven", data, shape);
  const Index k = shape.num_experts, d = shape.dim, n = data.size(), p = d + 1;
  // Standardised points (x, y).
  Matrix points(n, d + 1);
  points.leftCols(d) = data.X;
  points.col(d) = data.y;
  const Eigen::RowVectorXd mean = points.colwise().mean();
  const Vector scale = ColumnScales(points);
  points = (points.rowwise() - mean).array().rowwise() / scale.transpose().array();

  // k-means++ seeding.
  Matrix centers(k, d + 1);
  centers.row(0) = points.row(UniformIndex(rng, n));
  Vector nearest = Vector::Constant(n, std::numeric_limits<double>::infinity());
  for (Index c = 1; c < k; ++c) {
    nearest = nearest.cwiseMin((points.rowwise() - centers.row(c - 1)).rowwise().squaredNorm());
    const double total = nearest.sum();
    Index chosen = UniformIndex(rng, n);
    if (total > 0.0) {
      const double u = UniformReal(rng, 0.0, total);
      double cumulative = 0.0;
      chosen = n - 1;
      for (Index j = 0; j < n; ++j) {
        cumulative += nearest[j];
        if (u < cumulative) {
          chosen = j;
          break;
        }
      }
    }
    centers.row(c) = points.row(chosen);
  }
  // Lloyd iterations (ties: lower cluster index; empty clusters keep their center).
  std::vector<Index> label(n, -1);
  for (int it = 0; it < 100; ++it) {
    bool changed = false;
    for (Index j = 0; j < n; ++j) {
      Index best = 0;
      double best_distance = std::numeric_limits<double>::infinity();
      for (Index c = 0; c < k; ++c) {
        const double distance = (points.row(j) - centers.row(c)).squaredNorm();
        if (distance < best_distance) {
          best_distance = distance;
          best = c;
        }
      }
      if (label[j] != best) {
        label[j] = best;
        changed = true;
      }
    }
    if (!changed) break;
    Matrix sums = Matrix::Zero(k, d + 1);
    Vector counts = Vector::Zero(k);
    for (Index j = 0; j < n; ++j) {
      sums.row(label[j]) += points.row(j);
      counts[label[j]] += 1.0;
    }
    for (Index c = 0; c < k; ++c) {
      if (counts[c] > 0.0) centers.row(c) = sums.row(c) / counts[c];
    }
  }

  // Per-cluster least squares, pooled fit as the fallback.
  Matrix Z(n, p);
  Z.col(0).setOnes();
  Z.rightCols(d) = data.X;
  const double var_y = (data.y.array() - data.y.mean()).square().mean();
  const double variance_floor = 1e-6 * std::max(var_y, 1e-300);
  auto least_squares = [&](const Matrix& Zc, const Vector& yc, Vector* gamma, double* variance) {
    Eigen::ColPivHouseholderQR<Matrix> qr(Zc);
    if (qr.rank() < p) return false;
    *gamma = qr.solve(yc);
    *variance = std::max((yc - Zc * *gamma).squaredNorm() / static_cast<double>(yc.size()),
                         variance_floor);
    return gamma->allFinite();
  };
  Vector pooled_gamma;
  double pooled_variance = std::max(var_y, variance_floor);
  if (!least_squares(Z, data.y, &pooled_gamma, &pooled_variance)) {
    pooled_gamma = Vector::Zero(p);
    pooled_gamma[0] = data.y.mean();
  }
  MoeParams init = EmptyParams(shape);
  Matrix R = Matrix::Zero(n, k);
  for (Index j = 0; j < n; ++j) R(j, label[j]) = 1.0;
  for (Index c = 0; c < k; ++c) {
    const Index size = static_cast<Index>(R.col(c).sum());
    Vector gamma = pooled_gamma;
    double variance = pooled_variance;
    if (size >= d + 2) {
      Matrix Zc(size, p);
      Vector yc(size);
      Index row = 0;
      for (Index j = 0; j < n; ++j) {
        if (label[j] != c) continue;
        Zc.row(row) = Z.row(j);
        yc[row++] = data.y[j];
      }
      if (!least_squares(Zc, yc, &gamma, &variance)) {
        gamma = pooled_gamma;
        variance = pooled_variance;
      }
    }
    init.experts.intercept[c] = gamma[0];
    init.experts.slope.row(c) = gamma.tail(d).transpose();
    init.experts.variance[c] = variance;
  }

  // Gate: a few IRLS steps of a softmax on the hard labels.
  if (k > 1) {
    const detail::BlockRunner runner(n, 1);
    const detail::SoftmaxIrls irls(Z, k, runner);
    Vector w = Vector::Zero((k - 1) * p);
    irls.Maximise(R, &w, nullptr, 5, 1e-10);
    // Softmax logits w_i' z (reference expert 0); the gate maps them to its beta.
    Vector bias = Vector::Zero(k);
    Matrix slope = Matrix::Zero(k, d);
    for (Index i = 0; i + 1 < k; ++i) {
      bias[i] = w[i * p];
      slope.row(i) = w.segment(i * p + 1, d).transpose();
    }
    GateOf(init.gate).ApproximateSoftmax(bias, slope, &init.gate);
  }
  init.Validate();
  return NormaliseGauge(init);
}

MoeParams MakeInitialParams(InitStrategy strategy, const Dataset& data, const ModelShape& shape,
                            const MoeParams* truth, Rng& rng) {
  switch (strategy) {
    case InitStrategy::kNearTruth:
      if (truth == nullptr) {
        ThrowInvalid("MakeInitialParams", "the near-truth strategy needs the true parameters");
      }
      return InitNearTruth(*truth, shape, data.size(), rng);
    case InitStrategy::kRandom: return InitRandom(data, shape, rng);
    case InitStrategy::kDataDriven: return InitDataDriven(data, shape, rng);
  }
  ThrowInvalid("MakeInitialParams", "unknown init strategy");
}

}  // namespace moelab
