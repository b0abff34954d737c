#include "moelab/estimators/certificate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include "moelab/core/check.hpp"
#include "moelab/estimators/free_parameters.hpp"
#include "moelab/estimators/objective.hpp"
#include "moelab/estimators/variance_floor.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

void CertificateOptions::Validate() const {
  constexpr const char* kFn = "CertificateOptions::Validate";
  CheckNonNegative(kFn, "absolute_tolerance", absolute_tolerance);
  CheckNonNegative(kFn, "parameter_tolerance", parameter_tolerance);
  CheckNonNegative(kFn, "score_tolerance", score_tolerance);
  CheckNonNegative(kFn, "decrement_tolerance", decrement_tolerance);
  CheckPositive(kFn, "hessian_step", hessian_step);
  if (probe_pairs < 0) ThrowInvalid(kFn, "probe_pairs must be >= 0");
  CheckPositive(kFn, "probe_radius", probe_radius);
  CheckPositive(kFn, "probe_separation", probe_separation);
  CheckNonNegative(kFn, "probe_tolerance", probe_tolerance);
  CheckNonNegative(kFn, "start_tolerance", start_tolerance);
  if (min_agreeing_starts < 1) ThrowInvalid(kFn, "min_agreeing_starts must be >= 1");
  if (global_test == GlobalTest::kDominatesReference && !std::isfinite(reference_log_likelihood))
    ThrowInvalid(kFn, "global_test = truth needs a finite reference_log_likelihood (e.g. the "
                      "true parameters' log-likelihood)");
}

const char* ToString(GlobalTest test) {
  return test == GlobalTest::kStartAgreement ? "agreement" : "truth";
}

