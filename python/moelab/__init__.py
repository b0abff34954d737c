"""moelab: statistics of Gaussian mixture-of-experts models, from Python.

    import moelab
    X, y, _ = moelab.simulate("softmax-exact", n=2000, seed=1)
    model = moelab.MixtureOfExperts(n_experts=2, random_state=0).fit(X, y)
    model.predict(X[:5]), model.bic(X, y)
    study = moelab.rate_study(preset="softmax-exact", n_min=200, n_max=2000, n_count=4, replications=4)
    study.slopes

The scikit-learn regressor is MixtureOfExperts; the research helpers
(simulate, voronoi_loss, density_distance, rate_study, load_balance) live in
moelab.research and are re-exported here; the C++ binding itself is
moelab._moelab (its classes, e.g. MoeParams, GaussianMoe, RateStudyConfig,
are re-exported too). Library errors keep their C++ message: invalid input
raises ValueError, anything else RuntimeError.
"""

from . import _moelab
from ._moelab import (BalancerOptions, CovariateDesign, Dataset, DensityDistanceOptions, EmOptions,
                      ExpertParams, FitOptions, FitResult, GateParams, GaussianMoe, LoadBalanceOptions,
                      LoadBalanceSetup, LseCeresOptions, MleNloptOptions, ModelShape, MoeFit, MoeParams,
                      Preset, RateStudyConfig, Rng, SlopeFitOptions, VoronoiLossOptions, fit_em,
                      fit_lse_ceres, fit_mle_nlopt, fit_moe, get_preset, information_criteria,
                      normalise_gauge, num_free_parameters, num_model_parameters, predict,
                      preset_names, read_dataset_csv, read_params_json, select_num_experts,
                      standard_errors, write_params_json)
from .estimator import FitDiagnosticWarning, MixtureOfExperts, SmallSampleWarning
from .research import (POLICIES, LoadBalanceRun, RateStudy, SimulatedData, as_params, balancer,
                       cells_frame, density_distance, load_balance, load_balance_options,
                       make_params, rate_study, rate_study_config, simulate, voronoi_loss)

__version__ = "0.1.0"
