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
  CheckNonNegative(kFn, "handoff_tolerance", handoff_tolerance);
}

namespace {

MleNloptOptions PolishOptions(const AcceleratedEmOptions& fitter, int max_evaluations,
                              double relative_tolerance = 1e-15) {
  MleNloptOptions polish;
  // SLSQP keeps a dense quasi-Newton Hessian (the problem has tens of
  // parameters): along the curved, nearly flat ridges of an over-fitted fit
  // L-BFGS stopped after 20-80 evaluations with the gradient still at
  // ~0.02, and SQUAREM then crawled for thousands of EM maps; SLSQP climbs
  // them in ~100-200 evaluations (measured on the over-fitted softmax study
  // at n = 3e4 and 1e5: 2.4-13x less time per data set, equal or higher
  // log-likelihood from most starts).
  polish.algorithm = "LD_SLSQP";
  polish.max_evaluations = max_evaluations;
  polish.relative_tolerance = relative_tolerance;
  polish.parameter_tolerance = 1e-12;
  polish.variance_floor = fitter.em.variance_floor;
  polish.fit_temperature = fitter.em.fit_temperature;
  return polish;
}

// Passes over the data of a quasi-Newton polish: value and gradient per
// evaluation, counted as two passes.
long long PolishPasses(const FitResult& polished) { return 2LL * polished.evaluations; }

// The hand-off: SQUAREM to `handoff` -> SLSQP polish -> SQUAREM to the
// fitter's own tolerance; when that SQUAREM run crawls (over-fitted fits:
// EM's rate along the flat directions is close to 1) it is cut after
// kSegmentMaps EM maps and polished again, at most kMaxPolishes times in all,
// the last run having the fitter's whole remaining budget. A polish is kept
// only if it raises the likelihood; the last SQUAREM run decides the stopping
// rule and the termination, so the stopping test means what it says.
//
// The polish runs to a relative change of 1e-14 (about 1e-9 units at |l| ~
// 1e5) or polish_max_evaluations. Measured with L-BFGS as the polish, on
// the over-fitted softmax study (k = 3 on k* = 2, 4 data sets at n = 1e4 to
// 1e5, 5 starts each): against a polish stopped at 1e-12, after which
// SQUAREM crawled for up to ~4000 maps, the certified protocol took 1.1-6x
// less time per data set, with the same or a higher best start.
constexpr int kSegmentMaps = 200;
constexpr int kMaxPolishes = 3;

FitResult FitWithHandOff(const Dataset& data, const MoeParams& start,
                         const AcceleratedEmOptions& fitter, const CertifiedFitOptions& options) {
  if (!(options.handoff_tolerance > fitter.em.absolute_tolerance) ||
      options.polish_max_evaluations == 0)
    return FitAcceleratedEm(data, start, fitter);
  AcceleratedEmOptions coarse_options = fitter;
  coarse_options.em.absolute_tolerance = options.handoff_tolerance;
  const FitResult coarse = FitAcceleratedEm(data, start, coarse_options);
  if (!coarse.IsUsable() || coarse.termination != TerminationType::kConverged) return coarse;
  FitResult fit = coarse;
  int iterations = coarse.iterations, polish_evaluations = 0, polishes_kept = 0, polishes = 0;
  long long passes = coarse.data_passes;
  while (polishes < kMaxPolishes) {
    const MoeParams from = fit.params;
    const double from_log_likelihood = fit.log_likelihood;
    const FitResult polished = FitMleNlopt(
        data, from, PolishOptions(fitter, options.polish_max_evaluations, 1e-14));
    ++polishes;
    polish_evaluations += polished.evaluations;
    passes += PolishPasses(polished);
    const bool better = polished.IsUsable() && polished.log_likelihood > from_log_likelihood &&
                        polished.params.IsValid();  // a polish may overflow log tau
    if (better) ++polishes_kept;
    AcceleratedEmOptions rest = fitter;
    const int remaining = std::max(1, fitter.em.max_iterations - iterations);
    const bool last = polishes == kMaxPolishes;
    rest.em.max_iterations = last ? remaining : std::min(remaining, kSegmentMaps);
    fit = FitAcceleratedEm(data, better ? polished.params : from, rest);
    iterations += fit.iterations;
    passes += fit.data_passes;
    const bool segment_cut = fit.termination == TerminationType::kMaxIterations &&
                             rest.em.max_iterations < remaining;
    if (!segment_cut || !fit.IsUsable()) break;
  }
  fit.iterations = iterations;
  fit.data_passes = passes;
  std::ostringstream os;
  os << fit.message << "; hand-off at |dl| <= " << options.handoff_tolerance << " after "
     << coarse.iterations << " EM maps: " << polishes << " SLSQP polish(es), "
     << polish_evaluations << " evaluations, " << polishes_kept << " kept";
  fit.message = os.str();
  return fit;
}

}  // namespace

CertifiedFit FitCertified(const Dataset& data, const std::vector<MoeParams>& starts,
                          const CertifiedFitOptions& options) {
  constexpr const char* kFn = "FitCertified";
  options.Validate();
  if (starts.empty()) ThrowInvalid(kFn, "starts must not be empty");
  const auto t0 = std::chrono::steady_clock::now();
  long long passes = 0;

  const auto fit_from = [&](const MoeParams& start, const AcceleratedEmOptions& o) {
    return options.accelerate ? FitWithHandOff(data, start, o, options) : FitEm(data, start, o.em);
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
  // It may also stop as soon as it has gained ten times the tolerance: the
  // probe then fails the certificate either way, and the repair that
  // continues from its point fits to the full tolerance.
  const ProbeRefit refit = [&](const MoeParams& start) {
    AcceleratedEmOptions o = probe_fitter;
    const double enough = fit.log_likelihood + 10.0 * options.certificate.probe_tolerance;
    o.em.callback = [enough](const IterationSummary& step) {
      return step.log_likelihood > enough ? CallbackReturn::kStop : CallbackReturn::kContinue;
    };
    return fit_from(start, o);
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
  // log-likelihood by SLSQP; either way EM then converges again from the new
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
      const FitResult polished =
          FitMleNlopt(data, fit.params, PolishOptions(options.fitter, options.polish_max_evaluations));
      passes += PolishPasses(polished);
      ++out.polish_rounds;
      if (!polished.IsUsable() || !(polished.log_likelihood > fit.log_likelihood) ||
          !polished.params.IsValid())
        break;
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
       << " time(s) from an SLSQP polish";
    fit.message = os.str();
  }
  out.fit = std::move(fit);
  out.certificate = std::move(cert);
  return out;
}

}  // namespace moelab
