// tone-data: model selection on real data. Fits the tone-perception data
// (data/tonedata, Cohen 1980) with every gate and k = 1..k_max experts by EM
// (best of several data-driven and random starts) and selects k by BIC and
// ICL. Prints the table and optionally writes it as CSV.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/cli.hpp"
#include "moelab/estimators/em.hpp"
#include "moelab/estimators/initialization.hpp"
#include "moelab/estimators/model_selection.hpp"
#include "moelab/estimators/objective.hpp"
#include "moelab/estimators/restarts.hpp"
#include "moelab/io/dataset_csv.hpp"
#include "moelab/io/params_json.hpp"

namespace {

using namespace moelab;

struct Row {
  std::string gate;
  Index k = 0;
  int top_k = 0;
  FitResult fit;
  InformationCriteria ic;
};

ModelShape ShapeFor(GateKind gate, Index k, Index dim) {
  ModelShape shape;
  shape.gate = gate;
  shape.num_experts = k;
  shape.dim = dim;
  // Top-K: select all but one expert (K = k - 1, at least 1), so the gate is
  // sparse for k >= 2. Ranking by the full logit: the stretch ratios are all
  // positive, and ranking by beta1' x alone would then select the same K
  // experts for every sample (docs/theory.md §2.2.2).
  if (gate == GateKind::kTopK) {
    shape.top_k = static_cast<int>(std::max<Index>(1, k - 1));
    shape.ranking = TopKRanking::kFullLogit;
  }
  shape.temperature = 1.0;  // fixed: tau is not identifiable jointly with beta
  return shape;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::RunMain([&] {
    std::string data_path = "data/tonedata/tonedata.csv";
    std::string gates_text = "softmax,topk,temperature,activation";
    long long k_max = 4;
    long long starts = 40;
    std::uint64_t seed = 2023;
    std::string out_dir;
    cli::CommandLine cli("tone-data",
                         "Fit a real data set (default: the tone-perception data) with each gate "
                         "and k = 1..k-max experts by EM, and select k by BIC and ICL.");
    cli.AddString("data", &data_path, "CSV with columns x1..xd,y (path relative to the working dir)");
    cli.AddString("gates", &gates_text, "comma-separated gates to fit");
    cli.AddInt("k-max", &k_max, "largest number of experts");
    cli.AddInt("starts", &starts, "EM starts per fit (alternating data-driven and random)");
    cli.AddUint64("seed", &seed, "random seed of the starts");
    cli.AddString("out", &out_dir, "if set, write model_selection.csv and the chosen fits here");
    if (!cli.Parse(argc, argv)) return 0;
    if (k_max < 1) throw std::invalid_argument("--k-max must be >= 1");
    if (starts < 1) throw std::invalid_argument("--starts must be >= 1");

    const Dataset data = ReadDatasetCsv(data_path);
    std::vector<GateKind> gates;
    {
      std::stringstream ss(gates_text);
      std::string name;
      while (std::getline(ss, name, ',')) gates.push_back(ParseGateKind(name));
    }
    std::printf("data %s: n = %lld, d = %lld\n", data_path.c_str(),
                static_cast<long long>(data.size()), static_cast<long long>(data.dim()));
    std::printf("%-12s %2s %2s %12s %3s %10s %10s %10s  %s\n", "gate", "k", "K", "loglik", "p",
                "BIC", "ICL", "AIC", "fit");
    std::vector<Row> rows;
    for (GateKind gate : gates) {
      for (Index k = 1; k <= k_max; ++k) {
        const ModelShape shape = ShapeFor(gate, k, data.dim());
        // The same starts for every gate at a given k, so gates are compared
        // from identical starting points (temperature with tau = 1 then
        // reproduces softmax exactly).
        Rng rng(DeriveSeed(seed, static_cast<std::uint64_t>(k), 0));
        int start_index = 0;
        EmOptions em;
        em.relative_tolerance = 1e-10;
        const FitResult fit = BestOfStarts(
            static_cast<int>(starts),
            [&](Rng& r) {
              return (start_index++ % 2 == 0) ? InitDataDriven(data, shape, r)
                                              : InitRandom(data, shape, r);
            },
            [&](const MoeParams& start) { return FitEm(data, start, em); }, rng);
        Row row{ToString(gate), k, shape.top_k, fit, {}};
        if (fit.IsUsable()) {
          // One expert: the gate is identically 1 and has no parameters.
          const Index p = k == 1 ? data.dim() + 2
                                 : MoeObjective(data, fit.params, false).num_parameters();
          row.ic = ComputeInformationCriteria(data, fit.params, p);
        }
        std::printf("%-12s %2lld %2d %12.4f %3lld %10.3f %10.3f %10.3f  %s\n", row.gate.c_str(),
                    static_cast<long long>(k), row.top_k, row.ic.log_likelihood,
                    static_cast<long long>(row.ic.num_parameters), row.ic.bic, row.ic.icl,
                    row.ic.aic, ToString(fit.termination));
        rows.push_back(std::move(row));
      }
    }
    std::printf("\nselected number of experts (smallest criterion):\n");
    for (GateKind gate : gates) {
      const Row* best_bic = nullptr;
      const Row* best_icl = nullptr;
      for (const Row& row : rows) {
        if (row.gate != ToString(gate) || !row.fit.IsUsable()) continue;
        if (!best_bic || row.ic.bic < best_bic->ic.bic) best_bic = &row;
        if (!best_icl || row.ic.icl < best_icl->ic.icl) best_icl = &row;
      }
      if (best_bic) {
        std::printf("  %-12s BIC: k = %lld   ICL: k = %lld\n", ToString(gate),
                    static_cast<long long>(best_bic->k), static_cast<long long>(best_icl->k));
      }
    }
    if (!out_dir.empty()) {
      std::filesystem::create_directories(out_dir);
      std::ofstream csv(out_dir + "/model_selection.csv");
      csv << "gate,k,top_k,loglik,num_parameters,aic,bic,icl,entropy,termination\n";
      csv.precision(17);
      for (const Row& row : rows) {
        csv << row.gate << "," << row.k << "," << row.top_k << "," << row.ic.log_likelihood << ","
            << row.ic.num_parameters << "," << row.ic.aic << "," << row.ic.bic << ","
            << row.ic.icl << "," << row.ic.entropy << "," << ToString(row.fit.termination)
            << "\n";
        WriteParamsJson(row.fit.params, out_dir + "/fit_" + row.gate + "_k" +
                                            std::to_string(row.k) + ".json");
      }
      std::ofstream config(out_dir + "/config.json");
      config << cli.ResolvedJson();
      std::printf("wrote %s/model_selection.csv and fit_<gate>_k<k>.json\n", out_dir.c_str());
    }
    return 0;
  });
}