GlobalTest ParseGlobalTest(const std::string& name) {
  if (name == "agreement") return GlobalTest::kStartAgreement;
  if (name == "truth") return GlobalTest::kDominatesReference;
  throw std::invalid_argument("unknown global test '" + name + "' (valid: agreement, truth)");
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Vector ColumnSds(const Matrix& X) {
  Vector sd(X.cols());
  for (Index c = 0; c < X.cols(); ++c) {
    const double mean = X.col(c).mean();
    const double var = (X.col(c).array() - mean).square().mean();
    sd[c] = var > 0.0 ? std::sqrt(var) : 1.0;
  }
  return sd;
}

// theta_j = s_j phi_j (see the header).
Vector UnitScales(const MoeObjective& objective, const MoeParams& params, const Vector& sd) {
  const Index d = params.dim(), k = params.num_experts();
  Vector s = Vector::Ones(objective.num_parameters());
  const std::vector<Index> free = FreeGateEntries(params.gate);
  for (std::size_t j = 0; j < free.size(); ++j) {
    const Index local = free[j] % (d + 1);  // 0 = intercept, 1..d = slope entries
    if (local > 0) s[static_cast<Index>(j)] = 1.0 / sd[local - 1];
  }
  for (Index i = 0; i < k; ++i) {
    const double sigma = std::sqrt(params.experts.variance[i]);
    const Index offset = objective.expert_offset(i);
    s[offset] = sigma;
    for (Index c = 0; c < d; ++c) s[offset + 1 + c] = sigma / sd[c];
  }
  return s;
}

// Ascent gradient dl/dtheta (NaN-free) or false when not finite.
bool Score(const MoeObjective& objective, const Vector& theta, Vector* g, long long* passes) {
  const double nll = objective.NegativeLogLikelihood(theta, g);
  *passes += 2;  // value and gradient
  *g = -*g;
  return std::isfinite(nll);
}

// The -inf pattern of the gate's selected logits (top-K selection).
std::vector<bool> SelectionPattern(const MoeParams& params, const Matrix& X) {
  const Matrix logits = GateFor(params.gate.kind).SelectedLogits(params.gate, X);
  std::vector<bool> pattern(static_cast<std::size_t>(logits.size()));
  for (Index j = 0; j < logits.size(); ++j)
    pattern[static_cast<std::size_t>(j)] = std::isinf(logits.data()[j]);
  return pattern;
}

// The exact flat direction of a fitted temperature (tangent of the scale map
// in theta), verified numerically; empty when there is none.
Vector FlatDirection(const MoeObjective& objective, const MoeParams& params, const Vector& theta,
                     long long* passes) {
  if (!objective.fits_temperature()) return {};
  const Index d = params.dim();
  const std::vector<Index> free = FreeGateEntries(params.gate);
  const double l0 = -objective.NegativeLogLikelihood(theta, nullptr);
  ++*passes;
  for (bool slopes_only : {false, true}) {
    Vector tangent = Vector::Zero(theta.size());
    for (std::size_t j = 0; j < free.size(); ++j)
      if (!slopes_only || free[j] % (d + 1) != 0)
        tangent[static_cast<Index>(j)] = theta[static_cast<Index>(j)];
    tangent[objective.temperature_index()] = 1.0;
    constexpr double kScale = 1.05;
    Vector scaled = theta;
    for (Index j = 0; j < static_cast<Index>(free.size()); ++j)
      if (tangent[j] != 0.0) scaled[j] *= kScale;
    scaled[objective.temperature_index()] += std::log(kScale);
    const double l1 = -objective.NegativeLogLikelihood(scaled, nullptr);
    ++*passes;
    if (std::abs(l1 - l0) <= 1e-9 * std::max(1.0, std::abs(l0))) return tangent;
  }
  return {};
}

struct Pair {
  double distance;
  Index i, j;
};

std::vector<Pair> AtomPairs(const MoeParams& p, const Dataset& data, const Vector& sd) {
  const Index k = p.num_experts(), d = p.dim();
  const Vector x_mean = data.X.colwise().mean().transpose();
  std::vector<Pair> pairs;
  for (Index i = 0; i < k; ++i) {
    for (Index j = i + 1; j < k; ++j) {
      const double sigma = std::sqrt(0.5 * (p.experts.variance[i] + p.experts.variance[j]));
      double dist = std::abs(p.gate.bias[i] - p.gate.bias[j]);
      const Vector da = (p.experts.slope.row(i) - p.experts.slope.row(j)).transpose();
      dist += std::abs(p.experts.intercept[i] - p.experts.intercept[j] + da.dot(x_mean)) / sigma;
      for (Index c = 0; c < d; ++c) {
        dist += std::abs(p.gate.slope(i, c) - p.gate.slope(j, c)) * sd[c];
        dist += std::abs(da[c]) * sd[c] / sigma;
      }
      dist += std::abs(std::log(p.experts.variance[i] / p.experts.variance[j]));
      pairs.push_back({dist, i, j});
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.i < b.i);
  });
  return pairs;
}

}  // namespace

