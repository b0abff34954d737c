// A convergence certificate for a fit: evidence that the returned parameters
// are a maximum of the observed log-likelihood, not merely where the
// optimiser stopped.
//
// Why more than a gradient: in over-fitted mixtures the point where two
// fitted atoms coincide (same expert, the cell's weight split between them)
// is stationary by symmetry, and the second-order term in the splitting
// direction vanishes too, so first- and second-order tests pass there while
// the likelihood can still rise by whole units. Hence the split-and-refit
// probe and the agreement between starts.
//
// The tests, in the packed gauge-fixed coordinates theta of MoeObjective,
// rescaled to unit-free ones phi (theta_j = s_j phi_j with s = sqrt(nu_i) for
// b_i, sqrt(nu_i) / sd(x_c) for a_ic, 1 / sd(x_c) for gate slopes, 1 for gate
// intercepts, log nu and log tau), so every number below means the same for
// every data scale and every n:
//
//  1. Budget and stopping: the fit ended kConverged (an iteration or time
//     budget, a user stop or a failure is never certified), its last
//     |l_t - l_{t-1}| <= absolute_tolerance (log-likelihood units: the same
//     meaning at every n) and its last max-norm parameter change <=
//     parameter_tolerance.
//  2. Score: |dl/dphi|_inf / sqrt(n) <= score_tolerance (projected, see 4).
//     The sqrt(n) scale makes it mean the same at every n: a Newton step
//     gains g' H^-1 g / 2 with H ~ n I1 (I1 the information per observation,
//     O(1) in phi), so a score entry g_j is worth about (g_j / sqrt(n))^2 /
//     (2 I1_jj) log-likelihood units whatever n is; 1e-3 means ~1e-6 units
//     where I1 is of order one (the score per observation, |g| / n, would
//     demand ever smaller gains as n grows).
//  3. Newton decrement (when the Hessian is usable): with H the observed
//     information -d2l/dphi2 by central differences of the analytic gradient,
//     restricted as in 4 and 5, delta = g' H^-1 g / 2 is the log-likelihood
//     a Newton step would still gain; certified needs delta <=
//     decrement_tolerance. "Usable" = positive definite with its smallest
//     eigenvalue above the finite-difference noise (measured as the asymmetry
//     of the difference Hessian). A clearly negative eigenvalue is checked
//     by climbing: refits (the probe's refit) from theta +- probe_separation
//     along its eigenvector; a gain > probe_tolerance confirms a saddle (not
//     certified), no gain marks the direction as flat within difference
//     noise (noted, not a failure; with the probe off, a negative eigenvalue
//     is not certified). A (near) singular H (over-fitted fits) leaves the
//     score test alone at this order.
//  4. Variance at the floor (KKT): log nu_i within 1e-6 of log(variance_floor)
//     is an active bound: its score counts only when positive (the likelihood
//     would rise by leaving the floor) and it is left out of H.
//  5. Exact flat directions (temperature gate with tau fitted): the scale map
//     (gate entries, tau) -> c (gate entries, tau) - or slopes only, for an
//     activation gate with act = identity - is used only when the
//     log-likelihood is verified invariant along it (to 1e-9 relative); H and
//     g are then projected onto its orthogonal complement: the certificate is
//     on the identifiable quotient.
//  6. Top-K gates (piecewise smooth): every derivative is taken with the
//     selection frozen at the fit; the Hessian is used only when no
//     finite-difference point changes any row's selected set. The
//     certificate then holds within the final selection pattern, and says so.
//  7. Split-and-refit probe: for the `probe_pairs` closest pairs of fitted
//     atoms within `probe_radius` (unit-free distance of their gate slopes,
//     intercepts, expert lines at the mean x and log variances), move the two
//     expert intercepts apart by +-probe_separation sqrt(mean variance),
//     refit with the caller's short refit and record the gain in
//     log-likelihood. A gain > probe_tolerance is not certified (and the
//     better point is returned, so a caller can continue from it); probing
//     stops at the first such gain (saddle-escape refits included), since
//     one is enough to fail the test.
//  8. Global evidence (moelab's choice between two readings, `global_test`):
//     kStartAgreement: with several starts, at least
//     min(min_agreeing_starts, starts) of them must end within
//     start_tolerance of the best log-likelihood - evidence of the global
//     maximum, which over-fitted mixtures rarely give (their likelihood has
//     many local maxima within a few units; docs/rate_studies.md).
//     kDominatesReference: l(fit) >= reference_log_likelihood -
//     start_tolerance. With the true parameters' log-likelihood as the
//     reference this is the basic inequality l(fit) >= l(truth) on which the
//     density-rate theorems for the MLE rest (van de Geer 2000, Thm 7.4;
//     docs/theory.md), so the rate bounds apply to such a fit whether or not
//     it is the global maximum. Agreement is counted and reported either way.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

