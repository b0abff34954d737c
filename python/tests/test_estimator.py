"""MixtureOfExperts on data with a known truth: fitted values against the
truth and against independent computations of its outputs."""
import math
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score

import moelab


@pytest.fixture(scope="module")
def demyst():
    preset = moelab.get_preset("softmax-exact")
    data = moelab.simulate(preset, 4000, seed=3)
    model = moelab.MixtureOfExperts(n_experts=2, n_init=6, random_state=0).fit(data.X, data.y)
    return preset, data, model


def test_fit_recovers_the_truth(demyst):
    preset, data, model = demyst
    assert model.converged_ and model.termination_ == "converged"
    # D1 of the exact-fitted softmax preset falls like n^-1/2; the rate
    # studies measure a mean D1 of about 0.03 at n = 4000 (README table,
    # intercept of the softmax-exact fit). 0.2 leaves room for one unlucky
    # seed yet fails for any fit that mixes up the two experts (D1 > 1 then).
    loss = moelab.voronoi_loss(model, preset)
    assert loss.value < 0.2, loss.full_report()
    # The fit is at least as likely as the truth on its own training data
    # (it is the maximum-likelihood estimate; the truth is one candidate).
    truth_ll = moelab.GaussianMoe(preset.truth).log_likelihood(data.X, data.y)
    assert model.log_likelihood_ >= truth_ll


def test_outputs_agree_with_independent_formulas(demyst):
    _, data, model = demyst
    X, y = data.X, data.y
    n = len(y)
    # Conditional mean from the gate probabilities and expert lines (numpy).
    g = model.gate_probabilities(X)
    np.testing.assert_allclose(g.sum(axis=1), 1.0, rtol=1e-12)
    lines = X @ model.expert_slope_.T + model.expert_intercept_
    np.testing.assert_allclose(model.predict(X), (g * lines).sum(axis=1), rtol=1e-10, atol=1e-10)
    # Conditional variance = E[var + mean^2] - mean^2.
    m = (g * lines).sum(axis=1)
    v = (g * (model.expert_variance_ + lines ** 2)).sum(axis=1) - m ** 2
    np.testing.assert_allclose(model.predict_variance(X), v, rtol=1e-8, atol=1e-10)
    # Log-density by the mixture formula; log-likelihood is its sum.
    dens = (g * np.exp(-0.5 * (y[:, None] - lines) ** 2 / model.expert_variance_)
            / np.sqrt(2 * np.pi * model.expert_variance_)).sum(axis=1)
    np.testing.assert_allclose(model.log_density(X, y), np.log(dens), rtol=1e-9, atol=1e-9)
    assert math.isclose(model.log_likelihood(X, y), np.log(dens).sum(), rel_tol=1e-10)
    assert math.isclose(model.log_likelihood(X, y), model.log_likelihood_, rel_tol=1e-12)
    # Posterior by Bayes' rule.
    joint = g * np.exp(-0.5 * (y[:, None] - lines) ** 2 / model.expert_variance_) / np.sqrt(
        2 * np.pi * model.expert_variance_)
    np.testing.assert_allclose(model.posterior(X, y), joint / joint.sum(axis=1, keepdims=True), atol=1e-9)
    # Information criteria with p = (k - 1)(d + 1) + k (d + 2) = 2 + 6 = 8.
    assert model.num_parameters() == 8
    ll = model.log_likelihood_
    assert math.isclose(model.bic(X, y), -2 * ll + 8 * math.log(n), rel_tol=1e-12)
    assert math.isclose(model.aic(X, y), -2 * ll + 16, rel_tol=1e-12)
    assert model.icl(X, y) >= model.bic(X, y)
    # score is R^2 of the conditional mean.
    assert math.isclose(model.score(X, y), r2_score(y, model.predict(X)), rel_tol=1e-12)


def test_standard_errors_and_map_labels(demyst):
    _, data, model = demyst
    se = model.standard_errors(data.X, data.y)
    # One row per free parameter; every one available for a converged,
    # exact-fitted softmax model, with a positive error and the estimate
    # inside its interval (the inference itself is tested in C++ with a
    # coverage study; here the wrapper must carry it over intact).
    assert len(se) == model.num_parameters() == 8
    assert se["reason"].eq("").all() and (se["standard_error"] > 0).all()
    assert ((se["lower"] < se["estimate"]) & (se["estimate"] < se["upper"])).all()
    np.testing.assert_allclose(se["z"], se["estimate"] / se["standard_error"], rtol=1e-12)
    variances = se.set_index("name").loc[["expert[0].variance", "expert[1].variance"], "estimate"]
    # The report's variance is exp(log variance) of the packed scale: equal to
    # the fitted variance up to the last bit.
    np.testing.assert_allclose(variances.to_numpy(), model.expert_variance_, rtol=1e-15)
    labels = model.map_labels(data.X, data.y)
    np.testing.assert_array_equal(labels, model.posterior(data.X, data.y).argmax(axis=1))
    # The simulated labels are recovered for almost every point (the two
    # experts are far apart except near their crossing at x = 0.5).
    assert (labels == data.labels).mean() > 0.95 or (labels != data.labels).mean() > 0.95
    np.testing.assert_allclose(model.component_size_.sum(), len(data.y), rtol=1e-12)


