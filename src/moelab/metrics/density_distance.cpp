#include "moelab/metrics/density_distance.hpp"

#include <algorithm>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <numbers>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "moelab/core/check.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {
namespace {

constexpr const char* kFn = "ExpectedDensityDistance";

// One Gaussian component of p(y | x): exp(log_coef - (y - mean)^2 inv_two_var).
struct Component {
  double log_coef;
  double mean;
  double inv_two_var;
  double sd;
};

// A conditional mixture at one x, with a scratch buffer for log-sum-exp.
class Mixture {
 public:
  void Reset() { components_.clear(); }
  void Add(double log_weight, double mean, double variance) {
    if (log_weight == -std::numeric_limits<double>::infinity()) return;  // unselected
    components_.push_back({log_weight - 0.5 * std::log(2.0 * std::numbers::pi * variance), mean,
                           0.5 / variance, std::sqrt(variance)});
  }
  const std::vector<Component>& components() const { return components_; }

  double LogDensity(double y) const {
    scratch_.resize(components_.size());
    double max = -std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < components_.size(); ++c) {
      const double z = y - components_[c].mean;
      scratch_[c] = components_[c].log_coef - z * z * components_[c].inv_two_var;
      max = std::max(max, scratch_[c]);
    }
    if (max == -std::numeric_limits<double>::infinity()) return max;
    double sum = 0.0;
    for (double t : scratch_) sum += std::exp(t - max);
    return max + std::log(sum);
  }

 private:
  std::vector<Component> components_;
  mutable std::vector<double> scratch_;
};

struct Piece {
  double a, b, value, error;
};

// int f over the pieces between the sorted `breaks`, refined globally.
template <typename F>
double AdaptiveIntegral(const F& f, const std::vector<double>& breaks,
                        const DensityDistanceOptions& options, bool* converged) {
  using GK = boost::math::quadrature::gauss_kronrod<double, 15>;
  auto rule = [&f](double a, double b) {
    const double mid = 0.5 * (a + b);
    const double half = 0.5 * (b - a);
    // Integrate on [-1, 1] so that Boost's error estimate needs no rescaling.
    double error = 0.0;
    const double v = GK::integrate([&](double t) { return f(mid + half * t); }, -1.0, 1.0, 0, 0.0,
                                   &error);
    return Piece{a, b, v * half, error * half};
  };
  auto by_error = [](const Piece& x, const Piece& y) { return x.error < y.error; };
  std::vector<Piece> heap;
  heap.reserve(static_cast<std::size_t>(options.y_max_intervals) + 2);
  double total = 0.0, total_error = 0.0;
  for (std::size_t t = 0; t + 1 < breaks.size(); ++t) {
    heap.push_back(rule(breaks[t], breaks[t + 1]));
    total += heap.back().value;
    total_error += heap.back().error;
  }
  std::make_heap(heap.begin(), heap.end(), by_error);
  *converged = true;
  while (total_error > std::max(options.y_absolute_tolerance,
                                options.y_relative_tolerance * std::abs(total))) {
    if (static_cast<Index>(heap.size()) >= options.y_max_intervals) {
      *converged = false;
      break;
    }
    std::pop_heap(heap.begin(), heap.end(), by_error);
    const Piece worst = heap.back();
    heap.pop_back();
    const double mid = 0.5 * (worst.a + worst.b);
    if (!(mid > worst.a && mid < worst.b)) {  // cannot split further
      *converged = false;
      heap.push_back(worst);
      break;
    }
    const Piece left = rule(worst.a, mid);
    const Piece right = rule(mid, worst.b);
    heap.push_back(left);
    std::push_heap(heap.begin(), heap.end(), by_error);
    heap.push_back(right);
    std::push_heap(heap.begin(), heap.end(), by_error);
    // Re-sum rather than update, so round-off does not accumulate.
    total = 0.0;
    total_error = 0.0;
    for (const Piece& p : heap) {
      total += p.value;
      total_error += p.error;
    }
  }
  return total;
}