enum class GlobalTest { kStartAgreement, kDominatesReference };  // "agreement", "truth"

const char* ToString(GlobalTest test);
// Throws std::invalid_argument listing the valid names.
GlobalTest ParseGlobalTest(const std::string& name);

struct CertificateOptions {
  double absolute_tolerance = 1e-6;   // last |l_t - l_{t-1}|; >= 0
  double parameter_tolerance = 1e-3;  // last max-norm packed parameter change; >= 0
  double score_tolerance = 1e-3;      // |dl/dphi|_inf / sqrt(n); >= 0
  double decrement_tolerance = 1e-4;  // g' H^-1 g / 2 in log-likelihood units; >= 0
  double hessian_step = 1e-4;         // central-difference step in phi; > 0
  bool probe = true;                  // run the split-and-refit probe
  int probe_pairs = 3;                // at most this many pairs (closest first); >= 0
  double probe_radius = 2.0;          // pairs farther apart are not probed; > 0
  double probe_separation = 0.5;      // split, in expert standard deviations; > 0
  double probe_tolerance = 1e-3;      // allowed gain of a probe refit; >= 0
  double start_tolerance = 1e-3;      // starts agree within this log-likelihood; >= 0
  int min_agreeing_starts = 2;        // clamped to the number of starts; >= 1
  GlobalTest global_test = GlobalTest::kStartAgreement;  // test 8 (see above)
  double reference_log_likelihood = std::numeric_limits<double>::quiet_NaN();
                                      // kDominatesReference: e.g. l(truth); finite then

  // Throws std::invalid_argument naming the field.
  void Validate() const;
};

struct FitCertificate {
  bool certified = false;
  std::string reason;           // why not, or what the certificate covers
  bool budget_hit = false;      // the fit ended on an iteration or time budget
  int iterations = 0;           // the fit's
  double last_change = 0.0;     // the fit's last |l_t - l_{t-1}| (NaN: not tracked)
  double last_parameter_change = 0.0;
  double score_norm = 0.0;      // |dl/dphi|_inf / sqrt(n), projected at active floors
  double newton_decrement = 0.0;  // g' H^-1 g / 2; NaN when H is not usable
  double min_curvature = 0.0;   // smallest eigenvalue of H / n; NaN when not computed
  int active_floors = 0;        // variances at the floor (KKT bounds)
  int flat_directions = 0;      // exact symmetries projected out (quotient)
  bool within_selection = false;  // top-K: certified within the final selection
  int probes = 0;               // probe refits run (split pairs and saddle escapes)
  double probe_gain = 0.0;      // max over probes of l(refit) - l(fit); NaN: none ran
  double probe_log_likelihood = 0.0;  // of the best probe refit
  MoeParams probe_params;       // the best probe refit's parameters (when probes > 0)
  int num_starts = 1;
  int agreeing_starts = 1;      // starts within start_tolerance of the best (incl. it)
  double reference_gap = std::numeric_limits<double>::quiet_NaN();  // l(fit) - reference
                                // log-likelihood (NaN: no reference)
  long long data_passes = 0;    // passes the certificate made (probes included)
};

// A short refit from a perturbed start (e.g. accelerated EM with a small
// budget and the fit's own options).
using ProbeRefit = std::function<FitResult(const MoeParams&)>;

// Certifies `fit` (its params must be a valid model for `data`).
// `fit_temperature` and `variance_floor` must be those of the fit.
// `start_log_likelihoods`: the final log-likelihood of every start (empty or
// one entry: a single start). `refit` may be empty when options.probe is
// false. Throws std::invalid_argument for bad options or mismatched input;
// numerical trouble (a non-finite gradient) is reported as not certified.
FitCertificate CertifyFit(const Dataset& data, const FitResult& fit, bool fit_temperature,
                          double variance_floor, const std::vector<double>& start_log_likelihoods,
                          const ProbeRefit& refit, const CertificateOptions& options);

}  // namespace moelab
