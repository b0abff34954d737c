"""The research helpers: simulation, distances, rate studies and
load balancing, checked against facts that do not come from the code under
test (zero distance to itself, label frequencies, thread invariance, what
balancing must do to MaxVio)."""
import math

import numpy as np
import pytest

import moelab


def test_simulated_labels_follow_the_gate():
    preset = moelab.get_preset("softmax-exact")
    data = moelab.simulate(preset, 20000, seed=8)
    g = moelab.GaussianMoe(preset.truth).gate_log_weights(data.X)
    expected = np.exp(g)[:, 0].mean()
    share = (data.labels == 0).mean()
    # Binomial standard error sqrt(p (1 - p) / n) <= 0.0036; 5 of them.
    assert abs(share - expected) < 5 * math.sqrt(expected * (1 - expected) / 20000)


def test_simulate_from_parameters_needs_a_design_and_matches_the_preset():
    preset = moelab.get_preset("softmax-exact")
    with pytest.raises(ValueError, match="design is required"):
        moelab.simulate(preset.truth, 10, seed=1)
    a = moelab.simulate(preset.truth, 100, seed=1, design=preset.design)
    b = moelab.simulate("softmax-exact", 100, seed=1)
    np.testing.assert_array_equal(a.y, b.y)


def test_distances_vanish_at_the_truth_and_grow_away_from_it():
    truth = moelab.get_preset("softmax-exact").truth
    assert moelab.voronoi_loss(truth, "softmax-exact").value == 0.0
    assert moelab.density_distance(truth, "softmax-exact").value < 1e-12
    moved = moelab.make_params([-8, 0], [[25], [0]], [15.5, -5], [[-20], [20]], [0.09, 0.16])
    # Only the first expert's intercept moved by 0.5: D1 = weight_1 * 0.5
    # with weight_1 = exp(-8) in the reference gauge.
    loss = moelab.voronoi_loss(moved, truth, gauge="reference")
    assert math.isclose(loss.value, math.exp(-8) * 0.5, rel_tol=1e-12)
    h = moelab.density_distance(moved, "softmax-exact")
    tv = moelab.density_distance(moved, "softmax-exact", kind="tv")
    # Hellinger <= TV <= sqrt(2) Hellinger (pointwise, hence for E_X).
    assert 0 < h.value <= tv.value + 1e-9 and tv.value <= math.sqrt(2) * h.value + 1e-9


@pytest.fixture(scope="module")
def small_study():
    return moelab.rate_study(preset="softmax-exact", n_min=200, n_max=1600, n_count=4, replications=4,
                             threads=2, bootstrap=200)


def test_rate_study_cells_and_slopes(small_study):
    cells, slopes = small_study.cells, small_study.slopes
    assert len(cells) == 4 * 4 and list(cells["n"].unique()) == [200, 400, 800, 1600]
    assert {"loss_d1", "hellinger", "status"} <= set(cells.columns)
    assert (cells["status"] == "converged").all()
    row = slopes.set_index("column").loc["loss_d1"]
    assert row["theory_slope"] == -0.5 and row["ci_lower"] <= row["slope"] <= row["ci_upper"]
    # Slope recomputed from the DataFrame: OLS of log mean on log n.
    means = cells.groupby("n")["loss_d1"].mean()
    slope = np.polyfit(np.log(means.index.to_numpy(float)), np.log(means.to_numpy()), 1)[0]
    assert math.isclose(slope, row["slope"], rel_tol=1e-9)


def test_rate_study_does_not_depend_on_threads(small_study):
    again = moelab.rate_study(small_study.config, threads=1, bootstrap=200)
    assert again.cells.equals(small_study.cells)


def test_one_cell_is_the_studys_cell(small_study):
    record = moelab._moelab.run_cell(small_study.config, 400, 2)
    row = small_study.cells[(small_study.cells["n"] == 400) & (small_study.cells["replication"] == 2)]
    np.testing.assert_array_equal(np.array(record.values), row.iloc[0, 4:].to_numpy(float))


def test_rate_plot_draws_theory_and_fit(small_study):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    small_study.plot("loss_d1", ax=ax)
    labels = [line.get_label() for line in ax.get_lines()]
    assert any(label.startswith("theory n^-1/2") for label in labels)
    assert any(label.startswith("fit n^") for label in labels)
    plt.close(fig)


def test_load_balancing_reduces_maxvio():
    run = moelab.load_balance(policies=["none", "alf-const", "alf-inv"], steps=400, seed=3)
    assert len(run.steps) == 3 * 400
    assert run.loads["none"].shape == (400, 8) and run.bias["alf-const"].shape == (400, 8)
    # Every token goes to K = 2 experts: loads sum to B K per step.
    np.testing.assert_array_equal(run.loads["none"].sum(axis=1), 128 * 2)
    # No balancing: the bias stays 0. ALF-LB moves it and cuts the final
    # MaxVio well below the unbalanced router's (at this seed: by a factor
    # of more than 2; the sampling floor is far below the unbalanced level).
    assert (run.bias["none"] == 0).all() and (run.bias["alf-const"][-1] != 0).any()
    final = run.summary.set_index("policy")["final_maxvio_batch"]
    assert final["alf-inv"] < 0.5 * final["none"]
    assert final["alf-const"] < final["none"]
