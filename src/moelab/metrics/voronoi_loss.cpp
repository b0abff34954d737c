#include "moelab/metrics/voronoi_loss.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlopt.hpp>
#include <sstream>
#include <stdexcept>

#include "moelab/core/check.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {
namespace {

constexpr const char* kFn = "ComputeVoronoiLoss";
constexpr double kInf = std::numeric_limits<double>::infinity();

void ValidateParams(const MoeParams& params, const char* which) {
  try {
    params.Validate();
  } catch (const std::invalid_argument& e) {
    ThrowInvalid(kFn, std::string(which) + " parameters are invalid: " + e.what());
  }
}

// One evaluation of the loss in a fixed frame (fit already shifted by t1),
// before the weight scale u = e^{t0} is chosen.
struct Evaluation {
  VoronoiCells cells;
  Vector fitted_weight_sum;  // S_j
  double parameter_sum = 0.0;  // P = sum_i e^{w_i} term_i
  Index unknown_rbar_size = 0;  // > 0: a cell whose rbar is unknown
  // For the t1 step: per atom e^{w_i}, the exponent on ||Δbeta1||.
  Vector atom_weight, slope_power;
};

class LossEvaluator {
 public:
  LossEvaluator(const MixingMeasure& truth, VoronoiLossKind kind, const VoronoiLossOptions& opt)
      : truth_(truth), true_atoms_(truth.AtomCoordinates()), kind_(kind), options_(opt) {
    true_weight_ = truth.log_weight.array().exp();
  }

  const Vector& true_weight() const { return true_weight_; }

  Evaluation Evaluate(const MixingMeasure& fitted) const {
    Evaluation ev;
    ev.cells = AssignVoronoiCells(fitted.AtomCoordinates(), true_atoms_, options_.norm);
    const Index k = fitted.num_atoms();
    const Index k_true = truth_.num_atoms();
    ev.fitted_weight_sum = Vector::Zero(k_true);
    ev.atom_weight.resize(k);
    ev.slope_power.resize(k);
    const VoronoiNorm norm = options_.norm;
    for (Index i = 0; i < k; ++i) {
      const Index j = ev.cells.assignment[i];
      const Index size = ev.cells.size(j);
      const double weight = std::exp(fitted.log_weight[i]);
      ev.fitted_weight_sum[j] += weight;
      double r = 1.0, r_half = 1.0;
      if (kind_ == VoronoiLossKind::kD2 && size > 1) {
        const std::optional<double> rbar = LookupRbar(size, options_.rbar_overrides);
        if (!rbar) {
          ev.unknown_rbar_size = size;
          continue;
        }
        r = *rbar;
        r_half = *rbar / 2.0;
      }
      const double dg =
          NormOf(norm, (fitted.gate_slope.row(i) - truth_.gate_slope.row(j)).transpose());
      const double da =
          NormOf(norm, (fitted.expert_slope.row(i) - truth_.expert_slope.row(j)).transpose());
      const double db = std::abs(fitted.intercept[i] - truth_.intercept[j]);
      const double dv = std::abs(fitted.variance[i] - truth_.variance[j]);
      double term = std::pow(dg, r) + std::pow(da, r_half) + std::pow(db, r) + std::pow(dv, r_half);
      if (fitted.temperature) term += std::pow(std::abs(*fitted.temperature - *truth_.temperature), r);
      ev.parameter_sum += weight * term;
      ev.atom_weight[i] = weight;
      ev.slope_power[i] = r;
    }
    return ev;
  }

