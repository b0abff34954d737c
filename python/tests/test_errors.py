"""Bad input raises a Python exception carrying the library's message:
std::invalid_argument becomes ValueError."""
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import moelab


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="unknown preset 'nope'.*softmax-exact"):
        moelab.get_preset("nope")
    g = moelab.GateParams()
    with pytest.raises(ValueError, match=r"GateParams.kind: unknown name 'soft' \(valid: softmax, topk"):
        g.kind = "soft"
    with pytest.raises(ValueError, match="unknown policy 'alf'"):
        moelab.balancer("alf")


def test_invalid_parameters_name_the_field():
    with pytest.raises(ValueError, match="variance"):
        moelab.make_params([0, 0], [[1], [0]], [0, 0], [[1], [1]], [1.0, -1.0])
    with pytest.raises(ValueError, match="temperature"):
        moelab.make_params([0, 0], [[1], [0]], [0, 0], [[1], [1]], [1, 1], gate="temperature", temperature=0)


def test_nan_data_names_row_and_column():
    X = np.zeros((5, 2))
    X[3, 1] = np.nan
    # The library's message, unchanged: X(row, column) with 0-based indices.
    with pytest.raises(ValueError, match=r"^Dataset::Validate: X\(3, 1\) must be finite, got nan$"):
        moelab.Dataset(X, np.zeros(5))


def test_too_few_samples_for_a_direct_fit():
    truth = moelab.get_preset("softmax-exact").truth
    # y varies: constant y is refused for another reason (no maximum exists).
    data = moelab.Dataset(np.linspace(0, 1, 5).reshape(-1, 1), np.linspace(0, 1, 5) ** 2)
    with pytest.raises(ValueError, match="free parameters"):
        moelab.fit_em(data, truth)


def test_bad_options_raise_before_work():
    options = moelab.EmOptions()
    options.max_iterations = 0
    with pytest.raises(ValueError, match="max_iterations"):
        options.validate()
    with pytest.raises(ValueError, match="sample_sizes|grid"):
        moelab.rate_study_config(sample_sizes=[100, 50])
    with pytest.raises(ValueError, match="num_starts"):
        o = moelab.FitOptions()
        o.num_starts = -1
        moelab.fit_moe(moelab.Dataset(np.zeros((20, 1)), np.arange(20.0)), moelab.ModelShape(), o)


def test_missing_files_name_the_file(tmp_path):
    missing = str(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="missing.csv"):
        moelab.read_dataset_csv(missing)
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,y\n1,2\n3,oops\n")
    with pytest.raises(ValueError, match=r"bad.csv:3, column 'y': 'oops' is not a number"):
        moelab.read_dataset_csv(str(bad))


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_experts=0), "n_experts must be an integer >= 1"),
    (dict(gate="sparse"), "gate must be one of"),
    (dict(gate="topk"), "needs top_k"),
    (dict(gate="topk", top_k=3, n_experts=2), "exceeds n_experts"),
    (dict(top_k=1), "only used by gate='topk'"),
    (dict(n_init=0), "n_init must be an integer >= 1"),
    (dict(tol=-1.0), "tol must be a number >= 0"),
    (dict(max_iter=0), "max_iter must be an integer >= 1"),
    (dict(estimator="sgd"), "estimator must be one of"),
    (dict(random_state=-3), "random_state must be >= 0"),
    (dict(min_prior=1.0), r"min_prior must be in \[0, 1\)"),
    (dict(n_jobs=0), "n_jobs must be an integer >= 1"),
])
def test_estimator_rejects_bad_settings_at_fit(kwargs, message):
    X = np.random.default_rng(0).uniform(size=(50, 1))
    with pytest.raises(ValueError, match=message):
        moelab.MixtureOfExperts(**kwargs).fit(X, X[:, 0])


def test_estimator_input_errors():
    model = moelab.MixtureOfExperts(random_state=0)
    X = np.random.default_rng(0).uniform(size=(60, 2))
    with pytest.raises(NotFittedError):
        model.predict(X)
    model.fit(X, X[:, 0] + X[:, 1])
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.log_density(X, np.full(60, np.nan))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.posterior(X, np.zeros(5))


def test_other_library_errors_become_runtime_error_with_their_message(tmp_path):
    # std::runtime_error (here: a file that cannot be written) is not a
    # ValueError: it surfaces as RuntimeError, message unchanged.
    path = str(tmp_path / "no-such-folder" / "truth.json")
    with pytest.raises(RuntimeError, match=r"^cannot open '.*no-such-folder/truth.json' for writing$"):
        moelab.write_params_json(moelab.get_preset("softmax-exact").truth, path)


def test_an_unknown_simd_level_fails_the_import_with_its_message():
    # MOELAB_SIMD caps the kernels' SIMD level (README "Performance"); a
    # value it does not know stops the import rather than every fit later.
    env = dict(os.environ, MOELAB_SIMD="sse4")
    bad = subprocess.run([sys.executable, "-c", "import moelab"], env=env,
                         capture_output=True, text=True)
    assert bad.returncode != 0
    assert "ImportError" in bad.stderr
    assert "MOELAB_SIMD=sse4: expected portable, avx2 or avx512" in bad.stderr
    env["MOELAB_SIMD"] = "portable"
    good = subprocess.run([sys.executable, "-c", "import moelab"], env=env,
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
