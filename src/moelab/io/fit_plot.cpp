#include "moelab/io/fit_plot.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "moelab/estimators/prediction.hpp"

namespace moelab {

std::vector<PlotOutput> PlotFit1d(const Dataset& data, const MoeParams& params,
                                  const VariableNames& names, const std::string& stem) {
  if (data.dim() != 1 || params.dim() != 1) {
    throw std::invalid_argument("PlotFit1d: needs one covariate (d = 1)");
  }
  data.Validate();
  const Index k = params.num_experts();
  const std::string x_name = names.x.empty() ? "x" : names.x[0];
  const IntVector labels = MapLabels(Posteriors(params, data.X, data.y));

  // A grid over the observed x range for the lines.
  const double lo = data.X.col(0).minCoeff(), hi = data.X.col(0).maxCoeff();
  const Index grid = 400;
  Matrix X(grid, 1);
  for (Index g = 0; g < grid; ++g) {
    X(g, 0) = lo + (hi - lo) * static_cast<double>(g) / static_cast<double>(grid - 1);
  }
  const MoePrediction prediction = Predict(params, X);
  const std::vector<double> xs(X.data(), X.data() + grid);

  PlotSpec fit;
  fit.title = "Fitted mixture of experts: " + names.y + " against " + x_name;
  fit.x_label = x_name;
  fit.y_label = names.y;
  fit.notes.push_back("points coloured by MAP expert; expert lines where its gate weight >= " +
                      std::to_string(kExpertLineMinWeight).substr(0, 4) +
                      "; dashed: E[y | x]");
  for (Index i = 0; i < k; ++i) {
    PlotSeries points;
    points.title = "data, MAP expert " + std::to_string(i);
    points.style = PlotStyle::kPoints;
    points.color = static_cast<int>(i % 8) + 1;
    for (Index n = 0; n < data.size(); ++n) {
      if (labels[n] != static_cast<int>(i)) continue;
      points.x.push_back(data.X(n, 0));
      points.y.push_back(data.y[n]);
    }
    if (!points.x.empty()) fit.series.push_back(std::move(points));
  }
  for (Index i = 0; i < k; ++i) {
    PlotSeries line;
    line.title = "expert " + std::to_string(i);
    line.style = PlotStyle::kLines;
    line.color = static_cast<int>(i % 8) + 1;
    line.x = xs;
    for (Index g = 0; g < grid; ++g) {
      line.y.push_back(prediction.gate_probabilities(g, i) >= kExpertLineMinWeight
                           ? prediction.expert_means(g, i)
                           : std::numeric_limits<double>::quiet_NaN());
    }
    fit.series.push_back(std::move(line));
  }
  PlotSeries mean;
  mean.title = "E[y | x]";
  mean.style = PlotStyle::kDashedLines;
  mean.x = xs;
  mean.y.assign(prediction.mean.data(), prediction.mean.data() + grid);
  fit.series.push_back(std::move(mean));

  PlotSpec gate;
  gate.title = "Gate probabilities g_i(x)";
  gate.x_label = x_name;
  gate.y_label = "gate probability";
  for (Index i = 0; i < k; ++i) {
    PlotSeries line;
    line.title = "expert " + std::to_string(i);
    line.style = PlotStyle::kLines;
    line.color = static_cast<int>(i % 8) + 1;
    line.x = xs;
    for (Index g = 0; g < grid; ++g) line.y.push_back(prediction.gate_probabilities(g, i));
    gate.series.push_back(std::move(line));
  }
  return {WritePlot(fit, stem + "_data"), WritePlot(gate, stem + "_gate")};
}

}  // namespace moelab
