// moelab-fit: fit a Gaussian mixture of experts to your own CSV data.
//
// Flags -> library calls -> files: ReadNamedColumnsCsv, SelectNumExperts
// (FitMoe per k), ComputeStandardErrors / BootstrapStandardErrors,
// Posteriors / MapLabels, Predict, PlotFit1d; the summary is
// FormatFitSummary. Everything is written to --out.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "common/cli.hpp"
#include "moelab/estimators/fit_moe.hpp"
#include "moelab/estimators/prediction.hpp"
#include "moelab/estimators/select_num_experts.hpp"
#include "moelab/estimators/standard_errors.hpp"
#include "moelab/io/fit_plot.hpp"
#include "moelab/io/fit_report.hpp"
#include "moelab/io/named_columns_csv.hpp"
#include "moelab/io/params_json.hpp"

namespace {

using namespace moelab;

constexpr long long kMaxExperts = 50;

std::vector<std::string> SplitNames(const std::string& text) {
  std::vector<std::string> names;
  if (text.empty()) return names;
  std::stringstream ss(text);
  std::string name;
  while (std::getline(ss, name, ',')) {
    if (name.empty()) throw std::invalid_argument("--x: empty column name in '" + text + "'");
    names.push_back(name);
  }
  return names;
}

// "3", "1,2,4" or "1:4".
std::vector<Index> ParseExpertCounts(const std::string& text) {
  std::vector<long long> values;
  const std::size_t colon = text.find(':');
  if (colon != std::string::npos) {
    const auto lo = cli::ParseIntList(text.substr(0, colon), "--k");
    const auto hi = cli::ParseIntList(text.substr(colon + 1), "--k");
    if (lo.size() != 1 || hi.size() != 1 || lo[0] > hi[0]) {
      throw std::invalid_argument("--k: '" + text + "' is not a range a:b with a <= b");
    }
    if (lo[0] < 1 || hi[0] > kMaxExperts) {
      throw std::invalid_argument("--k: every k must be in [1, " + std::to_string(kMaxExperts) +
                                  "], got '" + text + "'");
    }
    for (long long k = lo[0]; k <= hi[0]; ++k) values.push_back(k);
  } else {
    values = cli::ParseIntList(text, "--k");
  }
  std::vector<Index> out;
  for (long long k : values) {
    if (k < 1 || k > kMaxExperts) {
      throw std::invalid_argument("--k: every k must be in [1, " + std::to_string(kMaxExperts) +
                                  "], got " + std::to_string(k));
    }
    out.push_back(static_cast<Index>(k));
  }
  return out;
}

SelectionCriterion ParseCriterion(const std::string& name) {
  if (name == "bic") return SelectionCriterion::kBic;
  if (name == "aic") return SelectionCriterion::kAic;
  if (name == "icl") return SelectionCriterion::kIcl;
  throw std::invalid_argument("--criterion: unknown '" + name + "' (valid: bic, aic, icl)");
}

}  // namespace

