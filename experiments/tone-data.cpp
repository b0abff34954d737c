// tone-data: model selection on real data. Fits the tone-perception data
// (data/tonedata, Cohen 1980) with every gate and k = 1..k_max experts
// (SelectNumExperts: EM, best of several data-driven and random starts) and
// selects k by BIC and ICL. A k the data cannot support is skipped with the
// reason; the other rows are still printed and written.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/cli.hpp"
#include "common/shipped_data.hpp"
#include "moelab/estimators/select_num_experts.hpp"
#include "moelab/io/fit_report.hpp"
#include "moelab/io/named_columns_csv.hpp"
#include "moelab/io/params_json.hpp"
#include "moelab/model/gates/gate.hpp"

namespace {

using namespace moelab;

constexpr const char* kToneData = "data/tonedata/tonedata.csv";

ModelShape ShapeFor(GateKind gate, Index k, Index dim) {
  ModelShape shape;
  shape.gate = gate;
  shape.num_experts = k;
  shape.dim = dim;
  // Top-K: select all but one expert (K = k - 1, at least 1), so the gate is
  // sparse for k >= 2. Ranking by the full logit: the stretch ratios are all
  // positive, and ranking by beta1' x alone would then select the same K
  // experts for every sample (docs/theory.md §2.2.2).
  if (GateFor(gate).fields().top_k == GateFields::TopK::kRequired) {
    shape.top_k = static_cast<int>(std::max<Index>(1, k - 1));
    shape.ranking = TopKRanking::kFullLogit;
  }
  shape.temperature = 1.0;  // fixed: tau is not identifiable jointly with beta
  return shape;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::RunMain([&] {
    std::string data_path;
    std::string gates_text = "softmax,topk,temperature,activation";
    long long k_max = 4;
    long long starts = 40;
    long long threads = 1;
    std::uint64_t seed = 2023;
    std::string out_dir;
    std::string where;
    for (const std::string& candidate : cli::ShippedDataCandidates(kToneData)) {
      where += (where.empty() ? "" : ", then ") + candidate;
    }
    cli::CommandLine cli("tone-data",
                         "Fit a real data set (default: the tone-perception data) with each gate "
                         "and k = 1..k-max experts by EM, and select k by BIC and ICL. A k that "
                         "n cannot support is skipped with the reason.");
    cli.AddString("data", &data_path,
                  "CSV with a header; the last column is y, the others x (default: the shipped "
                  "tone data, looked up in this order: " + where + ")");
    cli.AddString("gates", &gates_text, "comma-separated gates: " + GateKindNames());
    cli.AddInt("k-max", &k_max, "largest number of experts", {1, 50});
    cli.AddInt("starts", &starts, "EM starts per fit (data-driven and random alternating)", {1, 100000});
    cli.AddInt("threads", &threads, "threads (starts in parallel; same numbers for any count)", {1, 1024});
    cli.AddUint64("seed", &seed, "random seed of the starts");
    cli.AddString("out", &out_dir, "if set, write model_selection.csv and the fits here");
    if (!cli.Parse(argc, argv)) return 0;
    if (data_path.empty()) data_path = cli::FindShippedData(kToneData);

    const NamedColumnsData read = ReadNamedColumnsCsv(data_path, {});
    const Dataset& data = read.data;
    std::vector<GateKind> gates;
    for (const auto& name : cli::SplitList(gates_text, "option --gates")) gates.push_back(ParseGateKind(name));
    std::printf("data %s: n = %lld, d = %lld", data_path.c_str(),
                static_cast<long long>(data.size()), static_cast<long long>(data.dim()));
    if (!read.dropped_lines.empty()) {
      std::printf(" (%zu rows with a missing value dropped)", read.dropped_lines.size());
    }
    std::printf("\n");

    // The same starts for every gate at a given k (FitMoe seeds them by k),
    // so gates are compared from identical starting points (temperature with
    // tau = 1 then reproduces softmax exactly).
    std::vector<ModelShape> shapes;
    for (GateKind gate : gates) {
      for (Index k = 1; k <= k_max; ++k) shapes.push_back(ShapeFor(gate, k, data.dim()));
    }
    FitOptions options;
    options.num_starts = static_cast<int>(starts);
    options.seed = seed;
    options.num_threads = static_cast<int>(threads);
    const ModelSelectionTable table = SelectNumExperts(data, shapes, options);
    std::printf("%s", FormatSelectionTable(table).c_str());

    std::printf("\nselected number of experts (smallest criterion):\n");
    for (GateKind gate : gates) {
      const auto bic = table.Best(SelectionCriterion::kBic, gate);
      const auto icl = table.Best(SelectionCriterion::kIcl, gate);
      if (bic && icl) {
        std::printf("  %-12s BIC: k = %lld   ICL: k = %lld\n", ToString(gate),
                    static_cast<long long>(table.rows[*bic].shape.num_experts),
                    static_cast<long long>(table.rows[*icl].shape.num_experts));
      } else {
        std::printf("  %-12s no usable fit\n", ToString(gate));
      }
    }
    if (!out_dir.empty()) {
      std::filesystem::create_directories(out_dir);
      const std::string dir = (std::filesystem::path(out_dir) / "").string();
      WriteStringToFile(dir + "model_selection.csv", ModelSelectionCsv(table));
      for (const ModelSelectionRow& row : table.rows) {
        if (!row.usable()) continue;
        WriteParamsJson(row.fit.params(), dir + "fit_" + ToString(row.shape.gate) + "_k" +
                                              std::to_string(row.shape.num_experts) + ".json");
      }
      WriteStringToFile(dir + "config.json", cli.ResolvedJson());
      std::printf("wrote %smodel_selection.csv and fit_<gate>_k<k>.json\n", dir.c_str());
    }
    return 0;
  });
}
