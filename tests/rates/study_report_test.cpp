#include "moelab/rates/study_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <cmath>
#include <filesystem>

#include "support/test_util.hpp"

namespace moelab {
namespace {

// Issue 14: floor hits are reported in every output, the summary included.
TEST(DescribeCellsTest, ReportsVarianceFloorHits) {
  CellRecord a, b;
  a.key = {100, 0, 1};
  a.status = "converged";
  a.values = {0.5, 3.0};
  b.key = {100, 1, 2};
  b.status = "converged";
  b.values = {0.25, 0.0};
  const StudyFacts facts = DescribeCells("s", {"loss", "variance_floor_hits"}, {a, b}, {});
  const bool found = std::any_of(facts.lines.begin(), facts.lines.end(), [](const std::string& line) {
    return line.find("variance-floor hits") != std::string::npos &&
           line.find("1 of 2 cells (3 hits)") != std::string::npos;
  });
  EXPECT_TRUE(found);
}

using testing::ReadTextFile;

// A fitted row with three grid points; `scale` separates the columns' values.
SlopeRow Row(const std::string& column, double scale) {
  SlopeRow row;
  row.study = "demo";
  row.column = column;
  row.fit.ok = true;
  row.fit.num_points = 3;
  row.fit.n_min = 100;
  row.fit.n_max = 10000;
  row.fit.confidence = 0.95;
  row.fit.mean = {-0.5, std::log(scale), 0.01, 0.99};
  row.fit.median = {-0.48, std::log(scale), 0.01, 0.99};
  row.fit.ci_lower = -0.55;
  row.fit.ci_upper = -0.45;
  row.fit.used_n = {100, 1000, 10000};
  row.fit.used_mean = {scale / 10, scale / 31.6, scale / 100};
  row.fit.used_median = row.fit.used_mean;
  row.fit.mean_lower = {scale / 12, scale / 35, scale / 110};
  row.fit.mean_upper = {scale / 8, scale / 28, scale / 90};
  row.theory = {TheoryRate::Kind::kPolynomial, -0.5, "n^-1/2", "[Demyst] Theorem 1"};
  row.verdict = Verdict::kConsistent;
  return row;
}

TEST(StudyReportTest, PlotsNameTheirAxesAndKeepOverlappingSeriesApart) {
  const std::string dir = testing::MakeTempDir("moelab_report");
  // Hellinger and TV of nearly the same size: the case that hid Hellinger.
  const std::vector<SlopeRow> rows = {Row("loss_d1", 3.0), Row("hellinger", 1.0), Row("tv", 1.05),
                                      Row("loglik_excess", 0.1)};
  const auto outputs = PlotStudy("demo", rows, dir);
  ASSERT_EQ(outputs.size(), 3u);  // density, loglik, loss
  const std::string density = ReadTextFile(dir + "/demo_density.gp");
  EXPECT_NE(density.find("set ylabel \"E_X distance to the true conditional density (Hellinger, total variation)\""),
            std::string::npos)
      << density;
  // Different filled markers and a dodge of 3 % centred on the true n.
  EXPECT_NE(density.find("using ($1*0.9853292782):2:3:4 with yerrorbars lw 1.2 pt 5"), std::string::npos)
      << density;
  EXPECT_NE(density.find("using ($1*1.014889157):2:3:4 with yerrorbars lw 1.2 pt 7"), std::string::npos) << density;
  EXPECT_NE(density.find("95% bootstrap CI (error bars)"), std::string::npos);
  EXPECT_EQ(density.find("band"), std::string::npos);
  EXPECT_NE(density.find("hellinger: fit n^-0.500 [-0.550, -0.450]"), std::string::npos);
  EXPECT_NE(density.find("tv: theory n^-1/2 (consistent)"), std::string::npos);
  const std::string loglik = ReadTextFile(dir + "/demo_loglik.gp");
  EXPECT_NE(loglik.find("set ylabel \"excess log-likelihood per sample"), std::string::npos) << loglik;
  const std::string loss = ReadTextFile(dir + "/demo_loss.gp");
  EXPECT_NE(loss.find("set ylabel \"Voronoi loss"), std::string::npos) << loss;
  // The legend goes under the plot, not beside it.
  EXPECT_NE(loss.find("set key below"), std::string::npos);
  for (const auto& out : outputs) {
    EXPECT_TRUE(out.drawn) << out.message;  // gnuplot-nox is a declared dependency
    EXPECT_TRUE(std::filesystem::exists(out.pdf));
    EXPECT_TRUE(std::filesystem::exists(out.svg));
  }
}

}  // namespace
}  // namespace moelab