def test_same_seed_same_fit_and_clone_refits_identically(demyst):
    _, data, model = demyst
    again = clone(model).fit(data.X, data.y)
    np.testing.assert_array_equal(again.gate_slope_, model.gate_slope_)
    np.testing.assert_array_equal(again.expert_variance_, model.expert_variance_)
    other = moelab.MixtureOfExperts(n_experts=2, n_init=6, random_state=1).fit(data.X[:300], data.y[:300])
    assert not np.array_equal(other.gate_slope_, model.gate_slope_)


@pytest.mark.parametrize("estimator", ["mle", "lse"])
def test_other_estimators_fit_too(demyst, estimator):
    preset, data, _ = demyst
    model = moelab.MixtureOfExperts(n_experts=2, n_init=2, random_state=0, estimator=estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the optimisers are not the point here
        model.fit(data.X, data.y)
    if estimator == "mle":
        # Same threshold and reason as test_fit_recovers_the_truth.
        assert moelab.voronoi_loss(model, preset).value < 0.2
    else:
        # Least squares fits the mean function only (its variances are the
        # mean squared residual, which also holds the spread between the
        # experts, so D1 is no measure of it): its conditional mean must be
        # the truth's. Mean squared gap below 1 % of var(y) (var(y) is about
        # 16 here; the fit leaves 0.07 %, one straight line 80 %).
        truth_mean = moelab.GaussianMoe(preset.truth).conditional_mean(data.X)
        gap = np.mean((model.predict(data.X) - truth_mean) ** 2)
        assert gap < 0.01 * np.var(data.y), (gap, np.var(data.y))


def test_topk_gate(demyst):
    preset = moelab.get_preset("topk-exact")
    data = moelab.simulate(preset, 3000, seed=4)
    model = moelab.MixtureOfExperts(n_experts=3, gate="topk", top_k=2, n_init=6, random_state=0)
    model.fit(data.X, data.y)
    g = model.gate_probabilities(data.X)
    # Exactly one expert of three gets weight 0 on every row (top-2 of 3).
    assert ((g == 0).sum(axis=1) == 1).all()
    assert model.params_.gate.kind == "topk" and model.params_.gate.top_k == 2
    assert moelab.voronoi_loss(model, preset).value < 0.5


def test_small_samples_fit_fewer_experts_with_a_warning():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(12, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=12)
    # k = 2, d = 3: p = 4 + 10 = 14 > 12 samples; k = 1: p = 5.
    with pytest.warns(moelab.SmallSampleWarning, match="n_samples = 12 is fewer than the 14"):
        model = moelab.MixtureOfExperts(n_experts=2, random_state=0).fit(X, y)
    assert model.n_experts_ == 1 and model.gate_probabilities(X).shape == (12, 1)
    with pytest.raises(ValueError, match="n_samples = 4 is fewer than the 5 free parameters"):
        moelab.MixtureOfExperts(random_state=0).fit(X[:4], y[:4])


def test_fits_release_the_gil():
    # While a fit runs in another thread this thread keeps running Python.
    # If the fit held the GIL, this loop would stall for the whole C++ fit:
    # its longest pause between two iterations would be about the fit's
    # duration. Released, the pauses are scheduler-sized (milliseconds, tens
    # on a loaded machine). The fit (40 starts on 40000 points, about 1 s
    # on the development machine) takes well over 0.3 s; the test requires
    # the longest pause below half of it.
    preset = moelab.get_preset("softmax-exact")
    data = moelab.simulate(preset, 40000, seed=5)
    model = moelab.MixtureOfExperts(n_init=40, random_state=0)
    done = threading.Event()

    def fit():
        model.fit(data.X, data.y)
        done.set()

    thread = threading.Thread(target=fit)
    start = last = time.perf_counter()
    thread.start()
    longest = 0.0
    while not done.is_set():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    elapsed = time.perf_counter() - start
    thread.join()
    assert elapsed > 0.3, f"the fit took only {elapsed:.3f} s: too quick to test the GIL"
    assert longest < 0.5 * elapsed, (longest, elapsed)
