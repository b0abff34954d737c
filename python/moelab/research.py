"""The research side of moelab in Python: simulation from presets or
parameters, distances between a fit and a truth, rate studies with their
cells as a pandas DataFrame, and load-balancing runs with their per-step
table. Every function forwards to the C++ library (moelab._moelab); nothing
is re-implemented here except turning results into DataFrames.
"""

import collections
import math
import os
import tempfile

import numpy as np

from . import _moelab

SimulatedData = collections.namedtuple("SimulatedData", ["X", "y", "labels"])


# ---- parameters ----------------------------------------------------------

def make_params(gate_bias, gate_slope, expert_intercept, expert_slope, expert_variance,
                gate="softmax", temperature=1.0, top_k=0, ranking="slope", activation="tanh"):
    """A validated moelab.MoeParams from arrays: gate bias (k), gate slope
    (k x d), expert intercept (k), expert slope (k x d), expert variance (k;
    the variance, not the standard deviation)."""
    g = _moelab.GateParams()
    g.kind = gate
    g.bias = np.asarray(gate_bias, float)
    g.slope = np.atleast_2d(np.asarray(gate_slope, float))
    g.temperature = float(temperature)
    g.top_k = int(top_k)
    g.ranking = ranking
    g.activation = activation
    e = _moelab.ExpertParams()
    e.intercept = np.asarray(expert_intercept, float)
    e.slope = np.atleast_2d(np.asarray(expert_slope, float))
    e.variance = np.asarray(expert_variance, float)
    return _moelab.MoeParams(g, e)


def as_params(model):
    """MoeParams of a preset name, a Preset, a fitted MixtureOfExperts, a
    MoeFit, a FitResult or a MoeParams."""
    if isinstance(model, str):
        return _moelab.get_preset(model).truth
    if isinstance(model, _moelab.Preset):
        return model.truth
    if isinstance(model, _moelab.MoeParams):
        return model
    if isinstance(model, (_moelab.FitResult, _moelab.MoeFit)):
        return model.params
    params = getattr(model, "params_", None)
    if isinstance(params, _moelab.MoeParams):
        return params
    raise TypeError(f"expected a preset name, Preset, MoeParams, MoeFit, FitResult or fitted "
                    f"MixtureOfExperts, got {type(model).__name__}")


def _design(truth, design):
    if design is not None:
        return design
    if isinstance(truth, str):
        return _moelab.get_preset(truth).design
    if isinstance(truth, _moelab.Preset):
        return truth.design
    raise ValueError("design is required when the truth is not a preset "
                     "(e.g. moelab.CovariateDesign('uniform', dim=1, lower=0, upper=1))")


# ---- simulation ------------------------------------------------------------

def simulate(truth, n, seed, design=None):
    """n samples from a preset (name or Preset) or from parameters (MoeParams
    or a fitted model; then `design` is required). Same seed, same data as
    the C++ Simulate(truth, design, n, Rng(seed)). Returns SimulatedData(X,
    y, labels) with 0-based expert labels."""
    data = _moelab.simulate(as_params(truth), _design(truth, design), int(n), _moelab.Rng(int(seed)))
    return SimulatedData(data.X, data.y, data.labels)


# ---- distances between a fit and a truth ----------------------------------

def voronoi_loss(fitted, truth, kind="auto", gauge="infimum", norm="l1", temperature="ratio"):
    """Voronoi loss D1 (k = k*) or D2 (k > k*) of a fit against a truth
    (moelab.VoronoiLossResult: value, weight_term, cells, per-parameter
    errors). The default gauge is the translation infimum, which does not
    depend on the fit's expert labels; "reference" is the rate studies'
    default (the [Demyst] convention)."""
    options = _moelab.VoronoiLossOptions()
    options.kind, options.gauge, options.norm, options.temperature = kind, gauge, norm, temperature
    return _moelab.voronoi_loss(as_params(truth), as_params(fitted), options)


def density_distance(fitted, truth, kind="hellinger", design=None, method="midpoint-grid",
                     grid_points=999, seed=0):
    """E_X of the conditional Hellinger ("hellinger") or total-variation
    ("tv") distance between a fit and a truth, with its error estimate
    (moelab.DensityDistance). `method` "midpoint-grid" (d = 1,
    deterministic) or "monte-carlo" (draws from Rng(seed))."""
    options = _moelab.DensityDistanceOptions()
    options.x_integration = method
    options.grid_points = int(grid_points)
    return _moelab.expected_density_distance(kind, as_params(fitted), as_params(truth),
                                             _design(truth, design), _moelab.Rng(int(seed)), options)


# ---- rate studies --------------------------------------------------------