 private:
  const MixingMeasure& truth_;
  Matrix true_atoms_;
  Vector true_weight_;
  VoronoiLossKind kind_;
  const VoronoiLossOptions& options_;
};

// min over u > 0 of sum_j |u S_j - W_j| + u P (convex, piecewise linear):
// evaluated at every break point W_j / S_j. Returns the best u and value.
struct ScaleChoice {
  double u = 1.0;
  double weight_term = 0.0;
  double parameter_term = 0.0;
  bool saturated = false;  // the limit u -> 0 (value sum_j W_j) is lower
  double value() const { return saturated ? weight_term : weight_term + parameter_term; }
};

ScaleChoice WeightTerms(const Vector& S, const Vector& W, double P, double u) {
  ScaleChoice c;
  c.u = u;
  c.weight_term = (u * S - W).cwiseAbs().sum();
  c.parameter_term = u * P;
  return c;
}

ScaleChoice BestScale(const Vector& S, const Vector& W, double P) {
  ScaleChoice best;
  bool have = false;
  for (Index j = 0; j < S.size(); ++j) {
    if (!(S[j] > 0.0)) continue;
    const ScaleChoice c = WeightTerms(S, W, P, W[j] / S[j]);
    if (!have || c.value() < best.value()) {
      best = c;
      have = true;
    }
  }
  const double limit = W.sum();
  if (limit < best.value()) {
    best.saturated = true;
    best.weight_term = limit;
    best.parameter_term = 0.0;
  }
  return best;
}

MixingMeasure ShiftSlope(const MixingMeasure& m, const Vector& t1) {
  MixingMeasure out = m;
  out.gate_slope.rowwise() += t1.transpose();
  return out;
}

// argmin_t sum_i c_i |v_i + t|^{p_i} over t in R (convex): bisection on the
// right derivative c p |v+t|^{p-1} sgn+(v + t) (sgn+(0) = +1 for p = 1, 0 for
// p > 1), which is non-decreasing; the minimiser lies in [-max v, -min v].
double MinimiseShift1d(const Eigen::Ref<const Vector>& v, const Vector& c, const Vector& p) {
  const Index k = v.size();
  auto right_derivative = [&](double t) {
    double g = 0.0;
    for (Index i = 0; i < k; ++i) {
      if (c[i] == 0.0) continue;
      const double z = v[i] + t;
      if (p[i] == 1.0) {
        g += c[i] * (z >= 0.0 ? 1.0 : -1.0);
      } else if (z != 0.0) {
        g += c[i] * p[i] * std::pow(std::abs(z), p[i] - 1.0) * (z > 0.0 ? 1.0 : -1.0);
      }
    }
    return g;
  };
  double lo = -v.maxCoeff();
  double hi = -v.minCoeff();
  if (right_derivative(lo) >= 0.0) return lo;
  // Invariant: right derivative < 0 at lo and >= 0 at hi.
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (right_derivative(mid) < 0.0) lo = mid; else hi = mid;
  }
  return hi;
}

// argmin_t sum_i c_i ||v_i + t||^{p_i} (convex). d = 1, or the L1 norm with
// every p_i = 1 (separable by coordinate): exact bisection per coordinate.
// Otherwise NLopt Sbplx from `start`, keeping the best point evaluated.
Vector MinimiseSlopeShift(const Matrix& v, const Vector& c, const Vector& p, VoronoiNorm norm,
                          const Vector& start) {
  const Index k = v.rows();
  const Index d = v.cols();
  const bool separable = d == 1 || (norm == VoronoiNorm::kL1 && (p.array() == 1.0).all());
  if (separable) {
    Vector t(d);
    for (Index u = 0; u < d; ++u) t[u] = MinimiseShift1d(v.col(u), c, p);
    return t;
  }
  auto objective = [&](const Vector& t) {
    double f = 0.0;
    for (Index i = 0; i < k; ++i) {
      f += c[i] * std::pow(NormOf(norm, (v.row(i).transpose() + t)), p[i]);
    }
    return f;
  };
  Vector best = start;
  double best_f = objective(start);
  struct Data {
    decltype(objective)* f;
    Vector* best;
    double* best_f;
  } data{&objective, &best, &best_f};
  nlopt::opt opt(nlopt::LN_SBPLX, static_cast<unsigned>(d));
  opt.set_min_objective(
      [](const std::vector<double>& x, std::vector<double>&, void* raw) {
        Data* data = static_cast<Data*>(raw);
        const Vector t = Eigen::Map<const Vector>(x.data(), static_cast<Index>(x.size()));
        const double f = (*data->f)(t);
        if (f < *data->best_f) {
          *data->best_f = f;
          *data->best = t;
        }
        return f;
      },
      &data);
  opt.set_xtol_abs(1e-13);
  opt.set_ftol_rel(1e-15);
  opt.set_maxeval(20000);
  const double scale = std::max(1.0, (v.rowwise().lpNorm<Eigen::Infinity>()).maxCoeff());
  opt.set_initial_step(std::vector<double>(d, 0.1 * scale));
  std::vector<double> x(start.data(), start.data() + d);
  double f = 0.0;
  try {
    opt.optimize(x, f);
  } catch (const std::exception&) {
    // Roundoff-limited or similar: keep the best point seen (tracked above).
  }
  return best;
}

}  // namespace

