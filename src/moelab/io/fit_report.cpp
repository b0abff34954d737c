#include "moelab/io/fit_report.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "moelab/model/gates/gate.hpp"
#include "moelab/core/log_sum_exp.hpp"

namespace moelab {

namespace {

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

// Commas and line breaks would break a CSV row; messages are prose.
std::string CsvText(std::string text) {
  for (char& c : text) {
    if (c == ',' || c == '\n' || c == '\r') c = ';';
  }
  return text;
}

std::string Number(double value) {
  if (std::isnan(value)) return "";
  std::ostringstream os;
  os.precision(17);
  os << value;
  return os.str();
}

// One coefficient row: label, estimate, and the inference if there is one.
void CoefficientRow(std::ostream& os, const std::string& label, double estimate,
                    const ParameterInference* inference) {
  char line[256];
  std::snprintf(line, sizeof(line), "  %-18s %12.6g", label.c_str(), estimate);
  os << line;
  if (inference == nullptr) {
    os << "\n";
    return;
  }
  if (!inference->available) {
    os << "   (no standard error: " << inference->reason << ")\n";
    return;
  }
  std::snprintf(line, sizeof(line), " %12.4g %9.3f   [%.6g, %.6g]", inference->standard_error,
                inference->z, inference->lower, inference->upper);
  os << line << "\n";
}

}  // namespace

VariableNames VariableNames::Default(Index dim) {
  VariableNames names;
  for (Index j = 0; j < dim; ++j) {
    std::string name = "x";
    name += std::to_string(j + 1);  // not "x" + ...: GCC 12 -Wrestrict false positive
    names.x.push_back(name);
  }
  return names;
}

std::string FormatFitSummary(const Dataset& data, const MoeFit& fit,
                             const StandardErrorReport* standard_errors,
                             const VariableNames& names) {
  std::ostringstream os;
  const MoeParams& params = fit.params();
  const Index k = params.num_experts(), d = params.dim();
  os << "Gaussian mixture of experts: " << ToString(fit.shape.gate) << " gate";
  if (fit.shape.gate == GateKind::kTopK) {
    os << " (top-" << fit.shape.top_k << ", ranking " << ToString(fit.shape.ranking) << ")";
  }
  if (fit.shape.gate == GateKind::kActivation) {
    os << " (" << ToString(fit.shape.activation) << ")";
  }
  if (params.gate.uses_temperature()) {
    os << ", tau = " << params.gate.temperature << (fit.fit_temperature ? " (fitted)" : " (fixed)");
  }
  os << ", k = " << k << " expert" << (k > 1 ? "s" : "") << ", n = " << data.size() << "\n";
  os << "  y = " << names.y << ";  x =";
  for (const std::string& x : names.x) os << " " << x;
  os << "\n";
  os << "Estimator " << ToString(fit.estimator) << ": " << ToString(fit.result.termination)
     << " after " << fit.result.iterations << " iterations (best of " << fit.result.restarts
     << " starts: #" << fit.result.best_restart;
  if (fit.starts_failed > 0) os << ", " << fit.starts_failed << " unusable";
  if (fit.starts_below_min_prior > 0) {
    os << ", " << fit.starts_below_min_prior << " below min_prior";
  }
  os << ")\n";
  if (!fit.IsUsable()) {
    os << "  no usable fit: " << fit.result.message << "\n";
    return os.str();
  }
  os << "  log-likelihood " << Format("%.4f", fit.criteria.log_likelihood) << "   parameters "
     << fit.criteria.num_parameters << "   AIC " << Format("%.3f", fit.criteria.aic) << "   BIC "
     << Format("%.3f", fit.criteria.bic) << "   ICL (soft) " << Format("%.3f", fit.icl_soft)
     << "   ICL (hard) " << Format("%.3f", fit.icl_hard) << "\n\n";

  // Components: prior = mean gate weight, size = MAP labels, effective size.
  const Matrix gate = ExpOfLog(GateLogWeights(params.gate, data.X));
  const Matrix posteriors = Posteriors(params, data.X, data.y);
  const IntVector labels = MapLabels(posteriors);
  os << "Components        prior      size   effective size\n";
  for (Index i = 0; i < k; ++i) {
    const Index size = (labels.array() == static_cast<int>(i)).count();
    char line[128];
    std::snprintf(line, sizeof(line), "  expert %-6lld %8.4f %9lld %16.2f\n",
                  static_cast<long long>(i), gate.col(i).mean(), static_cast<long long>(size),
                  posteriors.col(i).sum());
    os << line;
  }

  std::map<std::string, const ParameterInference*> inference;
  if (standard_errors != nullptr) {
    for (const ParameterInference& p : standard_errors->parameters) inference[p.name] = &p;
  }
  auto find = [&](const std::string& name) -> const ParameterInference* {
    const auto it = inference.find(name);
    return it == inference.end() ? nullptr : it->second;
  };
  const MoeParams normalised = NormaliseGauge(params);
  if (standard_errors != nullptr) {
    os << "\nStandard errors: " << standard_errors->method << ", "
       << Format("%.0f", 100 * standard_errors->level) << " % intervals"
       << (standard_errors->method == "observed-information" ? " (Wald)" : " (percentile)")
       << "\n";
  }
  const char* header = "                       Estimate   Std. Error   z value   interval\n";
  for (Index i = 0; i < k; ++i) {
    const std::string prefix = "expert[" + std::to_string(i) + "].";
    os << "\nExpert " << i << ": " << names.y << " ~ N(intercept + slope' x, variance)\n"
       << (standard_errors ? header : "");
    CoefficientRow(os, "(Intercept)", normalised.experts.intercept[i], find(prefix + "intercept"));
    for (Index j = 0; j < d; ++j) {
      CoefficientRow(os, names.x[j], normalised.experts.slope(i, j),
                     find(prefix + "slope[" + std::to_string(j) + "]"));
    }
    CoefficientRow(os, "variance", normalised.experts.variance[i], find(prefix + "variance"));
  }
  if (k > 1) {
    const bool slope_pinned = HasSlopeTranslationSymmetry(params.gate);
    os << "\nGate: logits relative to the reference expert " << k - 1
       << " (its intercept" << (slope_pinned ? " and slopes are" : " is") << " 0)\n"
       << (standard_errors ? header : "");
    for (Index i = 0; i < k; ++i) {
      const bool reference = i == k - 1;
      if (reference && slope_pinned) continue;
      const std::string prefix = "gate[" + std::to_string(i) + "].";
      if (!reference) {
        CoefficientRow(os, "expert " + std::to_string(i) + " (Int.)", normalised.gate.bias[i],
                       find(prefix + "beta0"));
      }
      for (Index j = 0; j < d; ++j) {
        CoefficientRow(os, "expert " + std::to_string(i) + " " + names.x[j],
                       normalised.gate.slope(i, j),
                       find(prefix + "beta1[" + std::to_string(j) + "]"));
      }
    }
    if (params.gate.uses_temperature()) {
      CoefficientRow(os, "tau", params.gate.temperature, find("gate.tau"));
    }
  }
  if (standard_errors != nullptr && !standard_errors->reason.empty()) {
    os << "\nNote on standard errors: " << standard_errors->reason << "\n";
  }
  if (standard_errors != nullptr && standard_errors->available &&
      standard_errors->method == "observed-information" && !fit.converged()) {
    os << "Note: the fit did not converge, so the standard errors are taken at a point where "
          "the score need not vanish; treat them with care\n";
  }
  os << "\nWarnings:";
  if (fit.warnings.empty()) os << " none";
  os << "\n";
  for (const FitWarning& w : fit.warnings) {
    os << "  - [" << ToString(w.kind) << "] " << w.message << "\n";
  }
  return os.str();
}

std::string FormatSelectionTable(const ModelSelectionTable& table) {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof(line), "%-12s %3s %3s %12s %4s %11s %11s %11s  %-14s %s\n", "gate",
                "k", "K", "loglik", "p", "AIC", "BIC", "ICL", "termination", "warnings");
  os << line;
  for (const ModelSelectionRow& row : table.rows) {
    const int top_k = row.shape.gate == GateKind::kTopK ? row.shape.top_k : 0;
    if (!row.usable()) {
      std::snprintf(line, sizeof(line), "%-12s %3lld %3d   %s: %s\n", ToString(row.shape.gate),
                    static_cast<long long>(row.shape.num_experts), top_k,
                    row.fitted ? "unusable" : "skipped", row.skip_reason.c_str());
      os << line;
      continue;
    }
    const MoeFit& fit = row.fit;
    std::string warnings;
    for (const FitWarning& w : fit.warnings) {
      if (!warnings.empty()) warnings += ",";
      warnings += ToString(w.kind);
    }
    std::snprintf(line, sizeof(line), "%-12s %3lld %3d %12.4f %4lld %11.3f %11.3f %11.3f  %-14s %s\n",
                  ToString(row.shape.gate), static_cast<long long>(row.shape.num_experts), top_k,
                  fit.criteria.log_likelihood, static_cast<long long>(fit.criteria.num_parameters),
                  fit.criteria.aic, fit.criteria.bic, fit.criteria.icl,
                  ToString(fit.result.termination), warnings.empty() ? "-" : warnings.c_str());
    os << line;
  }
  for (SelectionCriterion c :
       {SelectionCriterion::kBic, SelectionCriterion::kAic, SelectionCriterion::kIcl}) {
    const auto best = table.Best(c);
    os << "smallest " << ToString(c) << ": ";
    if (best) {
      os << ToString(table.rows[*best].shape.gate) << " k = "
         << table.rows[*best].shape.num_experts << "\n";
    } else {
      os << "none (no usable fit)\n";
    }
  }
  return os.str();
}