def rate_study_config(preset="softmax-exact", sample_sizes=None, n_min=100, n_max=10000, n_count=7,
                      replications=8, k=None, gate=None, top_k=None, estimator="em", init="near-truth",
                      starts=1, max_iter=2000, tol=1e-6, seed=2023, gauge="reference", fit_temperature=False,
                      temperature_loss="ratio", name=None):
    """A validated moelab.RateStudyConfig built exactly as the study binaries
    build theirs from the same flags (softmax-exact --n-min ... --reps ...):
    the preset's truth and design, k (default: the preset's fitted k),
    EM with relative tolerance `tol` and `max_iter` iterations (NLopt gets
    5 max_iter evaluations, Ceres max_iter iterations), `starts` starts of
    strategy `init`, a log-spaced grid (or explicit `sample_sizes`);
    `fit_temperature` also fits tau (temperature/activation gates) and
    `temperature_loss` ("ratio" or "raw") is how temperature-gate atoms enter
    the loss."""
    p = _moelab.get_preset(preset)
    c = _moelab.RateStudyConfig()
    c.name = name or preset
    c.truth = p.truth
    c.design = p.design
    shape = _moelab.shape_of(p.truth)
    shape.num_experts = int(k) if k else p.fitted_experts
    if gate:
        shape.gate = gate
    if shape.gate == "topk":
        shape.top_k = int(top_k) if top_k else (p.fitted_top_k if p.fitted_top_k > 0 else p.truth.gate.top_k)
    else:
        shape.top_k = 0
    c.fitted = shape
    c.estimator = estimator
    c.em.max_iterations = int(max_iter)
    c.em.relative_tolerance = float(tol)
    c.em.num_threads = 1
    c.em.fit_temperature = bool(fit_temperature)
    c.mle.fit_temperature = bool(fit_temperature)
    c.mle.max_evaluations = int(max_iter) * 5
    c.lse.max_iterations = int(max_iter)
    c.init = init
    c.num_starts = int(starts)
    if sample_sizes is None:
        sample_sizes = _moelab.log_spaced_grid(int(n_min), int(n_max), int(n_count))
    c.sample_sizes = [int(n) for n in sample_sizes]
    c.replications = int(replications)
    c.base_seed = int(seed)
    c.loss.gauge = gauge
    c.loss.temperature = temperature_loss
    c.validate()
    return c


class RateStudy:
    """A finished rate study: `cells` (DataFrame: n, replication, seed,
    status and one column per metric, as cells.csv), `slopes` (DataFrame:
    measured slope with bootstrap interval, median slope, theory, verdict per
    metric), `slope_rows` (the C++ SlopeRow objects, with the per-n means and
    their bootstrap bands), `config`, `folder` (None when it ran in a
    temporary folder)."""

    def __init__(self, config, cells, slope_rows, folder, seconds):
        self.config, self.cells, self.slope_rows, self.folder = config, cells, slope_rows, folder
        self.seconds = seconds
        self.slopes = _slopes_frame(slope_rows)

    def plot(self, column, ax=None):
        """Log-log rate plot of one metric: mean per n with its bootstrap
        band, median, the fitted line and the theory line drawn through the
        fit's centre (as the binaries' plots)."""
        import matplotlib.pyplot as plt
        row = next((r for r in self.slope_rows if r.column == column), None)
        if row is None:
            raise ValueError(f"no slope for column {column!r} (columns: "
                             f"{[r.column for r in self.slope_rows]})")
        ax = ax or plt.gca()
        fit = row.fit
        n = np.asarray(fit.used_n)
        mean = np.asarray(fit.used_mean)
        err = np.vstack([mean - np.asarray(fit.mean_lower), np.asarray(fit.mean_upper) - mean])
        ax.errorbar(n, mean, yerr=err, fmt="s", capsize=3, label="mean (95 % bootstrap)")
        ax.plot(n, fit.used_median, "o", mfc="none", label="median")
        line = np.exp(fit.mean.intercept) * n ** fit.mean.slope
        ax.plot(n, line, "-", label=f"fit n^{fit.mean.slope:.3f} [{fit.ci_lower:.2f}, {fit.ci_upper:.2f}]")
        if row.theory.kind == "polynomial":
            centre = math.exp(np.log(n).mean())
            level = math.exp(fit.mean.intercept) * centre ** fit.mean.slope
            ax.plot(n, level * (n / centre) ** row.theory.slope, "--", label=f"theory {row.theory.text}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n")
        ax.set_title(f"{self.config.name}: {column} ({row.verdict})")
        ax.legend(fontsize=8)
        return ax


def _slopes_frame(rows):
    import pandas as pd
    return pd.DataFrame([dict(study=r.study, column=r.column, slope=r.fit.mean.slope,
                              ci_lower=r.fit.ci_lower, ci_upper=r.fit.ci_upper,
                              median_slope=r.fit.median.slope, theory=r.theory.text,
                              theory_slope=(r.theory.slope if r.theory.kind == "polynomial" else math.nan),
                              num_points=r.fit.num_points, verdict=r.verdict, ok=r.fit.ok,
                              message=r.fit.message) for r in rows])


