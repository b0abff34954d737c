"""Bit-for-bit agreement between the Python module and the C++ library.

1. reference.cpp runs simulate -> FitMoe (EM and MLE) -> prediction,
   posteriors, standard errors -> metrics in C++ and prints every double as a hex float; the same
   pipeline through moelab must give identical bits (float.fromhex is exact).
2. A small rate study through moelab.rate_study writes a cells.csv that must
   be byte-identical to the softmax-exact binary's for the same flags.
3. A load-balancing run through moelab.load_balance must reproduce the
   load-balance binary's steps.csv (which prints %.10g, so the comparison is
   to 10 significant digits, i.e. relative 5e-10).
"""
import subprocess

import numpy as np
import pandas as pd

import moelab


def read_reference(path):
    out = subprocess.run([path], check=True, capture_output=True, text=True).stdout
    values = {}
    for line in out.splitlines():
        name, *fields = line.split()
        values[name] = fields
    return values


def as_bits(fields):
    return np.array([float.fromhex(f) for f in fields]).view(np.uint64)


def f_bits(array):
    return np.asarray(array, dtype=float).ravel(order="F").view(np.uint64)


def test_pipeline_matches_cpp_bit_for_bit(reference_program):
    ref = read_reference(reference_program)
    preset = moelab.get_preset("softmax-exact")
    data = moelab.simulate(preset, 300, seed=20261203)
    np.testing.assert_array_equal(f_bits(data.X), as_bits(ref["data.X"]))
    np.testing.assert_array_equal(f_bits(data.y), as_bits(ref["data.y"]))
    np.testing.assert_array_equal(f_bits(data.labels.astype(float)), as_bits(ref["data.labels"]))

    shape = moelab._moelab.shape_of(preset.truth)
    data_set = moelab.Dataset(data.X, data.y)
    fits = {}
    for prefix, estimator, starts in (("em", "em", 4), ("mle", "mle", 2)):
        options = moelab.FitOptions()
        options.num_starts, options.seed, options.estimator = starts, 7, estimator
        fit = moelab.fit_moe(data_set, shape, options)
        p = fit.params
        for name, value in (("gate.bias", p.gate.bias), ("gate.slope", p.gate.slope),
                            ("experts.slope", p.experts.slope), ("experts.intercept", p.experts.intercept),
                            ("experts.variance", p.experts.variance), ("log_likelihood", fit.log_likelihood)):
            np.testing.assert_array_equal(f_bits(value), as_bits(ref[f"{prefix}.{name}"]), err_msg=name)
        assert ref[f"{prefix}.iterations"] == [str(fit.result.iterations)]
        assert ref[f"{prefix}.termination"] == [fit.result.termination]
        fits[prefix] = fit

    # The scikit-learn estimator runs the same FitMoe: random_state is the seed.
    model = moelab.MixtureOfExperts(n_experts=2, n_init=4, random_state=7).fit(data.X, data.y)
    np.testing.assert_array_equal(f_bits(model.gate_slope_), as_bits(ref["em.gate.slope"]))
    np.testing.assert_array_equal(f_bits([model.log_likelihood_]), as_bits(ref["em.log_likelihood"]))
    np.testing.assert_array_equal(f_bits([model.bic(data.X, data.y)]), as_bits(ref["em.bic"]))
    np.testing.assert_array_equal(f_bits(model.component_size_), as_bits(ref["em.component_size"]))
    grid = np.linspace(0.0, 1.0, 11).reshape(-1, 1)
    np.testing.assert_array_equal(f_bits(model.predict(grid)), as_bits(ref["predict.mean"]))
    np.testing.assert_array_equal(f_bits(model.predict_variance(grid)), as_bits(ref["predict.variance"]))
    np.testing.assert_array_equal(f_bits(model.gate_probabilities(grid)), as_bits(ref["predict.gate"]))
    np.testing.assert_array_equal(f_bits(model.posterior(data.X, data.y)), as_bits(ref["predict.posteriors"]))
    np.testing.assert_array_equal(f_bits(model.log_density(data.X, data.y)),
                                  as_bits(ref["predict.log_densities"]))
    inference = model.standard_errors(data.X, data.y)
    np.testing.assert_array_equal(f_bits(inference["standard_error"]),
                                  as_bits(ref["inference.standard_errors"]))

    loss = moelab.voronoi_loss(fits["em"], preset, gauge="infimum")
    np.testing.assert_array_equal(f_bits([loss.value]), as_bits(ref["metrics.d1"]))
    h = moelab.density_distance(fits["em"], preset, method="monte-carlo", seed=99)
    np.testing.assert_array_equal(f_bits([h.value]), as_bits(ref["metrics.hellinger"]))