const char* ToString(VoronoiLossKind kind) {
  switch (kind) {
    case VoronoiLossKind::kAuto: return "auto";
    case VoronoiLossKind::kD1: return "D1";
    case VoronoiLossKind::kD2: return "D2";
  }
  return "unknown";
}

const char* ToString(VoronoiGauge gauge) {
  return gauge == VoronoiGauge::kReferenceExpert ? "reference" : "infimum";
}

VoronoiLossKind ParseVoronoiLossKind(const std::string& name) {
  for (auto k : {VoronoiLossKind::kAuto, VoronoiLossKind::kD1, VoronoiLossKind::kD2}) {
    if (name == ToString(k)) return k;
  }
  throw std::invalid_argument("unknown Voronoi loss '" + name + "' (valid: auto, D1, D2)");
}

VoronoiGauge ParseVoronoiGauge(const std::string& name) {
  if (name == "reference") return VoronoiGauge::kReferenceExpert;
  if (name == "infimum") return VoronoiGauge::kTranslationInfimum;
  throw std::invalid_argument("unknown gauge '" + name + "' (valid: reference, infimum)");
}

void VoronoiLossOptions::Validate() const {
  constexpr const char* kOpt = "VoronoiLossOptions::Validate";
  if (fitted_reference < -1) {
    ThrowInvalid(kOpt, "fitted_reference = " + std::to_string(fitted_reference) +
                           " must be -1 (last) or an expert index");
  }
  ValidateRbarOverrides(rbar_overrides, "VoronoiLossOptions::Validate: rbar_overrides");
  if (max_alternations < 1) {
    ThrowInvalid(kOpt, "max_alternations = " + std::to_string(max_alternations) + " must be >= 1");
  }
}

namespace {

struct Prepared {
  MixingMeasure truth;   // reference gauge
  MixingMeasure fitted;  // reference gauge (fitted_reference)
  VoronoiLossKind kind = VoronoiLossKind::kD1;
};

Prepared Prepare(const MoeParams& truth, const MoeParams& fitted,
                 const VoronoiLossOptions& options) {
  options.Validate();
  ValidateParams(truth, "true");
  ValidateParams(fitted, "fitted");
  const Index k = fitted.num_experts();
  const Index k_true = truth.num_experts();
  if (fitted.dim() != truth.dim()) {
    ThrowInvalid(kFn, "fitted dimension d = " + std::to_string(fitted.dim()) +
                          " differs from the true d = " + std::to_string(truth.dim()));
  }
  const std::string fitted_family = GateOf(fitted.gate).LossFamily(fitted.gate);
  const std::string true_family = GateOf(truth.gate).LossFamily(truth.gate);
  if (fitted_family != true_family) {
    ThrowInvalid(kFn, "cannot compare a fitted " + std::string(ToString(fitted.gate.kind)) +
                          " gate (family " + fitted_family + ") with a true " +
                          ToString(truth.gate.kind) + " gate (family " + true_family +
                          "): the Voronoi loss compares measures of one gate family");
  }
  if (k < k_true) {
    ThrowInvalid(kFn, "the fit has k = " + std::to_string(k) + " experts, fewer than the k* = " +
                          std::to_string(k_true) + " of the truth; D1 and D2 need k >= k*");
  }
  if (options.fitted_reference >= k) {
    ThrowInvalid(kFn, "options.fitted_reference = " + std::to_string(options.fitted_reference) +
                          " is not an expert of the fit (k = " + std::to_string(k) + ")");
  }
  Prepared p;
  p.kind = options.kind;
  if (p.kind == VoronoiLossKind::kAuto) {
    p.kind = k == k_true ? VoronoiLossKind::kD1 : VoronoiLossKind::kD2;
  }
  p.truth = NormaliseToReference(ToMixingMeasure(truth, options.temperature), k_true - 1);
  const Index reference = options.fitted_reference < 0 ? k - 1 : options.fitted_reference;
  p.fitted = NormaliseToReference(ToMixingMeasure(fitted, options.temperature), reference);
  return p;
}

}  // namespace

