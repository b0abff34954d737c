// The certified-fit protocol: fits from several starts with accelerated EM to
// an absolute log-likelihood tolerance (SQUAREM while EM gains much, a
// quasi-Newton polish (NLopt SLSQP) once it slows down - over-fitted EM is
// sublinear there - then SQUAREM again to the stopping rule, polished again
// when it crawls), keeps the best, certifies it
// (certificate.hpp) and repairs what can be repaired: when a probe finds a
// higher likelihood it continues from the probe's point; when only the score
// or the Newton decrement fails (EM crawling along a nearly flat direction)
// it hands off to an SLSQP polish of the exact log-likelihood. EM then
// converges again from the new point and the fit is certified afresh.
//
// What is certified is the returned fit; a fit that is not certified is
// returned all the same (with its certificate saying why), never dropped.
#pragma once

#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/accelerated_em.hpp"
#include "moelab/estimators/certificate.hpp"
#include "moelab/estimators/fit_result.hpp"

namespace moelab {

// The fitter of the certified protocol: relative rule off, absolute
// tolerance 1e-8 (two orders below the certificate's 1e-6, so the last change
// passes when the fit converges rather than when it merely slows down),
// 100000 EM-map evaluations, the other EmOptions at their defaults.
AcceleratedEmOptions CertifiedFitterDefaults();

struct CertifiedFitOptions {
  AcceleratedEmOptions fitter = CertifiedFitterDefaults();
  bool accelerate = true;           // false: plain FitEm with fitter.em for every fit and
                                    // probe refit (the benchmarks' baseline)
  CertificateOptions certificate;
  int probe_max_iterations = 3000;  // EM-map evaluations of one probe refit, which
                                    // stops at |dl| <= probe_tolerance / 100; >= 1
  int max_probe_rounds = 3;         // repairs in all (continuations from a better probe
                                    // point, SLSQP polishes); >= 0
  int polish_max_evaluations = 2000;  // NLopt SLSQP polish of the exact log-likelihood
                                      // when only the score or Newton decrement fails,
                                      // and in the hand-off below (0 = never); >= 0
  double handoff_tolerance = 1e-2;  // accelerated fits: SQUAREM until its cycle gains
                                    // <= this (log-likelihood units), then an SLSQP
                                    // polish of the exact log-likelihood, then SQUAREM to
                                    // fitter.em.absolute_tolerance again, so the stopping
                                    // rule is EM's (0 = no hand-off); >= 0

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

struct CertifiedFit {
  FitResult fit;                 // the best fit; seconds and data_passes cover the
                                 // whole protocol (every start, probe and refit)
  FitCertificate certificate;    // of `fit`
  std::vector<double> start_log_likelihoods;  // per start (NaN: unusable)
  int probe_rounds = 0;          // continuations from a better probe point
  int polish_rounds = 0;         // SLSQP polishes (each followed by EM)
  long long certificate_passes = 0;  // passes of the certificates (probes included),
                                     // part of fit.data_passes
};

// Throws std::invalid_argument for no starts, bad options or bad input.
CertifiedFit FitCertified(const Dataset& data, const std::vector<MoeParams>& starts,
                          const CertifiedFitOptions& options);

}  // namespace moelab
