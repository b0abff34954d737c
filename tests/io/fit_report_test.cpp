#include "moelab/io/fit_report.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "moelab/io/fit_plot.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

int Lines(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) ++count;
  return count;
}

class FitReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Preset preset = GetPreset("softmax-exact");
    Rng rng(51);
    data_ = Simulate(preset.truth, preset.design, 300, rng);
    FitOptions options;
    options.num_starts = 2;
    ModelShape shape;
    fit_ = FitMoe(data_, shape, options);
  }
  Dataset data_;
  MoeFit fit_;
};

TEST_F(FitReportTest, SummaryShowsCoefficientsCriteriaAndWarnings) {
  const StandardErrorReport se = ComputeStandardErrors(data_, fit_.params(), {});
  VariableNames names;
  names.x = {"dose"};
  names.y = "response";
  const std::string summary = FormatFitSummary(data_, fit_, &se, names);
  for (const char* part : {"softmax gate, k = 2 experts, n = 300", "y = response", "Std. Error",
                           "dose", "variance", "AIC", "BIC", "ICL (hard)", "Gate: logits",
                           "Warnings: none", "converged"}) {
    EXPECT_NE(summary.find(part), std::string::npos) << part << "\n" << summary;
  }
  // Without inference: estimates only, no SE column.
  EXPECT_EQ(FormatFitSummary(data_, fit_, nullptr, names).find("Std. Error"), std::string::npos);
}

TEST_F(FitReportTest, SummaryGivesTheReasonInsteadOfANumber) {
  StandardErrorReport se;
  se.method = "observed-information";
  se.reason = "the observed information is singular";
  for (const std::string& name : FreeParameterNames(fit_.params(), false)) {
    ParameterInference p;
    p.name = name;
    p.reason = "the observed information is singular";
    se.parameters.push_back(p);
  }
  const std::string summary = FormatFitSummary(data_, fit_, &se, VariableNames::Default(1));
  EXPECT_NE(summary.find("(no standard error: the observed information is singular)"),
            std::string::npos)
      << summary;
  EXPECT_NE(StandardErrorsCsv(se).find(",0,the observed information is singular"),
            std::string::npos);
}

TEST_F(FitReportTest, CsvFilesHaveOneRowPerObservationAndTheirColumns) {
  const Matrix posteriors = Posteriors(fit_.params(), data_.X, data_.y);
  std::vector<std::size_t> lines(300);
  for (std::size_t i = 0; i < 300; ++i) lines[i] = i + 2;
  const std::string csv = PosteriorsCsv(data_, lines, posteriors, VariableNames::Default(1));
  EXPECT_EQ(Lines(csv), 301);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "line,x1,y,posterior_0,posterior_1,map_label");
  const MoePrediction prediction = Predict(fit_.params(), data_.X.topRows(5));
  const std::string predicted = PredictionsCsv(
      data_.X.topRows(5), {2, 3, 4, 5, 6}, prediction, VariableNames::Default(1));
  EXPECT_EQ(Lines(predicted), 6);
  EXPECT_EQ(predicted.substr(0, predicted.find('\n')), "line,x1,mean,variance,gate_0,gate_1");
  EXPECT_THROW(PosteriorsCsv(data_, {1, 2}, posteriors, VariableNames::Default(1)),
               std::invalid_argument);
}

TEST_F(FitReportTest, PlotWritesScriptsAndDataForBothPictures) {
  const std::string dir = testing::MakeTempDir("moelab_fit_plot_");
  const std::vector<PlotOutput> plots =
      PlotFit1d(data_, fit_.params(), VariableNames::Default(1), dir + "/fit");
  ASSERT_EQ(plots.size(), 2u);
  for (const PlotOutput& plot : plots) {
    EXPECT_FALSE(testing::ReadTextFile(plot.script).empty()) << plot.script;
    EXPECT_FALSE(testing::ReadTextFile(plot.data).empty()) << plot.data;
  }
  Dataset two = data_;
  two.X = Matrix::Zero(300, 2);
  EXPECT_THROW(PlotFit1d(two, fit_.params(), VariableNames::Default(2), dir + "/x"),
               std::invalid_argument);
}

}  // namespace
}  // namespace moelab
