// Information criteria for choosing the number of experts k.
//
// For a fitted model with maximised log-likelihood l, p free parameters
// (gauge-fixed) and n samples:
//
//   AIC = -2 l + 2 p
//   BIC = -2 l + p log n                     (Schwarz 1978)
//   ICL = BIC + 2 EN,  EN = -sum_n sum_i r_ni log r_ni
//                                            (Biernacki, Celeux & Govaert 2000:
//                                             BIC penalised by the entropy of
//                                             the soft classification)
//
// Smaller is better for all three.
#pragma once

#include <string>

#include "moelab/core/dataset.hpp"
#include "moelab/model/moe_params.hpp"

namespace moelab {

struct InformationCriteria {
  double log_likelihood = 0.0;
  Index num_parameters = 0;
  double entropy = 0.0;  // EN, >= 0
  double aic = 0.0;
  double bic = 0.0;
  double icl = 0.0;
};

// Throws std::invalid_argument on invalid data/parameters or
// num_parameters < 1.
InformationCriteria ComputeInformationCriteria(const Dataset& data, const MoeParams& params,
                                               Index num_parameters);

// Which ICL. kSoftEntropy is the definition above (the entropy of the soft
// classification, McLachlan & Peel 2000 §6.10.3; moelab's default). Software
// like R's flexmix and mclust uses the hard classification instead: with
// z_n = argmax_i r_ni (the MAP label),
//
//   ICL_hard = BIC - 2 sum_n log r_{n z_n}        (Biernacki, Celeux & Govaert 2000)
//
// Since -log r_{n z_n} <= -sum_i r_ni log r_ni, ICL_hard <= ICL_soft: the
// soft version penalises overlapping experts more.
enum class IclKind { kSoftEntropy, kHardClassification };

const char* ToString(IclKind kind);          // "soft", "hard"
IclKind ParseIclKind(const std::string& name);  // throws listing the valid names

// As above with the ICL of `kind`: `entropy` then holds the penalty used
// (-sum r log r for soft, -sum_n log r_{n z_n} for hard) and icl = bic + 2 entropy.
InformationCriteria ComputeInformationCriteria(const Dataset& data, const MoeParams& params,
                                               Index num_parameters, IclKind kind);

}  // namespace moelab