def cells_frame(records, value_columns):
    """Cell records as a DataFrame with the columns of cells.csv."""
    import pandas as pd
    frame = pd.DataFrame({"n": [r.n for r in records], "replication": [r.replication for r in records],
                          "seed": np.array([r.seed for r in records], dtype=np.uint64),
                          "status": [r.status for r in records]})
    values = np.array([r.values for r in records], dtype=float).reshape(len(records), len(value_columns))
    for j, column in enumerate(value_columns):
        frame[column] = values[:, j]
    return frame


def rate_study(config=None, out_dir=None, threads=0, bootstrap=1000, trim=0, **kwargs):
    """Runs a rate study (cells in parallel on `threads` cores, 0 = all; the
    GIL is released) and fits its slopes. `config` is a RateStudyConfig, or
    None to build one from `kwargs` (see rate_study_config). Results are the
    same bits as the study binaries' cells.csv for the same settings and do
    not depend on `threads`. With `out_dir` the study's files (cells.csv,
    cells.log, ...) are kept there and a killed run resumes; otherwise it runs
    in a temporary folder."""
    if config is None:
        config = rate_study_config(**kwargs)
    elif kwargs:
        raise TypeError(f"pass either config or keyword settings, not both ({sorted(kwargs)})")
    options = _moelab.SlopeFitOptions()
    options.bootstrap_samples = int(bootstrap)
    options.trim_smallest = int(trim)

    def run(folder):
        result = _moelab.run_rate_study(config, folder, int(threads))
        if not result.run.complete:
            raise RuntimeError(f"rate study {config.name!r} stopped before every cell was done")
        columns = config.value_columns()
        rows = _moelab.fit_study_slopes(config.name, config.setting(), columns, result.records, options)
        return RateStudy(config, cells_frame(result.records, columns), rows,
                         folder if out_dir else None, result.run.seconds)

    if out_dir:
        return run(os.fspath(out_dir))
    with tempfile.TemporaryDirectory(prefix="moelab-study-") as folder:
        return run(os.path.join(folder, config.name))


# ---- load balancing -------------------------------------------------------

POLICIES = ("none", "alf-const", "alf-const-micro", "alf-lin-const", "alf-inv", "alf-isqrt",
            "alf-sign-inv", "alf-sign-isqrt", "aux-micro", "aux-seq", "aux-global")


def balancer(policy, setup=None, alf_rate=1e-3, inv_c0=0.0, isqrt_c0=0.0, sign_inv_c0=0.0,
             aux_coeff=1e-2, aux_lr=1.0):
    """moelab.BalancerOptions of a named policy, with the defaults of the
    load-balance binary's --policies (name@value sets the rate / constant /
    coefficient; c0 = 0 means: 1/mu_sc of the setup's Gumbel pool when known,
    else E / (B K); isqrt-c0 0 = inv-c0; sign-inv-c0 0 = 100 alf-rate)."""
    name, _, value = policy.partition("@")
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r} (valid: {', '.join(POLICIES)}; append @value "
                         f"to set the rate/constant/coefficient)")
    value = float(value) if value else None
    needs_c0 = name == "alf-inv" or (name == "alf-isqrt" and not isqrt_c0)
    if value is None and inv_c0 == 0.0 and needs_c0:
        if setup is None:
            raise ValueError(f"policy {policy!r}: pass the LoadBalanceSetup to resolve its default c0")
        o = setup.options
        inv_c0 = (1.0 / setup.strong_convexity if setup.strong_convexity > 0
                  else o.stream.num_experts / (o.stream.batch_size * o.router.top_k))
    isqrt_c0 = isqrt_c0 or inv_c0
    sign_inv_c0 = sign_inv_c0 or 100.0 * alf_rate
    b = _moelab.BalancerOptions()
    dual = {"alf-const": ("sign", "const", alf_rate), "alf-const-micro": ("sign", "const", alf_rate),
            "alf-lin-const": ("linear", "const", alf_rate), "alf-inv": ("linear", "inv", inv_c0),
            "alf-isqrt": ("linear", "isqrt", isqrt_c0), "alf-sign-inv": ("sign", "inv", sign_inv_c0),
            "alf-sign-isqrt": ("sign", "isqrt", sign_inv_c0)}
    if name == "none":
        pass
    elif name in dual:
        b.kind = "dual-subgradient"
        b.update, b.schedule, rate = dual[name]
        b.rate = value if value is not None else rate
        b.per_microbatch = name == "alf-const-micro"
    else:  # aux-micro, aux-seq, aux-global
        b.kind = "aux-loss"
        b.level = {"aux-micro": "micro", "aux-seq": "sequence", "aux-global": "global"}[name]
        b.aux_coeff = value if value is not None else aux_coeff
        b.aux_learning_rate = aux_lr
    b.validate()
    return b


