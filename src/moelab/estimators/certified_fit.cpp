#include "moelab/estimators/certified_fit.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "moelab/core/check.hpp"

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
  const ProbeRefit refit = [&](const MoeParams& start) {
    return fit_from(start, probe_fitter);
  };
  const bool fit_tau = options.fitter.em.fit_temperature;
  const double floor = options.fitter.em.variance_floor;
  FitCertificate cert =
      CertifyFit(data, fit, fit_tau, floor, out.start_log_likelihoods, refit, options.certificate);
  passes += cert.data_passes;
  while (!cert.certified && cert.probes > 0 &&
         cert.probe_gain > options.certificate.probe_tolerance &&
         out.probe_rounds < options.max_probe_rounds) {
    // The probe found a higher likelihood: converge from there, certify again.
    FitResult next = fit_from(cert.probe_params, options.fitter);
    passes += next.data_passes;
    ++out.probe_rounds;
    if (!next.IsUsable() || !(next.log_likelihood > fit.log_likelihood)) break;
    next.iterations += fit.iterations;
    fit = next;
    out.start_log_likelihoods[static_cast<std::size_t>(best)] = fit.log_likelihood;
    cert = CertifyFit(data, fit, fit_tau, floor, out.start_log_likelihoods, refit,
                      options.certificate);
    passes += cert.data_passes;
  }
  fit.restarts = static_cast<int>(starts.size());
  fit.best_restart = best;
  fit.data_passes = passes;
  fit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (out.probe_rounds > 0) {
    std::ostringstream os;
    os << fit.message << "; continued " << out.probe_rounds
       << " time(s) from a split-and-refit probe that found a higher likelihood";
    fit.message = os.str();
  }
  out.fit = std::move(fit);
  out.certificate = std::move(cert);
  return out;
}

}  // namespace moelab