VoronoiCells VoronoiCellsOf(const MoeParams& truth, const MoeParams& fitted,
                            const VoronoiLossOptions& options) {
  const Prepared p = Prepare(truth, fitted, options);
  return AssignVoronoiCells(p.fitted.AtomCoordinates(), p.truth.AtomCoordinates(), options.norm);
}

VoronoiLossResult ComputeVoronoiLoss(const MoeParams& truth, const MoeParams& fitted,
                                     const VoronoiLossOptions& options) {
  const Prepared p = Prepare(truth, fitted, options);
  const LossEvaluator evaluator(p.truth, p.kind, options);
  const Vector& W = evaluator.true_weight();
  const Index d = p.fitted.dim();

  Vector t1 = Vector::Zero(d);
  Evaluation ev;
  ScaleChoice scale;
  double pre_shift = 0.0;  // infimum gauge: log-weight shift applied before the search
  if (options.gauge == VoronoiGauge::kReferenceExpert) {
    ev = evaluator.Evaluate(p.fitted);
    if (ev.unknown_rbar_size > 0) Rbar(ev.unknown_rbar_size, options.rbar_overrides);  // throws
    scale = WeightTerms(ev.fitted_weight_sum, W, ev.parameter_sum, 1.0);
  } else {
    // The infimum over u = e^{t0} does not depend on the fit's weight level,
    // so a fit whose log-weights reach 300 (a gate running off to a hard
    // switch) is searched from log-weights shifted to a maximum of 0: its
    // weights would otherwise overflow to inf and every candidate value be
    // NaN. (Only then: the shift costs the exact zero at the truth.)
    MixingMeasure search = p.fitted;
    if (search.weight_translation && search.log_weight.maxCoeff() > 300.0) {
      pre_shift = -search.log_weight.maxCoeff();
      search.log_weight.array() += pre_shift;
    }
    // A gate without weight translation keeps u = e^{t0} = 1.
    const auto choose_scale = [&](const Evaluation& e) {
      return search.weight_translation ? BestScale(e.fitted_weight_sum, W, e.parameter_sum)
                                       : WeightTerms(e.fitted_weight_sum, W, e.parameter_sum, 1.0);
    };
    // Starts: t1 = 0 and every alignment beta1*_j - beta1_i.
    std::vector<Vector> starts{Vector::Zero(d)};
    if (search.slope_translation) {
      for (Index i = 0; i < search.num_atoms(); ++i) {
        for (Index j = 0; j < p.truth.num_atoms(); ++j) {
          starts.push_back((p.truth.gate_slope.row(j) - search.gate_slope.row(i)).transpose());
        }
      }
    }
    double best_value = kInf;
    Index unknown = 0;
    for (const Vector& start : starts) {
      Vector t = start;
      Evaluation current = evaluator.Evaluate(ShiftSlope(search, t));
      if (current.unknown_rbar_size > 0) {
        unknown = current.unknown_rbar_size;
        continue;
      }
      ScaleChoice current_scale = choose_scale(current);
      for (int step = 0; search.slope_translation && step < options.max_alternations; ++step) {
        // Differences at t = 0 for the current cells.
        Matrix v(search.num_atoms(), d);
        for (Index i = 0; i < v.rows(); ++i) {
          v.row(i) = search.gate_slope.row(i) -
                     p.truth.gate_slope.row(current.cells.assignment[i]);
        }
        const Vector next_t =
            MinimiseSlopeShift(v, current.atom_weight, current.slope_power, options.norm, t);
        Evaluation next = evaluator.Evaluate(ShiftSlope(search, next_t));
        if (next.unknown_rbar_size > 0) break;
        const ScaleChoice next_scale = choose_scale(next);
        if (!(next_scale.value() < current_scale.value())) break;
        t = next_t;
        current = std::move(next);
        current_scale = next_scale;
      }
      if (current_scale.value() < best_value) {
        best_value = current_scale.value();
        t1 = t;
        ev = std::move(current);
        scale = current_scale;
      }
    }
    if (best_value == kInf) {
      if (unknown > 0) Rbar(unknown, options.rbar_overrides);  // throws
      ThrowInvalid(kFn, "the loss is not finite at any translation: a fitted parameter is not "
                        "finite or too large (fitted log-weights up to " +
                            std::to_string(p.fitted.log_weight.maxCoeff()) + ")");
    }
  }

  VoronoiLossResult result;
  result.kind = p.kind;
  result.gauge = options.gauge;
  result.norm = options.norm;
  result.weight_term = scale.weight_term;
  result.parameter_term = scale.parameter_term;
  result.value = scale.value();
  result.shift_log_weight = std::log(scale.u) + pre_shift;
  result.shift_gate_slope = t1;
  MixingMeasure aligned = ShiftSlope(p.fitted, t1);
  aligned.log_weight.array() += result.shift_log_weight;
  result.cells = ev.cells;
  result.errors = ComputeParameterErrors(aligned, p.truth, ev.cells, options.norm);
  result.saturated = scale.saturated;
  if (scale.saturated) {
    result.warnings.push_back(
        "translation infimum reached as all fitted weights vanish (u -> 0): the loss saturated "
        "at the total true weight; the fit is far from the truth");
  }
  if (ev.cells.num_empty() > 0) {
    result.warnings.push_back(std::to_string(ev.cells.num_empty()) +
                              " true expert(s) have an empty Voronoi cell");
  }
  if (p.kind == VoronoiLossKind::kD1 && ev.cells.largest() > 1) {
    result.warnings.push_back("D1 computed although a cell holds " +
                              std::to_string(ev.cells.largest()) +
                              " atoms (D2 is the loss for over-fitted cells)");
  }
  return result;
}

std::string VoronoiLossResult::BriefReport() const {
  std::ostringstream os;
  os << ToString(kind) << " = " << value << " [gauge " << ToString(gauge) << ", norm "
     << moelab::ToString(norm) << "] cells (";
  const std::vector<Index> sizes = cells.sizes();
  for (std::size_t j = 0; j < sizes.size(); ++j) os << (j ? ", " : "") << sizes[j];
  os << "): weights " << weight_term << " + parameters " << parameter_term;
  return os.str();
}

std::string VoronoiLossResult::FullReport() const {
  std::ostringstream os;
  os << BriefReport() << '\n' << cells.ToString() << '\n';
  os << "shift: t0 = " << shift_log_weight << ", t1 = (" << shift_gate_slope.transpose()
     << ")\n";
  for (const std::string& w : warnings) os << "warning: " << w << '\n';
  os << errors.ToString();
  return os.str();
}

}  // namespace moelab
