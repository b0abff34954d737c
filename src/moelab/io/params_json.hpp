// MoeParams to and from a human-editable JSON file:
//
// {
//   "gate": {"kind": "softmax" | "topk" | "temperature" | "activation",
//            "bias": [b0_1, ...],                 // beta0, length k
//            "slope": [[b1_11, ...], ...],        // beta1, k rows of d
//            "temperature": 1.0,                  // tau (temperature/activation)
//            "top_k": 2, "ranking": "slope" | "logit",   // top-K only
//            "activation": "tanh" | "sigmoid" | "identity"},
//   "experts": {"intercept": [...], "slope": [[...], ...],
//               "variance": [...]}               // VARIANCES, not std
// }
//
// Optional gate fields take the defaults of GateParams. The result is
// validated; errors name the file and the field.
#pragma once

#include <string>

#include "moelab/model/moe_params.hpp"

namespace moelab {

std::string ParamsToJson(const MoeParams& params);
// `source` names the origin in error messages (a path or "<string>").
MoeParams ParamsFromJson(const std::string& text, const std::string& source = "<string>");

void WriteParamsJson(const MoeParams& params, const std::string& path);
MoeParams ReadParamsJson(const std::string& path);

}  // namespace moelab
