#include "moelab/estimators/certified_fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "moelab/core/check.hpp"
#include "moelab/estimators/mle_nlopt.hpp"

namespace moelab {

AcceleratedEmOptions CertifiedFitterDefaults() {
  AcceleratedEmOptions o;
  o.em.relative_tolerance = 0.0;
  o.em.absolute_tolerance = 1e-8;
  o.em.max_iterations = 100000;
  return o;
}

void CertifiedFitOptions::Validate() const {
  constexpr const char* kFn = "CertifiedFitOptions::Validate";
  fitter.Validate();
  certificate.Validate();
  if (probe_max_iterations < 1) ThrowInvalid(kFn, "probe_max_iterations must be >= 1");
  if (max_probe_rounds < 0) ThrowInvalid(kFn, "max_probe_rounds must be >= 0");
  if (polish_max_evaluations < 0) ThrowInvalid(kFn, "polish_max_evaluations must be >= 0");
}

CertifiedFit FitCertified(const Dataset& data, const std::vector<MoeParams>& starts,
                          const CertifiedFitOptions& options) {
  constexpr const char* kFn = "FitCertified";
  options.Validate();
  if (starts.empty()) ThrowInvalid(kFn, "starts must not be empty");
  const auto t0 = std::chrono::steady_clock::now();
  long long passes = 0;

  const auto fit_from = [&](const MoeParams& start, const AcceleratedEmOptions& o) {
    return options.accelerate ? FitAcceleratedEm(data, start, o) : FitEm(data, start, o.em);
  };
  CertifiedFit out;
  int best = -1;
  std::vector<FitResult> fits;
  for (std::size_t s = 0; s < starts.size(); ++s) {
    fits.push_back(fit_from(starts[s], options.fitter));
    const FitResult& f = fits.back();
    passes += f.data_passes;
    out.start_log_likelihoods.push_back(f.IsUsable() ? f.log_likelihood
                                                     : std::numeric_limits<double>::quiet_NaN());
    // Best usable (ties: earliest); if none is usable, the first.
    if (f.IsUsable() && (best < 0 || !fits[best].IsUsable() ||
                         f.log_likelihood > fits[best].log_likelihood))
      best = static_cast<int>(s);
  }
  if (best < 0) best = 0;
  FitResult fit = fits[best];

  AcceleratedEmOptions probe_fitter = options.fitter;
  probe_fitter.em.max_iterations = options.probe_max_iterations;
  // A probe only has to show a gain above probe_tolerance: stopping at a
  // hundredth of it is enough, and far cheaper in flat directions.
  probe_fitter.em.absolute_tolerance =
      std::max(options.fitter.em.absolute_tolerance, 0.01 * options.certificate.probe_tolerance);
  const ProbeRefit refit = [&](const MoeParams& start) {
    return fit_from(start, probe_fitter);
  };
  const bool fit_tau = options.fitter.em.fit_temperature;
  const double floor = options.fitter.em.variance_floor;
  FitCertificate cert =
      CertifyFit(data, fit, fit_tau, floor, out.start_log_likelihoods, refit, options.certificate);
  passes += cert.data_passes;
  out.certificate_passes += cert.data_passes;
  // Repairs, at most max_probe_rounds in all: continue from a probe point
  // that raised the likelihood, or - when only the score or the Newton
  // decrement fails (EM crawling along a flat direction) - polish the exact
  // log-likelihood by L-BFGS; either way EM then converges again from the new
  // point so that the stopping test means what it says, and the result is
  // certified afresh.
  while (!cert.certified && out.probe_rounds + out.polish_rounds < options.max_probe_rounds) {
    MoeParams from;
    if (cert.probes > 0 && cert.probe_gain > options.certificate.probe_tolerance) {
      from = cert.probe_params;
      ++out.probe_rounds;
    } else if (options.polish_max_evaluations > 0 && fit.IsUsable() && !cert.budget_hit &&
               (cert.newton_decrement > options.certificate.decrement_tolerance ||
                cert.score_norm > options.certificate.score_tolerance)) {
      MleNloptOptions polish;
      polish.max_evaluations = options.polish_max_evaluations;
      polish.relative_tolerance = 1e-15;
      polish.parameter_tolerance = 1e-12;
      polish.variance_floor = floor;
      polish.fit_temperature = fit_tau;
      const FitResult polished = FitMleNlopt(data, fit.params, polish);
      passes += 2LL * polished.iterations;  // value and gradient per evaluation
      ++out.polish_rounds;
      if (!polished.IsUsable() || !(polished.log_likelihood > fit.log_likelihood)) break;
      from = polished.params;
    } else {
      break;
    }
    FitResult next = fit_from(from, options.fitter);
    passes += next.data_passes;
    if (!next.IsUsable() || !(next.log_likelihood > fit.log_likelihood)) break;
    next.iterations += fit.iterations;
    fit = next;
    out.start_log_likelihoods[static_cast<std::size_t>(best)] = fit.log_likelihood;
    cert = CertifyFit(data, fit, fit_tau, floor, out.start_log_likelihoods, refit,
                      options.certificate);
    passes += cert.data_passes;
    out.certificate_passes += cert.data_passes;
  }
  fit.restarts = static_cast<int>(starts.size());
  fit.best_restart = best;
  fit.data_passes = passes;
  fit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (out.probe_rounds + out.polish_rounds > 0) {
    std::ostringstream os;
    os << fit.message << "; continued " << out.probe_rounds
       << " time(s) from a probe point with a higher likelihood and " << out.polish_rounds
       << " time(s) from an L-BFGS polish";
    fit.message = os.str();
  }
  out.fit = std::move(fit);
  out.certificate = std::move(cert);
  return out;
}

}  // namespace moelab
