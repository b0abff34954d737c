"""moelab.MixtureOfExperts: a scikit-learn regressor over the C++ fit.

The estimator is a thin layer: fit() validates the arrays the scikit-learn
way and calls the C++ one-call fit FitMoe (``_moelab.fit_moe``: the best
log-likelihood of ``n_init`` starts, alternating data-driven and random ones;
estimators/fit_moe.hpp); predictions, posteriors, criteria and standard
errors are the library's own functions. The GIL is released while C++ runs.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _moelab

GATES = ("softmax", "topk", "temperature", "activation")
ESTIMATORS = ("em", "mle", "lse")


class SmallSampleWarning(UserWarning):
    """Fewer samples than the free parameters of the requested model: fewer
    experts were fitted (see MixtureOfExperts, "Small samples")."""


class FitDiagnosticWarning(UserWarning):
    """A warning of the library's fit diagnostics (quasi-separation of the
    gate, a spurious component, variance floor, ...; fit_diagnostics.hpp).
    Non-convergence is a sklearn ConvergenceWarning instead."""


class MixtureOfExperts(RegressorMixin, BaseEstimator):
    """Gaussian mixture of experts with linear experts,

        p(y | x) = sum_i g_i(x) N(y | a_i' x + b_i, variance_i),

    fitted by maximum likelihood from several starts.

    Parameters
    ----------
    n_experts : int, default=2
        Number of experts k.
    gate : {"softmax", "topk", "temperature", "activation"}, default="softmax"
        Gating function (README "The model"). The temperature and activation
        gates keep tau = 1 fixed (tanh activation).
    top_k : int or None, default=None
        K of a top-K gate (required for gate="topk", 1 <= K <= n_experts;
        must be None for other gates).
    n_init : int, default=10
        Number of starts; the fit with the highest log-likelihood is kept.
        Starts alternate a data-driven one (k-means on standardised (x, y))
        and a random one (FitMoe, estimators/fit_moe.hpp).
    random_state : int, RandomState instance or None, default=None
        An int is FitOptions.seed itself (the same int gives the same fit as
        FitMoe in C++); otherwise a seed is drawn from it.
    tol : float or None, default=None
        Convergence tolerance of the estimator: EM's relative log-likelihood
        change (over a SQUAREM cycle, as FitMoe runs EM; default 1e-10,
        strict enough for standard errors),
        NLopt's relative objective change (default 1e-12), Ceres' function
        tolerance (default 1e-12). None keeps the default.
    max_iter : int or None, default=None
        EM iterations (EM maps of SQUAREM; default 2000), NLopt evaluations (default 10000) or
        Ceres iterations (default 500). None keeps the default.
    estimator : {"em", "mle", "lse"}, default="em"
        EM, direct MLE (NLopt L-BFGS) or least squares of the mean (Ceres;
        the variances are then the mean squared residual).
    min_prior : float, default=0.0
        Starts whose fit gives an expert a share sum_n r_ni / n below this
        are not kept (flexmix's ``minprior``; 0 = off). Guards against
        spurious components of a few points with a tiny variance.
    n_jobs : int or None, default=None
        Threads over the starts (None = 1); the result does not depend on it.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only when X has string column names)
    n_experts_ : int
        Experts actually fitted (smaller than n_experts only for small
        samples, with a SmallSampleWarning).
    params_ : moelab.MoeParams
        Fitted, gauge-normalised parameters (last expert is the reference).
    gate_bias_, gate_slope_ : ndarray of shape (k,), (k, d)
    expert_intercept_, expert_slope_, expert_variance_ : ndarray
        Copies of params_ (variance, not standard deviation).
    log_likelihood_ : float
        Log-likelihood of the training data.
    n_iter_ : int
        Iterations of the kept fit (EM: EM-map evaluations of SQUAREM).
    termination_ : str
        Why the kept fit stopped ("converged", "max_iterations", ...).
    converged_ : bool
        termination_ == "converged"; a ConvergenceWarning is issued otherwise.
    component_size_ : ndarray of shape (k,)
        Effective number of training points per expert, sum_n r_ni.
    fit_warnings_ : list of str
        The library's fit diagnostics ("kind: message"), each also issued as
        a FitDiagnosticWarning (or ConvergenceWarning).
    fit_report_ : str
        The C++ one-line report of the kept fit.

    Small samples
    -------------
    The model has p(k) = (k - 1)(d + 1) + k (d + 2) free parameters (one more
    gate coefficient per expert for a non-linear activation gate; the
    library's NumModelParameters). When n_samples < p(n_experts) the largest
    k with p(k) <= n_samples is fitted and a SmallSampleWarning says so;
    below p(1) = d + 2 fit raises ValueError ("n_samples = ... is fewer
    than ...").

    Mixture outputs that are not scikit-learn's regressor API have their own
    names: ``gate_probabilities(X)``, ``predict_variance(X)``,
    ``log_density(X, y)`` (per sample), ``log_likelihood(X, y)`` (sum),
    ``posterior(X, y)``, ``map_labels(X, y)``, ``bic``, ``aic``, ``icl``,
    ``standard_errors(X, y)``. (There is deliberately no
    ``score_samples``: scikit-learn defines it as a function of X alone and
    its checks call it that way, while a conditional density needs y.)
    """

    def __init__(self, n_experts=2, gate="softmax", top_k=None, n_init=10, random_state=None,
                 tol=None, max_iter=None, estimator="em", min_prior=0.0, n_jobs=None):
        self.n_experts = n_experts
        self.gate = gate
        self.top_k = top_k
        self.n_init = n_init
        self.random_state = random_state
        self.tol = tol
        self.max_iter = max_iter
        self.estimator = estimator
        self.min_prior = min_prior
        self.n_jobs = n_jobs

    # ---- fitting ---------------------------------------------------------

    def _check_params(self):
        def integer(name, value, low):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"MixtureOfExperts: {name} must be an integer >= {low} (got {value!r})")

        integer("n_experts", self.n_experts, 1)
        integer("n_init", self.n_init, 1)
        if self.gate not in GATES:
            raise ValueError(f"MixtureOfExperts: gate must be one of {GATES} (got {self.gate!r})")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"MixtureOfExperts: estimator must be one of {ESTIMATORS} "
                             f"(got {self.estimator!r})")
        if self.gate == "topk":
            if self.top_k is None:
                raise ValueError("MixtureOfExperts: gate='topk' needs top_k (1 <= top_k <= n_experts)")
            integer("top_k", self.top_k, 1)
            if self.top_k > self.n_experts:
                raise ValueError(f"MixtureOfExperts: top_k = {self.top_k} exceeds n_experts = "
                                 f"{self.n_experts}")
        elif self.top_k is not None:
            raise ValueError(f"MixtureOfExperts: top_k is only used by gate='topk' (got top_k = "
                             f"{self.top_k!r} with gate={self.gate!r})")
        if self.tol is not None and (isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real)
                                     or not self.tol >= 0):
            raise ValueError(f"MixtureOfExperts: tol must be a number >= 0 or None (got {self.tol!r})")
        if self.max_iter is not None:
            integer("max_iter", self.max_iter, 1)
        if (isinstance(self.min_prior, bool) or not isinstance(self.min_prior, numbers.Real)
                or not 0 <= self.min_prior < 1):
            raise ValueError(f"MixtureOfExperts: min_prior must be in [0, 1) (got {self.min_prior!r})")
        if self.n_jobs is not None:
            integer("n_jobs", self.n_jobs, 1)

    def _shape(self, k, d):
        shape = _moelab.ModelShape()
        shape.num_experts = k
        shape.dim = d
        if k == 1:
            shape.gate = "softmax"  # one expert: the gate weight is 1 whatever the gate
        else:
            shape.gate = self.gate
            if self.gate == "topk":
                shape.top_k = min(self.top_k, k)
        return shape

    def _seed(self):
        if isinstance(self.random_state, numbers.Integral) and not isinstance(self.random_state, bool):
            if self.random_state < 0:
                raise ValueError(f"MixtureOfExperts: random_state must be >= 0 (got {self.random_state})")
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _options(self, seed):
        options = _moelab.FitOptions()
        options.num_starts = int(self.n_init)
        options.seed = seed
        options.estimator = self.estimator
        options.min_prior = float(self.min_prior)
        options.num_threads = int(self.n_jobs or 1)
        # The struct fields are views of the C++ options: set them in place.
        if self.tol is not None:
            options.em.relative_tolerance = float(self.tol)
            options.mle.relative_tolerance = float(self.tol)
            options.lse.function_tolerance = float(self.tol)
        if self.max_iter is not None:
            options.em.max_iterations = int(self.max_iter)
            options.mle.max_evaluations = int(self.max_iter)
            options.lse.max_iterations = int(self.max_iter)
        return options

    def fit(self, X, y):
        """Fits the model to X (n_samples, n_features) and y (n_samples,)."""
        self._check_params()
        X, y = self._validate_data(X, y, y_numeric=True, dtype=np.float64)
        n, d = X.shape
        k = int(self.n_experts)
        while k >= 1 and _moelab.num_model_parameters(self._shape(k, d)) > n:
            k -= 1
        if k < 1:
            raise ValueError(f"MixtureOfExperts: n_samples = {n} is fewer than the "
                             f"{d + 2} free parameters of a single linear expert with {d} features")
        if k < self.n_experts:
            p = _moelab.num_model_parameters(self._shape(int(self.n_experts), d))
            warnings.warn(f"MixtureOfExperts: n_samples = {n} is fewer than the {p} free parameters "
                          f"of {self.n_experts} experts with {d} features; fitting {k} expert(s)",
                          SmallSampleWarning)
        fit = _moelab.fit_moe(_moelab.Dataset(X, y), self._shape(k, d), self._options(self._seed()))
        result = fit.result
        self._set_fitted(fit.params)
        self.n_experts_ = k
        self.log_likelihood_ = result.log_likelihood
        self.n_iter_ = result.iterations
        self.termination_ = result.termination
        self.converged_ = fit.converged()
        self.component_size_ = np.array(fit.component_size)
        self.fit_warnings_ = [f"{w.kind}: {w.message}" for w in fit.warnings]
        self.fit_report_ = result.brief_report()
        for w in fit.warnings:
            category = ConvergenceWarning if w.kind == "not-converged" else FitDiagnosticWarning
            warnings.warn(f"MixtureOfExperts: {w.kind}: {w.message}", category)
        return self

    def _set_fitted(self, params):
        self.params_ = params
        self.gate_bias_ = np.array(params.gate.bias)
        self.gate_slope_ = np.array(params.gate.slope)
        self.expert_intercept_ = np.array(params.experts.intercept)
        self.expert_slope_ = np.array(params.experts.slope)
        self.expert_variance_ = np.array(params.experts.variance)

    # ---- predictions -----------------------------------------------------

    def _x(self, X):
        return self._validate_data(X, reset=False, dtype=np.float64)

    def _xy(self, X, y):
        return self._validate_data(X, y, reset=False, y_numeric=True, dtype=np.float64)

    # The three outputs below are the fields of the library's Predict(), which
    # computes them with these same functions; each is computed alone here.

    def predict(self, X):
        """Conditional mean E[y | x] (n_samples,)."""
        check_is_fitted(self, "params_")
        return _moelab.GaussianMoe(self.params_).conditional_mean(self._x(X))

    def predict_variance(self, X):
        """Conditional variance Var[y | x] (n_samples,)."""
        check_is_fitted(self, "params_")
        return _moelab.GaussianMoe(self.params_).conditional_variance(self._x(X))

    def gate_probabilities(self, X):
        """Gate weights g_i(x) (n_samples, n_experts_); exactly 0 where a
        top-K gate does not select an expert."""
        check_is_fitted(self, "params_")
        return _moelab.gate_probabilities(self.params_.gate, self._x(X))

    def log_density(self, X, y):
        """log p(y_n | x_n) for every sample (n_samples,)."""
        check_is_fitted(self, "params_")
        X, y = self._xy(X, y)
        return _moelab.GaussianMoe(self.params_).log_densities(X, y)

    def log_likelihood(self, X, y):
        """sum_n log p(y_n | x_n) (on held-out data: the cross-validation
        log-likelihood)."""
        check_is_fitted(self, "params_")
        X, y = self._xy(X, y)
        return _moelab.held_out_log_likelihood(self.params_, _moelab.Dataset(X, y))

    def posterior(self, X, y):
        """Posterior expert probabilities P(z = i | x, y) (n_samples, n_experts_)."""
        check_is_fitted(self, "params_")
        X, y = self._xy(X, y)
        return _moelab.posteriors(self.params_, X, y)

    def map_labels(self, X, y):
        """The most probable expert of every sample (ties: the lower index)."""
        return _moelab.map_labels(self.posterior(X, y))

    def information_criteria(self, X, y, icl="soft"):
        """AIC, BIC and ICL on (X, y) with the library's parameter count
        (moelab.InformationCriteria). icl: "soft" (entropy of the posteriors)
        or "hard" (MAP classification, as flexmix and mclust)."""
        check_is_fitted(self, "params_")
        X, y = self._xy(X, y)
        return _moelab.information_criteria(_moelab.Dataset(X, y), self.params_, self.num_parameters(), icl)

    def bic(self, X, y):
        """-2 log-likelihood + p log n (smaller is better)."""
        return self.information_criteria(X, y).bic

    def aic(self, X, y):
        """-2 log-likelihood + 2 p (smaller is better)."""
        return self.information_criteria(X, y).aic

    def icl(self, X, y, kind="soft"):
        """BIC + 2 x the classification entropy ("soft" or "hard")."""
        return self.information_criteria(X, y, kind).icl

    def num_parameters(self):
        """Free parameters of the fitted model (gauge fixed)."""
        check_is_fitted(self, "params_")
        return _moelab.num_model_parameters(self.params_)

    def standard_errors(self, X, y, level=0.95):
        """Wald standard errors and intervals from the observed information
        at the fit, on the training data (X, y) (estimators/standard_errors.hpp).
        A pandas DataFrame: name, estimate, standard_error, lower, upper, z,
        reason (why a parameter has no standard error: top-K or temperature
        gates, quasi-separation, a singular information, ...)."""
        import pandas as pd
        check_is_fitted(self, "params_")
        X, y = self._xy(X, y)
        options = _moelab.StandardErrorOptions()
        options.level = float(level)
        report = _moelab.standard_errors(_moelab.Dataset(X, y), self.params_, options)
        frame = pd.DataFrame([dict(name=p.name, estimate=p.estimate, standard_error=p.standard_error,
                                   lower=p.lower, upper=p.upper, z=p.z, reason=p.reason)
                              for p in report.parameters])
        frame.attrs["reason"] = report.reason
        return frame
