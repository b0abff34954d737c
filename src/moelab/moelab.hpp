// moelab umbrella header: everything a user needs for the README examples.
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