std::string ModelSelectionCsv(const ModelSelectionTable& table) {
  std::ostringstream os;
  os.precision(17);
  os << "gate,k,top_k,status,loglik,num_parameters,aic,bic,icl,icl_soft,icl_hard,termination,"
        "iterations,warnings,reason\n";
  for (const ModelSelectionRow& row : table.rows) {
    os << ToString(row.shape.gate) << "," << row.shape.num_experts << ","
       << (row.shape.gate == GateKind::kTopK ? row.shape.top_k : 0) << ",";
    if (!row.fitted) {
      os << "skipped,,,,,,,,,,," << CsvText(row.skip_reason) << "\n";
      continue;
    }
    const MoeFit& fit = row.fit;
    os << (fit.IsUsable() ? "fitted" : "unusable") << ",";
    if (fit.IsUsable()) {
      os << fit.criteria.log_likelihood << "," << fit.criteria.num_parameters << ","
         << fit.criteria.aic << "," << fit.criteria.bic << "," << fit.criteria.icl << ","
         << fit.icl_soft << "," << fit.icl_hard << ",";
    } else {
      os << ",,,,,,,";
    }
    os << ToString(fit.result.termination) << "," << fit.result.iterations << ",";
    for (std::size_t w = 0; w < fit.warnings.size(); ++w) {
      os << (w ? ";" : "") << ToString(fit.warnings[w].kind);
    }
    os << "," << CsvText(row.skip_reason) << "\n";
  }
  return os.str();
}