// h or V between two conditional mixtures.
double DistanceAt(DensityDistanceKind kind, const Mixture& p, const Mixture& q,
                  const DensityDistanceOptions& options, bool* converged) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  double sd_max = 0.0;
  for (const Mixture* m : {&p, &q}) {
    for (const Component& c : m->components()) {
      lo = std::min(lo, c.mean);
      hi = std::max(hi, c.mean);
      sd_max = std::max(sd_max, c.sd);
    }
  }
  lo -= options.y_range_sds * sd_max;
  hi += options.y_range_sds * sd_max;
  std::vector<double> breaks{lo, hi};
  for (const Mixture* m : {&p, &q}) {
    for (const Component& c : m->components()) {
      // Tails beyond 3 sd over a long gap to the next component would
      // otherwise sit at the ends of one wide piece, between the rule's nodes.
      for (double z : {-10.0, -6.0, -3.0, 0.0, 3.0, 6.0, 10.0}) {
        const double y = c.mean + z * c.sd;
        if (y > lo && y < hi) breaks.push_back(y);
      }
    }
  }
  std::sort(breaks.begin(), breaks.end());
  // Break points closer than half the smallest sd add pieces without adding
  // resolution (a fit near the truth doubles every point): merge them.
  double sd_min = sd_max;
  for (const Mixture* m : {&p, &q}) {
    for (const Component& c : m->components()) sd_min = std::min(sd_min, c.sd);
  }
  const double min_width = std::max(1e-12 * (hi - lo), 0.5 * sd_min);
  std::vector<double> unique{breaks.front()};
  for (std::size_t t = 1; t < breaks.size(); ++t) {
    if (breaks[t] - unique.back() > min_width) unique.push_back(breaks[t]);
  }
  unique.back() = hi;
  if (kind == DensityDistanceKind::kHellinger) {
    auto f = [&](double y) {
      const double d = std::exp(0.5 * p.LogDensity(y)) - std::exp(0.5 * q.LogDensity(y));
      return 0.5 * d * d;
    };
    const double h2 = AdaptiveIntegral(f, unique, options, converged);
    return std::sqrt(std::clamp(h2, 0.0, 1.0));
  }
  auto f = [&](double y) { return 0.5 * std::abs(std::exp(p.LogDensity(y)) - std::exp(q.LogDensity(y))); };
  return std::clamp(AdaptiveIntegral(f, unique, options, converged), 0.0, 1.0);
}

void CheckModels(const MoeParams& p, const MoeParams& q, Index dim) {
  for (const auto& [params, name] : {std::pair{&p, "p"}, std::pair{&q, "q"}}) {
    try {
      params->Validate();
    } catch (const std::invalid_argument& e) {
      ThrowInvalid(kFn, std::string("model ") + name + " is invalid: " + e.what());
    }
  }
  if (p.dim() != q.dim()) {
    ThrowInvalid(kFn, "models differ in dimension: d = " + std::to_string(p.dim()) + " and " +
                          std::to_string(q.dim()));
  }
  if (dim != p.dim()) {
    ThrowInvalid(kFn, "covariates have " + std::to_string(dim) + " columns, the models d = " +
                          std::to_string(p.dim()));
  }
}

// Distances at the rows of X (models already checked); counts unconverged y-integrals.
Vector DistancesAt(DensityDistanceKind kind, const MoeParams& p, const MoeParams& q,
                   const Eigen::Ref<const Matrix>& X, const DensityDistanceOptions& options,
                   Index* unconverged) {
  const Matrix log_gate_p = GateLogWeights(p.gate, X);
  const Matrix log_gate_q = GateLogWeights(q.gate, X);
  const Matrix mean_p = ExpertMeans(p.experts, X);
  const Matrix mean_q = ExpertMeans(q.experts, X);
  Vector out(X.rows());
  Mixture mp, mq;
  for (Index n = 0; n < X.rows(); ++n) {
    mp.Reset();
    mq.Reset();
    for (Index i = 0; i < p.num_experts(); ++i) {
      mp.Add(log_gate_p(n, i), mean_p(n, i), p.experts.variance[i]);
    }
    for (Index i = 0; i < q.num_experts(); ++i) {
      mq.Add(log_gate_q(n, i), mean_q(n, i), q.experts.variance[i]);
    }
    bool converged = true;
    out[n] = DistanceAt(kind, mp, mq, options, &converged);
    if (!converged) ++*unconverged;
  }
  return out;
}

}  // namespace

const char* ToString(DensityDistanceKind kind) {
  return kind == DensityDistanceKind::kHellinger ? "hellinger" : "tv";
}

const char* ToString(XIntegration method) {
  return method == XIntegration::kMonteCarlo ? "monte-carlo" : "midpoint-grid";
}