int main(int argc, char** argv) {
  return cli::RunMain([&] {
    std::string data_path, y_column, x_columns, na = "drop";
    std::string gate_name = "softmax", k_text = "1:3", ranking = "slope", activation = "tanh";
    std::string estimator = "em", icl = "soft", criterion = "bic", se = "wald";
    std::string predict_path, out_dir = "fit";
    long long top_k = 0, starts = 10, threads = 1, bootstrap = 200;
    std::uint64_t seed = 1;
    double temperature = 1.0, min_prior = 0.0, level = 0.95;
    bool fit_temperature = false, plot = true, squarem = true;
    cli::CommandLine cli(
        "moelab-fit",
        "Fit a Gaussian mixture of experts p(y|x) = sum_i g_i(x) N(y | a_i'x + b_i, nu_i) to a "
        "CSV file with named columns: model selection over k, the chosen fit with standard "
        "errors, posteriors and MAP labels, predictions for new x, and a plot (d = 1). "
        "Example: moelab-fit --data my.csv --y y --k 1:4 --out fit/");
    cli.AddString("data", &data_path, "CSV file with a header of column names (required)");
    cli.AddString("y", &y_column, "response column (default: the last column)");
    cli.AddString("x", &x_columns,
                  "covariate columns, comma-separated (default: every other named column)");
    cli.AddString("na", &na,
                  "missing values (empty, NA, NaN, N/A) in a used column: drop (the row, "
                  "counted) or error");
    cli.AddString("gate", &gate_name, GateKindNames());
    cli.AddString("k", &k_text,
                  "numbers of experts: one (2), a list (1,2,4) or a range (1:4); each in [1, 50]");
    cli.AddInt("top-k", &top_k, "top-K gate: experts selected per x, in [1, k] (0 = k - 1, at least 1)");
    cli.AddString("ranking", &ranking, "top-K ranking score: slope (beta1'x) or logit");
    cli.AddString("activation", &activation, "activation gate: tanh, sigmoid or identity");
    cli.AddDouble("temperature", &temperature,
                  "temperature/activation gates: tau (> 0), fixed unless --fit-temperature");
    cli.AddBool("fit-temperature", &fit_temperature,
                "temperature/activation gates: also fit tau (em, mle; not identifiable jointly "
                "with beta for the temperature gate)");
    cli.AddString("estimator", &estimator, "em, mle (NLopt) or lse (Ceres least squares)");
    cli.AddBool("squarem", &squarem,
                "em: accelerate EM by SQUAREM (same optimum, about half the passes); "
                "false = plain EM");
    cli.AddInt("starts", &starts, "starts per k (data-driven and random alternating), in [1, 100000]");
    cli.AddUint64("seed", &seed, "seed of the starts (and of the bootstrap)");
    cli.AddInt("threads", &threads, "threads (starts in parallel; results do not depend on it), in [1, 1024]");
    cli.AddDouble("min-prior", &min_prior,
                  "keep only starts whose every expert holds at least this share of the data "
                  "(flexmix's minprior; guards against spurious components), in [0, 1); 0 = off");
    cli.AddString("icl", &icl, "ICL: soft (entropy of the posteriors) or hard (MAP, as flexmix/mclust)");
    cli.AddString("criterion", &criterion, "which criterion chooses k: bic, aic or icl");
    cli.AddString("se", &se, "standard errors: wald (observed information), bootstrap or none");
    cli.AddInt("bootstrap", &bootstrap, "--se bootstrap: replicates, in [2, 100000]");
    cli.AddDouble("level", &level, "confidence level of the intervals, in (0, 1)");
    cli.AddString("predict", &predict_path,
                  "CSV of new x (the same covariate columns) to predict: mean, variance, gate");
    cli.AddBool("plot", &plot, "d = 1: draw the fit and the gate (PNG through gnuplot)");
    cli.AddString("out", &out_dir, "output folder (created; files are overwritten)");
    if (!cli.Parse(argc, argv)) return 0;

    if (data_path.empty()) throw std::invalid_argument("--data is required (a CSV file)");
    if (starts < 1 || starts > 100000) throw std::invalid_argument("--starts must be in [1, 100000]");
    if (threads < 1 || threads > 1024) throw std::invalid_argument("--threads must be in [1, 1024]");
    if (bootstrap < 2 || bootstrap > 100000) {
      throw std::invalid_argument("--bootstrap must be in [2, 100000]");
    }
    if (se != "wald" && se != "bootstrap" && se != "none") {
      throw std::invalid_argument("--se: unknown '" + se + "' (valid: wald, bootstrap, none)");
    }
    if (out_dir.empty()) throw std::invalid_argument("--out must not be empty");
    const std::vector<Index> ks = ParseExpertCounts(k_text);
    const SelectionCriterion chosen_by = ParseCriterion(criterion);

    FitOptions options;
    options.estimator = ParseFitEstimator(estimator);
    options.num_starts = static_cast<int>(starts);
    options.seed = seed;
    options.num_threads = static_cast<int>(threads);
    options.min_prior = min_prior;
    options.fit_temperature = fit_temperature;
    options.squarem = squarem;
    options.icl = ParseIclKind(icl);
    options.Validate();
    StandardErrorOptions se_options;
    se_options.level = level;
    se_options.fit_temperature = fit_temperature;
    se_options.Validate();

    NamedColumnsOptions read_options;
    read_options.y_column = y_column;
    read_options.x_columns = SplitNames(x_columns);
    read_options.missing = ParseMissingValues(na);
    const NamedColumnsData read = ReadNamedColumnsCsv(data_path, read_options);
    const Dataset& data = read.data;
    VariableNames names;
    names.x = read.x_names;
    names.y = read.y_name;

    std::vector<ModelShape> shapes;
    for (Index k : ks) {
      ModelShape shape;
      shape.gate = ParseGateKind(gate_name);
      shape.num_experts = k;
      shape.dim = data.dim();
      shape.ranking = ParseTopKRanking(ranking);
      shape.activation = ParseActivation(activation);
      shape.temperature = temperature;
      if (shape.gate == GateKind::kTopK) {
        shape.top_k = static_cast<int>(top_k > 0 ? top_k : std::max<Index>(1, k - 1));
      }
      shapes.push_back(shape);
    }

    std::ostringstream summary;
    summary << "data " << data_path << ": " << read.rows_read << " rows, " << data.size()
            << " used";
    if (!read.dropped_lines.empty()) {
      summary << ", " << read.dropped_lines.size() << " dropped for a missing value (lines";
      for (std::size_t i = 0; i < read.dropped_lines.size() && i < 10; ++i) {
        summary << " " << read.dropped_lines[i];
      }
      summary << (read.dropped_lines.size() > 10 ? " ...)" : ")");
    }
    summary << "; y = " << names.y << ", x =";
    for (const std::string& x : names.x) summary << " " << x;
    summary << "\n" << ToString(options.estimator) << ", best of " << starts
            << " starts per k, seed " << seed << ", ICL " << icl << "\n\n";
    std::cout << summary.str() << std::flush;

    const ModelSelectionTable table = SelectNumExperts(data, shapes, options);
    const std::string selection = FormatSelectionTable(table);
    summary << "Model selection\n" << selection;
    std::cout << "Model selection\n" << selection << std::flush;

    std::filesystem::create_directories(out_dir);
    const std::string dir = (std::filesystem::path(out_dir) / "").string();
    WriteStringToFile(dir + "config.json", cli.ResolvedJson());
    WriteStringToFile(dir + "model_selection.csv", ModelSelectionCsv(table));
    for (const ModelSelectionRow& row : table.rows) {
      if (row.usable()) {
        WriteParamsJson(row.fit.params(),
                        dir + "params_k" + std::to_string(row.shape.num_experts) + ".json");
      }
    }
    const std::optional<std::size_t> best = table.Best(chosen_by);
    if (!best) {
      summary << "\nno k could be fitted; see the reasons above\n";
      WriteStringToFile(dir + "summary.txt", summary.str());
      std::cout << "\nno k could be fitted; wrote " << dir << "model_selection.csv and summary.txt\n";
      return 1;
    }
    const MoeFit& fit = table.rows[*best].fit;
    std::ostringstream chosen;
    chosen << "\nChosen by " << criterion << ": k = " << fit.shape.num_experts << "\n\n";

    std::optional<StandardErrorReport> errors;
    if (se == "wald" && options.estimator == FitEstimator::kLse) {
      // The observed information describes a maximum-likelihood estimate;
      // least squares is not one, so its curvature gives no standard error.
      StandardErrorReport none;
      none.method = "observed-information";
      none.level = level;
      none.reason =
          "least squares is not a maximum-likelihood estimate, so the observed information "
          "gives no standard errors (use --se bootstrap)";
      for (const std::string& name : FreeParameterNames(fit.params(), false)) {
        ParameterInference p;
        p.name = name;
        p.standard_error = p.lower = p.upper = p.z = std::nan("");
        p.reason = "least squares estimate: use --se bootstrap";
        none.parameters.push_back(p);
      }
      errors = none;
    } else if (se == "wald") {
      errors = ComputeStandardErrors(data, fit.params(), se_options);
    } else if (se == "bootstrap") {
      BootstrapOptions boot;
      boot.replicates = static_cast<int>(bootstrap);
      boot.level = level;
      boot.seed = seed;
      boot.num_threads = static_cast<int>(threads);
      errors = BootstrapStandardErrors(data, fit, options, boot);
    }
    chosen << FormatFitSummary(data, fit, errors ? &*errors : nullptr, names);
    summary << chosen.str();
    std::cout << chosen.str();

    WriteParamsJson(fit.params(), dir + "params.json");
    if (errors) WriteStringToFile(dir + "standard_errors.csv", StandardErrorsCsv(*errors));
    const Matrix posteriors = Posteriors(fit.params(), data.X, data.y);
    WriteStringToFile(dir + "posteriors.csv",
                      PosteriorsCsv(data, read.line_numbers, posteriors, names));
    std::vector<std::string> written{"config.json", "model_selection.csv", "params.json",
                                     "params_k<k>.json", "posteriors.csv"};
    if (errors) written.push_back("standard_errors.csv");
    if (!predict_path.empty()) {
      const NamedColumnsData fresh =
          ReadCovariatesCsv(predict_path, names.x, read_options.missing);
      const MoePrediction prediction = Predict(fit.params(), fresh.data.X);
      WriteStringToFile(dir + "predictions.csv",
                        PredictionsCsv(fresh.data.X, fresh.line_numbers, prediction, names));
      std::ostringstream os;
      os << "\npredictions for " << fresh.data.size() << " rows of " << predict_path;
      if (!fresh.dropped_lines.empty()) {
        os << " (" << fresh.dropped_lines.size() << " dropped for a missing covariate)";
      }
      os << "\n";
      summary << os.str();
      std::cout << os.str();
      written.push_back("predictions.csv");
    }
    if (plot && data.dim() == 1) {
      for (const PlotOutput& out : PlotFit1d(data, fit.params(), names, dir + "fit")) {
        const std::string line = out.drawn ? "plot: " + out.png + "\n"
                                           : "plot not drawn (" + out.message + "); script " +
                                                 out.script + "\n";
        summary << line;
        std::cout << line;
      }
      written.push_back("fit_data.png, fit_gate.png");
    }
    written.push_back("summary.txt");
    WriteStringToFile(dir + "summary.txt", summary.str());
    std::cout << "\nwrote to " << out_dir << ":";
    for (const std::string& name : written) std::cout << " " << name;
    std::cout << "\n";
    return 0;
  });
}