def test_rate_study_cells_match_the_binary_byte_for_byte(bin_dir, tmp_path):
    flags = ["--n-list", "150,300", "--reps", "3", "--seed", "11"]
    subprocess.run([str(bin_dir / "softmax-exact"), *flags, "--threads", "2", "--progress", "false",
                    "--bootstrap", "50", "--out", str(tmp_path / "binary")],
                   check=True, capture_output=True)
    study = moelab.rate_study(preset="softmax-exact", sample_sizes=[150, 300], replications=3, seed=11,
                              threads=1, bootstrap=50, out_dir=tmp_path / "python" / "softmax-exact")
    binary = (tmp_path / "binary" / "softmax-exact" / "cells.csv").read_bytes()
    python = (tmp_path / "python" / "softmax-exact" / "cells.csv").read_bytes()
    assert python == binary
    # The DataFrame is the file's content.
    from_file = pd.read_csv(tmp_path / "binary" / "softmax-exact" / "cells.csv", float_precision="round_trip")
    pd.testing.assert_frame_equal(study.cells.drop(columns="seed"), from_file.drop(columns="seed"),
                                  check_exact=True, check_dtype=False)
    assert [int(s) for s in study.cells["seed"]] == [int(s) for s in from_file["seed"]]
    # The slopes are the binary's (slopes.csv keeps 6 significant digits).
    slopes = pd.read_csv(tmp_path / "binary" / "slopes.csv").set_index("column")
    mine = study.slopes.set_index("column")
    for column in slopes.index:
        np.testing.assert_allclose(mine.loc[column, "slope"], slopes.loc[column, "slope"], rtol=1e-5, atol=1e-12)
        assert mine.loc[column, "verdict"] == slopes.loc[column, "verdict"]


def compare_load_balance_run(binary_dir, run, n_rows):
    """Every column of the binary's steps.csv, in its order, against the
    Python run; the summary's rho, drop rate and dynamic regret likewise."""
    binary = pd.read_csv(binary_dir / "steps.csv")
    assert list(binary.columns) == list(run.steps.columns)
    assert len(run.steps) == len(binary) == n_rows
    assert (run.steps["policy"] == binary["policy"]).all()
    for column in binary.columns[1:]:
        # %.10g in the CSV: 10 significant digits; empty cells are NaN in both.
        np.testing.assert_allclose(run.steps[column].to_numpy(float), binary[column].to_numpy(float),
                                   rtol=5e-10, atol=0, equal_nan=True, err_msg=column)
    summary = pd.read_csv(binary_dir / "summary.csv").set_index("policy")
    for _, row in run.summary.iterrows():
        for mine, theirs in [("rho", "rho"), ("final_drop_rate", "final_drop_rate"),
                             ("dynamic_regret", "dynamic_regret")]:
            np.testing.assert_allclose(row[mine], summary.loc[row["policy"], theirs], rtol=5e-10,
                                       equal_nan=True, err_msg=mine)
    return binary


def test_load_balance_steps_match_the_binary(bin_dir, tmp_path):
    policies = ["none", "alf-const", "alf-inv", "aux-global"]
    subprocess.run([str(bin_dir / "load-balance"), "--quick", "--steps", "200", "--seed", "5",
                    "--policies", ",".join(policies), "--out", str(tmp_path)], check=True, capture_output=True)
    run = moelab.load_balance(policies=policies, steps=200, seed=5)
    binary = compare_load_balance_run(tmp_path, run, 200 * len(policies))
    # The capacity columns are on at the binary's default factor 1.25: real
    # numbers, not NaN in both.
    for column in ["drop_rate", "dropped_tokens", "ec_unrouted"]:
        assert binary[column].notna().all(), column


def test_load_balance_dynamic_regret_matches_the_binary(bin_dir, tmp_path):
    # A drifting stream with the dynamic regret every 20 steps: the two
    # dynamic-regret columns hold numbers on the evaluated steps.
    policies = ["none", "alf-const"]
    flags = ["--quick", "--steps", "100", "--seed", "3", "--drift", "0.002", "--dynamic-every", "20",
             "--dynamic-tokens", "256", "--regret", "none"]
    subprocess.run([str(bin_dir / "load-balance"), *flags, "--policies", ",".join(policies), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    run = moelab.load_balance(policies=policies, steps=100, seed=3, drift=0.002, dynamic_every=20,
                              dynamic_tokens=256, regret="none")
    binary = compare_load_balance_run(tmp_path, run, 100 * len(policies))
    assert binary["dynamic_increment"].notna().sum() == 5 * len(policies)
    assert binary["cumulative_dynamic_regret"].notna().all()
    assert (binary["cumulative_dynamic_regret"] > 0).any()