void DensityDistanceOptions::Validate() const {
  constexpr const char* kOpt = "DensityDistanceOptions::Validate";
  CheckNonNegative(kOpt, "target_relative_error", target_relative_error);
  CheckNonNegative(kOpt, "target_absolute_error", target_absolute_error);
  if (min_x < 2) ThrowInvalid(kOpt, "min_x = " + std::to_string(min_x) + " must be >= 2");
  if (max_x < min_x) {
    ThrowInvalid(kOpt, "max_x = " + std::to_string(max_x) + " must be >= min_x = " +
                           std::to_string(min_x));
  }
  if (batch_x < 1) ThrowInvalid(kOpt, "batch_x = " + std::to_string(batch_x) + " must be >= 1");
  if (grid_points < 3 || grid_points % 3 != 0) {
    ThrowInvalid(kOpt, "grid_points = " + std::to_string(grid_points) +
                           " must be a positive multiple of 3");
  }
  CheckPositive(kOpt, "y_relative_tolerance", y_relative_tolerance);
  CheckPositive(kOpt, "y_absolute_tolerance", y_absolute_tolerance);
  if (!(y_range_sds >= 5.0) || !std::isfinite(y_range_sds)) {
    ThrowInvalid(kOpt, "y_range_sds = " + std::to_string(y_range_sds) +
                           " must be finite and >= 5 (mass beyond 5 sd is ~6e-7)");
  }
  if (y_max_intervals < 1) {
    ThrowInvalid(kOpt, "y_max_intervals = " + std::to_string(y_max_intervals) + " must be >= 1");
  }
}

std::string DensityDistance::BriefReport() const {
  std::ostringstream os;
  os << "E_X distance = " << value << " +- " << standard_error << " ("
     << (deterministic ? "grid" : "MC") << ", " << num_x << " x"
     << (target_met ? "" : ", target NOT met") << (y_unconverged ? ", y-quadrature capped" : "")
     << ")";
  return os.str();
}

Vector ConditionalDensityDistance(DensityDistanceKind kind, const MoeParams& p,
                                  const MoeParams& q, const Eigen::Ref<const Matrix>& X,
                                  const DensityDistanceOptions& options) {
  options.Validate();
  CheckModels(p, q, X.cols());
  CheckAllFinite("ConditionalDensityDistance", "X", X);
  Index unconverged = 0;
  return DistancesAt(kind, p, q, X, options, &unconverged);
}

DensityDistance ExpectedDensityDistance(DensityDistanceKind kind, const MoeParams& p,
                                        const MoeParams& q, const CovariateDesign& design,
                                        const DensityDistanceOptions& options, Rng& rng) {
  options.Validate();
  design.Validate();
  CheckModels(p, q, design.dim);
  DensityDistance result;
  if (options.x_integration == XIntegration::kMidpointGrid) {
    if (design.dim != 1) {
      ThrowInvalid(kFn, "kMidpointGrid needs a one-dimensional design, got d = " +
                            std::to_string(design.dim));
    }
    const Index m = options.grid_points;
    const Matrix X = MidpointCovariates(design, m);
    const Vector h = DistancesAt(kind, p, q, X, options, &result.y_unconverged);
    double coarse = 0.0;
    for (Index i = 1; i < m; i += 3) coarse += h[i];  // midpoints of the m/3 coarse bins
    coarse /= static_cast<double>(m / 3);
    result.value = h.mean();
    result.standard_error = std::abs(result.value - coarse) / 8.0;
    result.num_x = m;
    result.deterministic = true;
    return result;
  }
  CovariateDesign draw = design;
  if (draw.kind == DesignKind::kGrid) draw.kind = DesignKind::kUniform;
  // Welford running mean and sum of squared deviations.
  double mean = 0.0, m2 = 0.0;
  Index count = 0;
  Index next = options.min_x;
  while (true) {
    const Matrix X = DrawCovariates(draw, next, rng);
    const Vector h = DistancesAt(kind, p, q, X, options, &result.y_unconverged);
    for (Index n = 0; n < h.size(); ++n) {
      ++count;
      const double delta = h[n] - mean;
      mean += delta / static_cast<double>(count);
      m2 += delta * (h[n] - mean);
    }
    const double se = std::sqrt(m2 / static_cast<double>(count - 1) / static_cast<double>(count));
    result.value = mean;
    result.standard_error = se;
    result.num_x = count;
    result.target_met = se <= std::max(options.target_absolute_error,
                                       options.target_relative_error * mean);
    if (result.target_met || count >= options.max_x) break;
    next = std::min(options.batch_x, options.max_x - count);
  }
  return result;
}

}  // namespace moelab
