"""Parameter round trips: JSON, pickle, get_params/set_params, the gauge,
and views vs copies of NumPy arrays."""
import pickle

import numpy as np
import pytest
from sklearn.base import clone

import moelab


def test_json_and_pickle_round_trips_are_exact():
    truth = moelab.get_preset("topk-exact").truth
    rng = np.random.default_rng(1)
    p = moelab.make_params(rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=3),
                           rng.normal(size=(3, 2)), rng.uniform(0.1, 2, size=3), gate="topk", top_k=2,
                           ranking="logit")
    for params in (truth, p):
        for back in (moelab.MoeParams.from_json(params.to_json()), pickle.loads(pickle.dumps(params))):
            assert back.gate.kind == params.gate.kind and back.gate.top_k == params.gate.top_k
            assert back.gate.ranking == params.gate.ranking
            for a, b in ((back.gate.bias, params.gate.bias), (back.gate.slope, params.gate.slope),
                         (back.experts.slope, params.experts.slope),
                         (back.experts.intercept, params.experts.intercept),
                         (back.experts.variance, params.experts.variance)):
                np.testing.assert_array_equal(a, b)


def test_params_file_round_trip(tmp_path):
    truth = moelab.get_preset("activation").truth
    path = str(tmp_path / "truth.json")
    moelab.write_params_json(truth, path)
    back = moelab.read_params_json(path)
    assert back.to_json() == truth.to_json()
    assert back.gate.activation == "tanh" and back.gate.temperature == truth.gate.temperature


def test_make_params_matches_a_preset():
    truth = moelab.get_preset("softmax-exact").truth
    made = moelab.make_params([-8, 0], [[25], [0]], [15, -5], [[-20], [20]], [0.09, 0.16])
    assert made.to_json() == truth.to_json()


def test_gauge_normalisation_keeps_the_density():
    p = moelab.make_params([1.0, -2.0, 0.5], [[3.0], [-1.0], [2.0]], [0, 1, 2], [[1], [2], [3]], [1, 2, 3])
    q = moelab.normalise_gauge(p)
    np.testing.assert_array_equal(q.gate.bias[-1], 0.0)
    np.testing.assert_array_equal(q.gate.slope[-1], 0.0)
    X = np.linspace(-2, 2, 9).reshape(-1, 1)
    y = np.linspace(-3, 3, 9)
    np.testing.assert_allclose(moelab.GaussianMoe(q).log_densities(X, y),
                               moelab.GaussianMoe(p).log_densities(X, y), rtol=1e-13)


def test_estimator_get_set_params_round_trip():
    model = moelab.MixtureOfExperts(n_experts=3, gate="topk", top_k=2, n_init=4, random_state=5, tol=1e-8,
                                    max_iter=50, estimator="mle", min_prior=0.05, n_jobs=2)
    params = model.get_params()
    assert params == dict(n_experts=3, gate="topk", top_k=2, n_init=4, random_state=5, tol=1e-8,
                          max_iter=50, estimator="mle", min_prior=0.05, n_jobs=2)
    other = moelab.MixtureOfExperts().set_params(**params)
    assert other.get_params() == params
    assert clone(model).get_params() == params


def test_fitted_estimator_pickles_with_identical_predictions():
    data = moelab.simulate("softmax-exact", 500, seed=2)
    model = moelab.MixtureOfExperts(n_init=2, random_state=0).fit(data.X, data.y)
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.predict(data.X), model.predict(data.X))
    assert back.params_.to_json() == model.params_.to_json()


def test_nested_option_structs_are_set_in_place():
    # MixtureOfExperts sets options.em.relative_tolerance etc. through the
    # field views; a copy would silently drop tol and max_iter.
    options = moelab.FitOptions()
    options.em.relative_tolerance = 1e-3
    options.mle.max_evaluations = 17
    assert options.em.relative_tolerance == 1e-3 and options.mle.max_evaluations == 17
    data = moelab.simulate("softmax-exact", 2000, seed=4)
    loose = moelab.MixtureOfExperts(n_init=1, random_state=0, tol=1e-2).fit(data.X, data.y)
    strict = moelab.MixtureOfExperts(n_init=1, random_state=0).fit(data.X, data.y)
    assert loose.n_iter_ < strict.n_iter_
    with pytest.warns(Warning, match="not-converged|max_iterations"):
        capped = moelab.MixtureOfExperts(n_init=1, random_state=0, max_iter=1).fit(data.X, data.y)
    assert capped.n_iter_ == 1 and not capped.converged_


def test_struct_fields_are_views_and_results_are_owned_arrays():
    data = moelab.Dataset(np.asfortranarray(np.arange(6.0).reshape(3, 2)), np.arange(3.0))
    # Reading a field twice gives views of the same C++ buffer (no copy).
    assert np.shares_memory(data.X, data.X)
    assert data.X.base is not None
    model = moelab.GaussianMoe(moelab.get_preset("softmax-exact").truth)
    X = np.asfortranarray(np.linspace(0, 1, 5).reshape(-1, 1))
    mean = model.conditional_mean(X)
    assert mean.flags.owndata or mean.base is not None  # a NumPy array over the returned buffer
    assert mean.flags.writeable and mean.shape == (5,)
    # Row-major input gives the same numbers as column-major (converted once).
    X2 = np.ascontiguousarray(np.linspace(0, 1, 10).reshape(5, 2))
    model2 = moelab.GaussianMoe(moelab.make_params([0, 0], [[1, 2], [0, 0]], [0, 1], [[1, 0], [0, 1]], [1, 2]))
    np.testing.assert_array_equal(model2.conditional_mean(X2), model2.conditional_mean(np.asfortranarray(X2)))


@pytest.mark.parametrize("name", moelab.preset_names())
def test_every_preset_simulates_and_its_truth_round_trips(name):
    preset = moelab.get_preset(name)
    data = moelab.simulate(name, 50, seed=0)
    assert data.X.shape == (50, preset.truth.dim) and data.labels.shape == (50,)
    assert set(np.unique(data.labels)) <= set(range(preset.truth.num_experts))
    assert moelab.MoeParams.from_json(preset.truth.to_json()).to_json() == preset.truth.to_json()
