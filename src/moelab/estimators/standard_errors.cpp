#include "moelab/estimators/standard_errors.hpp"

#include <algorithm>
#include <atomic>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
#include <sstream>
#include <thread>

#include "moelab/core/check.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/estimators/fit_diagnostics.hpp"
#include "moelab/estimators/objective.hpp"
#include "moelab/simulation/simulate.hpp"

namespace moelab {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// True for the packed entries stored as logs (log nu_i, log tau).
std::vector<bool> LogScaled(const MoeObjective& objective, Index k) {
  std::vector<bool> log_scaled(objective.num_parameters(), false);
  if (objective.fits_temperature()) log_scaled[objective.temperature_index()] = true;
  for (Index i = 0; i < k; ++i) log_scaled[objective.log_variance_index(i)] = true;
  return log_scaled;
}

double NormalQuantile(double level) {
  return boost::math::quantile(boost::math::normal_distribution<double>(), 0.5 + 0.5 * level);
}

// Type-7 quantile of sorted values.
double Quantile(const std::vector<double>& sorted, double q) {
  const double h = (static_cast<double>(sorted.size()) - 1.0) * q;
  const std::size_t lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

void StandardErrorOptions::Validate() const {
  constexpr const char* kFn = "StandardErrorOptions::Validate";
  if (!(level > 0.0 && level < 1.0)) ThrowInvalid(kFn, "level must be in (0, 1)");
  if (!(relative_step > 0.0 && relative_step <= 0.1)) {
    ThrowInvalid(kFn, "relative_step must be in (0, 0.1]");
  }
  if (!(singular_tolerance >= 0.0 && singular_tolerance < 1.0)) {
    ThrowInvalid(kFn, "singular_tolerance must be in [0, 1)");
  }
}

void BootstrapOptions::Validate() const {
  constexpr const char* kFn = "BootstrapOptions::Validate";
  if (replicates < 2) ThrowInvalid(kFn, "replicates must be >= 2");
  if (!(level > 0.0 && level < 1.0)) ThrowInvalid(kFn, "level must be in (0, 1)");
  if (num_threads < 1) ThrowInvalid(kFn, "num_threads must be >= 1");
}

std::vector<std::string> FreeParameterNames(const MoeParams& params, bool fit_temperature) {
  params.Validate();
  const bool fit_tau = fit_temperature && params.gate.uses_temperature();
  const Index d = params.dim();
  std::vector<std::string> names;
  for (Index entry : FreeGateEntries(params.gate, false)) {
    const Index expert = entry / (d + 1), offset = entry % (d + 1);
    names.push_back("gate[" + std::to_string(expert) + "]." +
                    (offset == 0 ? std::string("beta0")
                                 : "beta1[" + std::to_string(offset - 1) + "]"));
  }
  if (fit_tau) names.push_back("gate.tau");
  for (Index i = 0; i < params.num_experts(); ++i) {
    const std::string prefix = "expert[" + std::to_string(i) + "].";
    names.push_back(prefix + "intercept");
    for (Index j = 0; j < d; ++j) names.push_back(prefix + "slope[" + std::to_string(j) + "]");
    names.push_back(prefix + "variance");
  }
  return names;
}

Vector FreeParameterValues(const MoeParams& params, bool fit_temperature) {
  const Dataset shape_data{Matrix::Zero(1, params.dim()), Vector::Zero(1), std::nullopt};
  const MoeObjective objective(shape_data, params, fit_temperature);
  Vector values = objective.Pack(params);
  const std::vector<bool> log_scaled = LogScaled(objective, params.num_experts());
  for (Index j = 0; j < values.size(); ++j) {
    if (log_scaled[j]) values[j] = std::exp(values[j]);
  }
  return values;
}

Matrix ObservedInformation(const Dataset& data, const MoeParams& params, bool fit_temperature,
                           double relative_step) {
  if (!(relative_step > 0.0 && relative_step <= 0.1)) {
    ThrowInvalid("ObservedInformation", "relative_step must be in (0, 0.1]");
  }
  const MoeObjective objective(data, params, fit_temperature);
  const Vector theta = objective.Pack(params);
  const Index p = theta.size();
  Matrix information(p, p);
  Vector plus, minus;
  for (Index j = 0; j < p; ++j) {
    const double h = relative_step * std::max(1.0, std::abs(theta[j]));
    Vector shifted = theta;
    shifted[j] = theta[j] + h;
    const double f_plus = objective.NegativeLogLikelihood(shifted, &plus);
    shifted[j] = theta[j] - h;
    const double f_minus = objective.NegativeLogLikelihood(shifted, &minus);
    if (!std::isfinite(f_plus) || !std::isfinite(f_minus)) {
      information.col(j).setConstant(kNaN);
      continue;
    }
    // The gradient of -l, differenced: column j of -d^2 l.
    information.col(j) = (plus - minus) / (2.0 * h);
  }
  return 0.5 * (information + information.transpose());
}

StandardErrorReport ComputeStandardErrors(const Dataset& data, const MoeParams& params,
                                          const StandardErrorOptions& options) {
  options.Validate();
  data.Validate();
  const MoeObjective objective(data, params, options.fit_temperature);
  const Index p = objective.num_parameters(), k = params.num_experts();
  const Index num_gate = objective.expert_offset(0);  // free gate entries (+ log tau)
  const MoeParams normalised = NormaliseGauge(params);

  StandardErrorReport report;
  report.method = "observed-information";
  report.level = options.level;
  const std::vector<std::string> names = FreeParameterNames(params, options.fit_temperature);
  const Vector values = FreeParameterValues(params, options.fit_temperature);
  report.parameters.resize(p);
  for (Index j = 0; j < p; ++j) {
    report.parameters[j].name = names[j];
    report.parameters[j].estimate = values[j];
    report.parameters[j].standard_error = report.parameters[j].lower =
        report.parameters[j].upper = report.parameters[j].z = kNaN;
  }

  // Gate entries without a regular information, and why.
  std::string gate_reason;
  if (num_gate > 0) {
    if (k == 1) {
      gate_reason = "one expert: the gate is identically 1 and has no parameters";
    } else if (params.gate.kind == GateKind::kTopK) {
      gate_reason =
          "top-K gate: the likelihood is not differentiable in the gate parameters where the "
          "selection switches";
    } else if (params.gate.kind == GateKind::kTemperature && objective.fits_temperature()) {
      gate_reason =
          "temperature gate with fitted tau: (beta, tau) -> c (beta, tau) leaves the density "
          "unchanged, so the information is singular";
    } else {
      FitResult probe;
      probe.termination = TerminationType::kConverged;
      probe.params = normalised;
      for (const FitWarning& w : DiagnoseFit(data, probe)) {
        if (w.kind == FitWarningKind::kQuasiSeparation) {
          gate_reason = "quasi-separation: " + w.message;
          break;
        }
      }
    }
  }
  std::vector<Index> kept;
  for (Index j = gate_reason.empty() ? 0 : num_gate; j < p; ++j) kept.push_back(j);
  if (!gate_reason.empty()) {
    for (Index j = 0; j < num_gate; ++j) report.parameters[j].reason = gate_reason;
    for (Index j = num_gate; j < p; ++j) {
      report.parameters[j].reason = "conditional on the fitted gate";
    }
    report.reason = "no standard errors for the gate (" + gate_reason + ")";
  }

  const Matrix full = ObservedInformation(data, params, options.fit_temperature,
                                          options.relative_step);
  const Index m = static_cast<Index>(kept.size());
  Matrix info(m, m);
  for (Index a = 0; a < m; ++a)
    for (Index b = 0; b < m; ++b) info(a, b) = full(kept[a], kept[b]);

  auto fail = [&](const std::string& why) {
    for (Index j : kept) report.parameters[j].reason = why;
    report.reason = report.reason.empty() ? why : report.reason + "; " + why;
    report.available = false;
    report.covariance.resize(0, 0);
    return report;
  };
  if (!info.allFinite()) {
    return fail("the log-likelihood is not finite next to the estimate");
  }
  const Vector diagonal = info.diagonal();
  if ((diagonal.array() <= 0.0).any()) {
    return fail("the observed information is not positive definite: the estimate is not a "
                "local maximum (did the fit converge?) or the model is over-fitted");
  }
  const Vector scale = diagonal.cwiseSqrt().cwiseInverse();
  const Matrix correlation = scale.asDiagonal() * info * scale.asDiagonal();
  Eigen::SelfAdjointEigenSolver<Matrix> eigen(correlation);
  const double smallest = eigen.eigenvalues().minCoeff();
  const double largest = eigen.eigenvalues().maxCoeff();
  if (smallest <= 0.0) {
    std::ostringstream os;
    os << "the observed information is not positive definite (smallest scaled eigenvalue "
       << smallest << "): the estimate is not a local maximum (did the fit converge?) or the "
       << "model is over-fitted";
    return fail(os.str());
  }
  if (smallest < options.singular_tolerance * largest) {
    std::ostringstream os;
    os << "the observed information is singular (scaled eigenvalue ratio " << smallest / largest
       << "): the model is over-fitted (two experts alike, an expert without data) or not "
          "identified";
    return fail(os.str());
  }
  // Covariance on the packed scale, from the scaled eigen-decomposition.
  const Matrix inverse_correlation = eigen.eigenvectors() *
                                     eigen.eigenvalues().cwiseInverse().asDiagonal() *
                                     eigen.eigenvectors().transpose();
  const Matrix packed_covariance =
      scale.asDiagonal() * inverse_correlation * scale.asDiagonal();
  const std::vector<bool> log_scaled = LogScaled(objective, k);
  Vector jacobian(m);
  for (Index a = 0; a < m; ++a) jacobian[a] = log_scaled[kept[a]] ? values[kept[a]] : 1.0;
  const Matrix covariance = jacobian.asDiagonal() * packed_covariance * jacobian.asDiagonal();

  report.covariance = Matrix::Constant(p, p, kNaN);
  const double z = NormalQuantile(options.level);
  for (Index a = 0; a < m; ++a) {
    for (Index b = 0; b < m; ++b) report.covariance(kept[a], kept[b]) = covariance(a, b);
    ParameterInference& out = report.parameters[kept[a]];
    out.available = true;
    out.standard_error = std::sqrt(covariance(a, a));
    out.lower = out.estimate - z * out.standard_error;
    out.upper = out.estimate + z * out.standard_error;
    out.z = out.estimate / out.standard_error;
  }
  report.available = m > 0;
  return report;
}

StandardErrorReport BootstrapStandardErrors(const Dataset& data, const MoeFit& fit,
                                            const FitOptions& fit_options,
                                            const BootstrapOptions& options) {
  constexpr const char* kFn = "BootstrapStandardErrors";
  options.Validate();
  fit_options.Validate();
  data.Validate();
  if (!fit.IsUsable()) ThrowInvalid(kFn, "the fit is not usable; nothing to bootstrap");
  const MoeParams& estimate = fit.params();
  const std::vector<std::string> names = FreeParameterNames(estimate, fit_options.fit_temperature);
  const Vector values = FreeParameterValues(estimate, fit_options.fit_temperature);
  const Index p = values.size();

  const int replicates = options.replicates;
  std::vector<Vector> draws(replicates);
  std::vector<bool> usable(replicates, false);
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int b = next++; b < replicates; b = next++) {
      Rng rng(DeriveSeed(options.seed, static_cast<std::uint64_t>(b), 0));
      Dataset replicate = SimulateAt(estimate, data.X, rng);
      replicate.labels.reset();
      FitOptions refit = fit_options;
      refit.initial_params = {estimate};
      refit.num_starts = 0;
      refit.num_threads = 1;
      const MoeFit result = FitMoe(replicate, fit.shape, refit);
      if (result.IsUsable()) {
        draws[b] = FreeParameterValues(result.params(), fit_options.fit_temperature);
        usable[b] = true;
      }
    }
  };
  const int threads = std::min(options.num_threads, replicates);
  if (threads > 1) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (std::thread& t : pool) t.join();
  } else {
    worker();
  }

  StandardErrorReport report;
  report.method = "parametric-bootstrap";
  report.level = options.level;
  std::vector<Index> good;
  for (int b = 0; b < replicates; ++b) {
    if (usable[b]) good.push_back(b);
  }
  const Index m = static_cast<Index>(good.size());
  if (m < replicates) {
    report.reason = std::to_string(replicates - m) + " of " + std::to_string(replicates) +
                    " bootstrap refits were not usable and are left out";
  }
  report.parameters.resize(p);
  Matrix samples(m, p);
  for (Index r = 0; r < m; ++r) samples.row(r) = draws[good[r]].transpose();
  const double alpha = 1.0 - options.level;
  for (Index j = 0; j < p; ++j) {
    ParameterInference& out = report.parameters[j];
    out.name = names[j];
    out.estimate = values[j];
    if (m < 2) {
      out.standard_error = out.lower = out.upper = out.z = kNaN;
      out.reason = "fewer than 2 usable bootstrap refits";
      continue;
    }
    const double mean = samples.col(j).mean();
    out.standard_error =
        std::sqrt((samples.col(j).array() - mean).square().sum() / static_cast<double>(m - 1));
    std::vector<double> sorted(samples.col(j).data(), samples.col(j).data() + m);
    std::sort(sorted.begin(), sorted.end());
    out.lower = Quantile(sorted, alpha / 2);
    out.upper = Quantile(sorted, 1 - alpha / 2);
    out.z = out.estimate / out.standard_error;
    out.available = true;
  }
  if (m >= 2) {
    const Matrix centred = samples.rowwise() - samples.colwise().mean();
    report.covariance = centred.transpose() * centred / static_cast<double>(m - 1);
    report.available = true;
  } else {
    report.reason += report.reason.empty() ? "fewer than 2 usable bootstrap refits"
                                           : "; fewer than 2 usable refits";
  }
  return report;
}

}  // namespace moelab
