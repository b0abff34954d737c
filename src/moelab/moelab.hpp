// moelab umbrella header: everything a user needs for the README example and
// for every piece of the README's "Estimators and metrics" table. Rate
// studies (rates/), routing (routing/), plots and the generic CSV reader (io/) are
// included one header at a time.
#pragma once

#include "moelab/core/dataset.hpp"
#include "moelab/core/rng.hpp"
#include "moelab/core/termination.hpp"
#include "moelab/core/types.hpp"
#include "moelab/io/dataset_csv.hpp"
#include "moelab/io/params_json.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/model/model_shape.hpp"
#include "moelab/model/moe_params.hpp"
#include "moelab/simulation/design.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "moelab/estimators/fit_result.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/accelerated_em.hpp"
#include "moelab/estimators/certificate.hpp"
#include "moelab/estimators/certified_fit.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/lse_ceres.hpp"
#include "moelab/estimators/mle_nlopt.hpp"
#include "moelab/estimators/model_selection.hpp"
#include "moelab/estimators/restarts.hpp"
#include "moelab/metrics/density_distance.hpp"
#include "moelab/metrics/parameter_errors.hpp"
#include "moelab/metrics/topk_cardinality.hpp"
#include "moelab/metrics/voronoi_loss.hpp"