FitCertificate CertifyFit(const Dataset& data, const FitResult& fit, bool fit_temperature,
                          double variance_floor, const std::vector<double>& start_log_likelihoods,
                          const ProbeRefit& refit, const CertificateOptions& options) {
  constexpr const char* kFn = "CertifyFit";
  options.Validate();
  CheckPositive(kFn, "variance_floor", variance_floor);
  if (options.probe && !refit) ThrowInvalid(kFn, "refit must be set when options.probe is on");

  FitCertificate cert;
  cert.iterations = fit.iterations;
  cert.last_change = fit.last_change;
  cert.last_parameter_change = fit.last_parameter_change;
  cert.newton_decrement = kNaN;
  cert.min_curvature = kNaN;
  cert.probe_gain = kNaN;
  cert.probe_log_likelihood = kNaN;
  cert.num_starts = std::max<int>(1, static_cast<int>(start_log_likelihoods.size()));
  cert.agreeing_starts = 1;
  std::vector<std::string> failures, notes;

  if (!fit.IsUsable()) {
    cert.score_norm = kNaN;
    cert.reason = std::string("not certified: the fit is not usable (") + ToString(fit.termination) + ")";
    return cert;
  }
  // 1. Budget and stopping.
  if (fit.termination == TerminationType::kMaxIterations) {
    cert.budget_hit = true;
    failures.push_back("the fit hit its iteration or time budget");
  } else if (fit.termination != TerminationType::kConverged) {
    failures.push_back(std::string("the fit ended ") + ToString(fit.termination));
  }
  if (!(fit.last_change <= options.absolute_tolerance)) {
    std::ostringstream os;
    os << "last log-likelihood change " << fit.last_change << " > " << options.absolute_tolerance;
    failures.push_back(os.str());
  }
  if (!(fit.last_parameter_change <= options.parameter_tolerance)) {
    std::ostringstream os;
    os << "last parameter change " << fit.last_parameter_change << " > "
       << options.parameter_tolerance;
    failures.push_back(os.str());
  }

  // 2-6. Score, curvature, floors, flat directions, selection.
  const double n = static_cast<double>(data.size());
  const MoeObjective objective(data, fit.params, fit_temperature);
  const Vector theta = objective.Pack(fit.params);
  const Vector sd = ColumnSds(data.X);
  const Vector s = UnitScales(objective, fit.params, sd);
  const Index P = objective.num_parameters();
  Vector g;
  Vector saddle_direction;      // in theta; set when the information has a negative eigenvalue
  bool first_order_ok = false;  // stopping and score tests passed
  if (!Score(objective, theta, &g, &cert.data_passes)) {
    cert.score_norm = kNaN;
    failures.push_back("the log-likelihood or its gradient is not finite at the fit");
  } else {
    std::vector<bool> active(static_cast<std::size_t>(P), false);
    // The floor is relative to Var(y) (variance_floor.hpp); theta is in the
    // units of y.
    const double log_floor = std::log(AbsoluteVarianceFloor(variance_floor, data.y));
    for (Index i = 0; i < fit.params.num_experts(); ++i) {
      const Index j = objective.log_variance_index(i);
      if (theta[j] <= log_floor + 1e-6) {
        active[static_cast<std::size_t>(j)] = true;
        ++cert.active_floors;
      }
    }
    std::vector<Index> free;
    for (Index j = 0; j < P; ++j)
      if (!active[static_cast<std::size_t>(j)]) free.push_back(j);
    const Index F = static_cast<Index>(free.size());
    Vector g_free(F);  // dl/dphi on the free coordinates
    for (Index a = 0; a < F; ++a) g_free[a] = s[free[a]] * g[free[a]];
    // Exact flat direction (fitted temperature): project it out.
    Matrix basis = Matrix::Identity(F, F);
    const Vector tangent_theta = FlatDirection(objective, fit.params, theta, &cert.data_passes);
    if (tangent_theta.size() > 0) {
      Vector t(F);
      for (Index a = 0; a < F; ++a) t[a] = tangent_theta[free[a]] / s[free[a]];
      if (t.norm() > 0.0) {
        const Eigen::HouseholderQR<Matrix> qr(t);
        const Matrix q = qr.householderQ();
        basis = q.rightCols(F - 1);
        cert.flat_directions = 1;
        notes.push_back("on the identifiable quotient (the exact temperature scale direction "
                        "projected out)");
      }
    }
    const Vector g_q = basis.transpose() * g_free;
    double score = g_q.size() > 0 ? g_q.lpNorm<Eigen::Infinity>() : 0.0;
    for (Index j = 0; j < P; ++j)
      if (active[static_cast<std::size_t>(j)]) score = std::max(score, std::max(0.0, s[j] * g[j]));
    cert.score_norm = score / std::sqrt(n);
    if (cert.active_floors > 0) {
      std::ostringstream os;
      os << cert.active_floors << " variance(s) at the floor: projected (KKT) test";
      notes.push_back(os.str());
    }
    if (!(cert.score_norm <= options.score_tolerance)) {
      std::ostringstream os;
      os << "score |dl/dphi|/sqrt(n) = " << cert.score_norm << " > " << options.score_tolerance;
      failures.push_back(os.str());
    }
    first_order_ok = failures.empty();
    // Observed information by central differences of the analytic gradient.
    const std::vector<bool> pattern = SelectionPattern(fit.params, data.X);
    const bool has_selection = std::find(pattern.begin(), pattern.end(), true) != pattern.end();
    bool selection_stable = true, finite = true;
    Matrix H(F, F);
    const double h = options.hessian_step;
    for (Index a = 0; a < F && finite; ++a) {
      Vector gp, gm;
      Vector tp = theta, tm = theta;
      tp[free[a]] += h * s[free[a]];
      tm[free[a]] -= h * s[free[a]];
      finite = Score(objective, tp, &gp, &cert.data_passes) &&
               Score(objective, tm, &gm, &cert.data_passes);
      if (has_selection && selection_stable) {
        selection_stable = SelectionPattern(objective.Unpack(tp), data.X) == pattern &&
                           SelectionPattern(objective.Unpack(tm), data.X) == pattern;
        cert.data_passes += 2;
      }
      for (Index b = 0; b < F; ++b) H(b, a) = -s[free[b]] * (gp[free[b]] - gm[free[b]]) / (2.0 * h);
    }
    if (has_selection) {
      cert.within_selection = true;
      notes.push_back(selection_stable
                          ? "within the final top-K selection pattern"
                          : "within the final top-K selection pattern (the pattern moves within "
                            "the difference step, so the curvature test was skipped)");
    }
    if (finite && selection_stable && F > 0) {
      const double asymmetry = (H - H.transpose()).cwiseAbs().maxCoeff();
      const Matrix Hq = basis.transpose() * (0.5 * (H + H.transpose())) * basis;
      const Eigen::SelfAdjointEigenSolver<Matrix> eig(Hq);
      const double lmin = eig.eigenvalues().minCoeff(), lmax = eig.eigenvalues().maxCoeff();
      const double noise = std::max(10.0 * asymmetry, 1e-9 * std::abs(lmax));
      cert.min_curvature = lmin / n;
      if (lmin > noise) {
        const Vector w = eig.eigenvectors().transpose() * g_q;
        cert.newton_decrement =
            0.5 * (w.array().square() / eig.eigenvalues().array()).sum();
        if (!(cert.newton_decrement <= options.decrement_tolerance)) {
          std::ostringstream os;
          os << "Newton decrement " << cert.newton_decrement << " > " << options.decrement_tolerance;
          failures.push_back(os.str());
        }
      } else if (lmin < -noise) {
        // Negative curvature by differences: verified below by climbing along
        // the eigenvector (escape refits), so that difference noise in a
        // nearly flat direction cannot reject a maximum on its own.
        const Vector v = basis * eig.eigenvectors().col(0);
        saddle_direction = Vector::Zero(P);
        for (Index a = 0; a < F; ++a) saddle_direction[free[a]] = s[free[a]] * v[a];
      } else {
        notes.push_back("information singular to difference accuracy: no Newton decrement");
      }
    }
  }

  // 7. Split-and-refit probe, for fits that passed the stopping and score
  // tests (it costs refits). Refits along +-the negative-curvature direction
  // come first: a rise confirms the saddle.
  if (options.probe && first_order_ok) {
    cert.probe_gain = -std::numeric_limits<double>::infinity();
    // One probe refit from `start`: counted, and kept when it is the best
    // so far. Returns its gain (none when the refit is unusable).
    const auto run_probe = [&](const MoeParams& start) -> std::optional<double> {
      const FitResult probe = refit(start);
      ++cert.probes;
      cert.data_passes += probe.data_passes;
      if (!probe.IsUsable()) return std::nullopt;
      const double gain = probe.log_likelihood - fit.log_likelihood;
      if (gain > cert.probe_gain) {
        cert.probe_gain = gain;
        cert.probe_log_likelihood = probe.log_likelihood;
        cert.probe_params = probe.params;
      }
      return gain;
    };
    if (saddle_direction.size() > 0) {
      double escape_gain = -std::numeric_limits<double>::infinity();
      for (double sign : {1.0, -1.0}) {
        if (escape_gain > options.probe_tolerance) break;  // one rise confirms the saddle
        const Vector start_theta = theta + sign * options.probe_separation * saddle_direction;
        const std::optional<double> gain = run_probe(objective.Unpack(start_theta));
        if (gain) escape_gain = std::max(escape_gain, *gain);
      }
      std::ostringstream os;
      os << "negative curvature (smallest eigenvalue of the information per observation "
         << cert.min_curvature << "); refits along it gained " << escape_gain;
      if (escape_gain > options.probe_tolerance) {
        os << ": a saddle, not a maximum";
        failures.push_back(os.str());
      } else {
        os << " <= " << options.probe_tolerance << ": within difference noise of a flat direction";
        notes.push_back(os.str());
      }
    }
    const std::vector<Pair> pairs = AtomPairs(fit.params, data, sd);
    for (const Pair& pair : pairs) {
      if (cert.probes >= options.probe_pairs || pair.distance > options.probe_radius ||
          cert.probe_gain > options.probe_tolerance)  // one gain fails the test already
        break;
      MoeParams start = fit.params;
      const double sigma =
          std::sqrt(0.5 * (start.experts.variance[pair.i] + start.experts.variance[pair.j]));
      start.experts.intercept[pair.i] += options.probe_separation * sigma;
      start.experts.intercept[pair.j] -= options.probe_separation * sigma;
      run_probe(start);
    }
    if (cert.probes == 0) {
      cert.probe_gain = kNaN;
      notes.push_back("no pair of atoms within the probe radius");
    } else if (cert.probe_gain > options.probe_tolerance) {
      std::ostringstream os;
      os << "split-and-refit probe raised the log-likelihood by " << cert.probe_gain;
      failures.push_back(os.str());
    }
  } else {
    if (saddle_direction.size() > 0) {
      std::ostringstream os;
      os << "negative curvature (smallest eigenvalue of the information per observation "
         << cert.min_curvature << "), not verified by refits";
      failures.push_back(os.str());
    }
    if (options.probe) notes.push_back("probe not run (stopping or score test failed)");
  }

  // 8. Global evidence: agreement between starts (always counted) or the
  // basic inequality against a reference.
  if (start_log_likelihoods.size() >= 2) {
    cert.agreeing_starts = 0;
    for (double l : start_log_likelihoods)
      if (l >= fit.log_likelihood - options.start_tolerance) ++cert.agreeing_starts;
  }
  cert.reference_gap = fit.log_likelihood - options.reference_log_likelihood;
  if (options.global_test == GlobalTest::kStartAgreement) {
    const int need = std::min(options.min_agreeing_starts, cert.num_starts);
    if (cert.agreeing_starts < need) {
      std::ostringstream os;
      os << cert.agreeing_starts << " of " << cert.num_starts << " starts reach the best "
         << "log-likelihood (need " << need << ")";
      failures.push_back(os.str());
    }
  } else if (!(cert.reference_gap >= -options.start_tolerance)) {
    std::ostringstream os;
    os << "log-likelihood " << cert.reference_gap << " below the reference (the truth's)";
    failures.push_back(os.str());
  } else {
    notes.push_back("l(fit) >= l(reference): the basic inequality of the rate theorems");
  }

  cert.certified = failures.empty();
  std::ostringstream os;
  os << (cert.certified ? "certified" : "not certified: ");
  for (std::size_t f = 0; f < failures.size(); ++f) os << (f ? "; " : "") << failures[f];
  for (const auto& note : notes) os << " [" << note << "]";
  cert.reason = os.str();
  return cert;
}

}  // namespace moelab