class LoadBalanceRun:
    """Policies run on one token stream: `steps` (DataFrame, one row per
    policy and step: MaxVio, imbalance, dual objective, regret, ...),
    `loads` and `bias` (dict policy -> steps x experts arrays), `summary`
    (DataFrame per policy: final MaxVio, R(T), R(2T), R(4T) with T = steps/4,
    the doubling ratio rho, final drop rate, dynamic regret R^dyn_T, seconds),
    `setup` (stream, regret reference)."""

    def __init__(self, setup, steps, loads, bias, summary):
        self.setup, self.steps, self.loads, self.bias, self.summary = setup, steps, loads, bias, summary


def load_balance_options(experts=8, top_k=2, batch=128, microbatches=1, steps=800, seed=1,
                         score="sigmoid", gumbel=0.0, design="normal", dim=4, pool=0,
                         offset_scale=1.0, slope_scale=1.0, router="topk", groups=1,
                         eval_tokens=1024, eval_every=10, regret="auto", held_out=2048,
                         capacity_factor=1.25, drift=0.0, dynamic_every=0, dynamic_tokens=2048):
    """moelab.LoadBalanceOptions with the load-balance binary's flag names
    and its --quick defaults (800 steps, 1024 evaluation tokens, 2048
    held-out tokens, capacity factor 1.25 for the drop-rate columns;
    dynamic_every > 0 with drift > 0 adds the dynamic-regret columns)."""
    o = _moelab.LoadBalanceOptions()
    s = o.stream
    s.num_experts = int(experts)
    s.design = _moelab.CovariateDesign(design, int(dim), -1.0, 1.0)
    s.score_function = score
    s.gumbel_scale = float(gumbel)
    s.pool_size = int(pool)
    s.offset_scale = float(offset_scale)
    s.slope_scale = float(slope_scale)
    s.batch_size = int(batch)
    s.num_microbatches = int(microbatches)
    s.drift_per_step = float(drift)
    o.stream = s
    r = o.router
    r.kind = router
    r.top_k = int(top_k)
    r.num_groups = int(groups)
    o.router = r
    o.num_steps = int(steps)
    o.seed = int(seed)
    o.eval_tokens = int(eval_tokens)
    o.eval_every = int(eval_every)
    g = o.regret
    g.kind = regret
    g.held_out_tokens = int(held_out)
    o.regret = g
    o.capacity_factor = float(capacity_factor)
    d = o.dynamic
    d.every = int(dynamic_every)
    d.held_out_tokens = int(dynamic_tokens)
    o.dynamic = d
    o.validate()
    return o


def load_balance(policies=("none", "alf-const", "alf-inv", "alf-isqrt"), options=None, **kwargs):
    """Runs each policy on the same token stream (same seeds) and returns a
    LoadBalanceRun. `options` is a LoadBalanceOptions, or None to build one
    from `kwargs` (see load_balance_options). A policy is a name (see
    `balancer`) or a (label, BalancerOptions) pair."""
    import pandas as pd
    if options is None:
        options = load_balance_options(**kwargs)
    elif kwargs:
        raise TypeError(f"pass either options or keyword settings, not both ({sorted(kwargs)})")
    setup = _moelab.LoadBalanceSetup(options)
    frames, loads, bias, summary = [], {}, {}, []
    T = options.num_steps // 4
    for policy in policies:
        label, b = (policy, balancer(policy, setup)) if isinstance(policy, str) else policy
        result, table, policy_loads, policy_bias = _moelab.run_load_balance(setup, b, label)
        frame = pd.DataFrame(table)
        frame.insert(0, "policy", label)
        frames.append(frame)
        loads[label], bias[label] = policy_loads, policy_bias
        regret = result.cumulative_regret
        r = [regret[m * T - 1] if regret and T >= 1 else math.nan for m in (1, 2, 4)]
        rho = _moelab.doubling_ratio(*r) if regret and T >= 1 else math.nan
        summary.append(dict(policy=label, final_maxvio_batch=result.final_maxvio_batch,
                            final_maxvio_global=result.final_maxvio_global, R_T=r[0], R_2T=r[1],
                            R_4T=r[2], T=T, rho=rho, final_drop_rate=result.final_drop_rate,
                            dynamic_regret=(result.cumulative_dynamic_regret[-1]
                                            if result.cumulative_dynamic_regret else math.nan),
                            seconds=result.seconds))
    return LoadBalanceRun(setup, pd.concat(frames, ignore_index=True), loads, bias,
                          pd.DataFrame(summary))
