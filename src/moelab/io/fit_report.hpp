// Readable and tidy outputs of a fitted mixture of experts: the summary in
// the spirit of flexmix's summary() / refit(), the model-selection table as
// text, and CSV files of standard errors, posteriors and predictions.
#pragma once

#include <string>
#include <vector>

#include "moelab/core/dataset.hpp"
#include "moelab/estimators/fit_moe.hpp"
#include "moelab/estimators/prediction.hpp"
#include "moelab/estimators/select_num_experts.hpp"
#include "moelab/estimators/standard_errors.hpp"

namespace moelab {

// Names of the covariates and the response, for printing ("x1".."xd", "y"
// when a file gave none).
struct VariableNames {
  std::vector<std::string> x;
  std::string y = "y";

  static VariableNames Default(Index dim);
};

// Several lines: the shape and estimator, termination, log-likelihood,
// parameter count, AIC / BIC / ICL; the components (prior = mean gate
// weight, size = number of MAP labels, effective size sum_n r_ni); per
// expert the coefficients (intercept, slopes, variance) and per non-reference
// expert the gate coefficients, each with estimate, standard error, z value
// and interval (or the reason why there is none); and the warnings.
// `standard_errors` may be null (no inference asked for).
std::string FormatFitSummary(const Dataset& data, const MoeFit& fit,
                             const StandardErrorReport* standard_errors,
                             const VariableNames& names);

// The model-selection table as aligned text, one row per shape (skipped rows
// with their reason), then the k chosen by each criterion.
std::string FormatSelectionTable(const ModelSelectionTable& table);

// The table as CSV: one row per shape with the columns
// gate,k,top_k,status,loglik,num_parameters,aic,bic,icl,icl_soft,icl_hard,
// termination,iterations,warnings,reason
// (status: "fitted", "unusable" or "skipped"; empty numbers when not fitted;
// warnings: the warning kinds joined by ';'). 17 significant digits.
std::string ModelSelectionCsv(const ModelSelectionTable& table);

// CSV: name,estimate,standard_error,lower,upper,z,available,reason
// (17 significant digits; empty numbers when not available).
std::string StandardErrorsCsv(const StandardErrorReport& report);

// CSV: line,<x names>,<y name>,posterior_0..posterior_{k-1},map_label
// (`lines` are the file lines of the rows, same length as data.size()).
std::string PosteriorsCsv(const Dataset& data, const std::vector<std::size_t>& lines,
                          const Matrix& posteriors, const VariableNames& names);

// CSV: line,<x names>,mean,variance,gate_0..gate_{k-1}
std::string PredictionsCsv(const Matrix& X, const std::vector<std::size_t>& lines,
                           const MoePrediction& prediction, const VariableNames& names);

// Writes `text` to `path`; throws std::runtime_error naming the path when it
// cannot be written.
void WriteStringToFile(const std::string& path, const std::string& text);

}  // namespace moelab