std::string StandardErrorsCsv(const StandardErrorReport& report) {
  std::ostringstream os;
  os << "name,estimate,standard_error,lower,upper,z,available,reason\n";
  for (const ParameterInference& p : report.parameters) {
    os << p.name << "," << Number(p.estimate) << ","
       << (p.available ? Number(p.standard_error) : "") << ","
       << (p.available ? Number(p.lower) : "") << "," << (p.available ? Number(p.upper) : "")
       << "," << (p.available ? Number(p.z) : "") << "," << (p.available ? 1 : 0) << ","
       << CsvText(p.reason) << "\n";
  }
  return os.str();
}

std::string PosteriorsCsv(const Dataset& data, const std::vector<std::size_t>& lines,
                          const Matrix& posteriors, const VariableNames& names) {
  if (static_cast<Index>(lines.size()) != data.size() || posteriors.rows() != data.size()) {
    throw std::invalid_argument("PosteriorsCsv: lines, data and posteriors differ in length");
  }
  const IntVector labels = MapLabels(posteriors);
  std::ostringstream os;
  os.precision(17);
  os << "line";
  for (const std::string& x : names.x) os << "," << x;
  os << "," << names.y;
  for (Index i = 0; i < posteriors.cols(); ++i) os << ",posterior_" << i;
  os << ",map_label\n";
  for (Index n = 0; n < data.size(); ++n) {
    os << lines[n];
    for (Index j = 0; j < data.dim(); ++j) os << "," << data.X(n, j);
    os << "," << data.y[n];
    for (Index i = 0; i < posteriors.cols(); ++i) os << "," << posteriors(n, i);
    os << "," << labels[n] << "\n";
  }
  return os.str();
}

std::string PredictionsCsv(const Matrix& X, const std::vector<std::size_t>& lines,
                           const MoePrediction& prediction, const VariableNames& names) {
  if (static_cast<Index>(lines.size()) != X.rows() || prediction.mean.size() != X.rows()) {
    throw std::invalid_argument("PredictionsCsv: lines, X and predictions differ in length");
  }
  std::ostringstream os;
  os.precision(17);
  os << "line";
  for (const std::string& x : names.x) os << "," << x;
  os << ",mean,variance";
  for (Index i = 0; i < prediction.gate_probabilities.cols(); ++i) os << ",gate_" << i;
  os << "\n";
  for (Index n = 0; n < X.rows(); ++n) {
    os << lines[n];
    for (Index j = 0; j < X.cols(); ++j) os << "," << X(n, j);
    os << "," << prediction.mean[n] << "," << prediction.variance[n];
    for (Index i = 0; i < prediction.gate_probabilities.cols(); ++i) {
      os << "," << prediction.gate_probabilities(n, i);
    }
    os << "\n";
  }
  return os.str();
}

void WriteStringToFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot open '" + path + "' for writing");
  out << text;
  if (!out) throw std::runtime_error("failed writing '" + path + "'");
}

}  // namespace moelab
