#include "moelab/io/gnuplot_plot.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/expect_invalid.hpp"
#include "support/test_util.hpp"

namespace moelab {
namespace {

using testing::ReadTextFile;
PlotSpec Example() {
  PlotSpec spec;
  spec.title = "loss \"D1\" against n";
  spec.notes = {"slope -0.5"};
  spec.x_label = "n";
  spec.y_label = "loss_d1";
  spec.log_x = spec.log_y = true;
  PlotSeries points{"mean", PlotStyle::kYErrorBars, 1, {100, 1000}, {0.1, 0.03}, {0.08, 0.02}, {0.12, 0.04}};
  PlotSeries line{"fit", PlotStyle::kLines, 1, {100, 1000}, {0.1, 0.0316}, {}, {}};
  spec.series = {points, line};
  return spec;
}

TEST(GnuplotPlotTest, WritesDataScriptAndPng) {
  const std::string dir = testing::MakeTempDir("moelab_plot");
  const PlotOutput out = WritePlot(Example(), dir + "/sub/loss");
  EXPECT_TRUE(std::filesystem::exists(out.data));
  const std::string script = ReadTextFile(out.script);
  EXPECT_NE(script.find("set logscale x"), std::string::npos);
  EXPECT_NE(script.find("datafile index 1"), std::string::npos);
  EXPECT_NE(script.find("loss.png"), std::string::npos);
  EXPECT_NE(script.find("\\\"D1\\\""), std::string::npos);  // quotes escaped
  EXPECT_NE(ReadTextFile(out.data).find("100 0.1 0.08 0.12"), std::string::npos);
  // gnuplot (gnuplot-nox) is a declared dependency, so the PNG must exist.
  EXPECT_TRUE(out.drawn) << out.message;
  std::ifstream png(out.png, std::ios::binary);
  char magic[4] = {};
  png.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
}

TEST(GnuplotPlotTest, WritesPdfAndSvgBesidePng) {
  const std::string dir = testing::MakeTempDir("moelab_plot");
  const PlotOutput out = WritePlot(Example(), dir + "/loss");
  ASSERT_TRUE(out.drawn) << out.message;
  std::ifstream pdf(out.pdf, std::ios::binary);
  char magic[5] = {};
  pdf.read(magic, 4);
  EXPECT_EQ(std::string(magic), "%PDF");
  EXPECT_NE(ReadTextFile(out.svg).find("<svg"), std::string::npos);
  const std::string script = ReadTextFile(out.script);
  EXPECT_NE(script.find("set terminal pdfcairo"), std::string::npos);
  EXPECT_NE(script.find("set output \"loss.svg\""), std::string::npos);
}

// Padding is 5 % of the data's span in log10 units on each side: x data span
// [100, 1000] (one decade) gives [10^1.95, 10^3.05]; y spans the error bars
// [0.02, 0.12].
TEST(GnuplotPlotTest, PadsTheRangesSoEndPointsLeaveTheFrame) {
  const std::string script = PlotScript(Example(), "loss");
  EXPECT_NE(script.find("set xrange [89.12509381:1122.018454]"), std::string::npos) << script;
  const double span = std::log10(0.12 / 0.02);
  char expected[100];
  std::snprintf(expected, sizeof expected, "set yrange [%.10g:%.10g]", 0.02 * std::pow(10.0, -0.05 * span),
                0.12 * std::pow(10.0, 0.05 * span));
  EXPECT_NE(script.find(expected), std::string::npos) << script;
  PlotSpec tight = Example();
  tight.range_padding = 0;
  EXPECT_NE(PlotScript(tight, "loss").find("set xrange [100:1000]"), std::string::npos);
}

TEST(GnuplotPlotTest, SeriesKeepTheirMarkerDashAndDodge) {
  PlotSpec spec = Example();
  spec.series[0].point_type = 9;
  spec.series[0].x_scale = 1.03;
  spec.series[1].dash_type = 3;
  const std::string script = PlotScript(spec, "loss");
  EXPECT_NE(script.find("using ($1*1.03):2:3:4 with yerrorbars lw 1.2 pt 9"), std::string::npos) << script;
  EXPECT_NE(script.find("using 1:2 with lines lw 2 dt 3"), std::string::npos) << script;
  // Names print as written: loss_d1 must not become a subscript.
  EXPECT_NE(script.find("set ylabel \"loss_d1\" noenhanced"), std::string::npos);
  EXPECT_NE(script.find("title \"mean\" noenhanced"), std::string::npos);
  spec.series[0].x_scale = 0;
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { WritePlot(spec, "/tmp/x"); }, {"x_scale"}));
}

// Sets PATH for one test and restores it.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& path) : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    setenv("PATH", path.c_str(), 1);
  }
  ~ScopedPath() { setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

// Regression: WritePlot piped the script into `gnuplot` through a shell;
// without gnuplot the pipe's reader was gone and the write raised SIGPIPE,
// which killed the process. Now the process lives and says why.
TEST(GnuplotPlotTest, WithoutGnuplotTheTablesStayAndTheProcessLives) {
  const std::string dir = testing::MakeTempDir("moelab_plot");
  const std::string empty_bin = testing::MakeTempDir("moelab_nobin");
  PlotOutput out;
  {
    ScopedPath path(empty_bin);
    out = WritePlot(Example(), dir + "/loss");
  }
  EXPECT_FALSE(out.drawn);
  EXPECT_NE(out.message.find("gnuplot not found"), std::string::npos) << out.message;
  EXPECT_NE(ReadTextFile(out.data).find("100 0.1 0.08 0.12"), std::string::npos);
  EXPECT_NE(ReadTextFile(out.script).find("plot"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out.png));
}

// A gnuplot that fails (here a stand-in that reads nothing, complains and
// exits 3) is reported with its exit status and first error line.
TEST(GnuplotPlotTest, AFailingGnuplotIsReportedNotFatal) {
  const std::string dir = testing::MakeTempDir("moelab_plot");
  const std::string bin = testing::MakeTempDir("moelab_badbin");
  const std::string fake = bin + "/gnuplot";
  testing::WriteTextFile(fake, "#!/bin/sh\necho 'line 0: unknown terminal' >&2\nexit 3\n");
  ASSERT_EQ(chmod(fake.c_str(), 0755), 0);
  PlotOutput out;
  {
    ScopedPath path(bin + ":/usr/bin:/bin");
    out = WritePlot(Example(), dir + "/loss");
  }
  EXPECT_FALSE(out.drawn);
  EXPECT_NE(out.message.find("status 3"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("unknown terminal"), std::string::npos) << out.message;
}

TEST(GnuplotPlotTest, RejectsInconsistentSeries) {
  PlotSpec spec = Example();
  spec.series[0].y_low.pop_back();
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { WritePlot(spec, "/tmp/x"); }, {"y_low"}));
  spec = Example();
  spec.series[1].y.pop_back();
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { WritePlot(spec, "/tmp/x"); }, {"lengths"}));
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { WritePlot(Example(), ""); }, {"stem"}));
}

TEST(GnuplotPlotTest, HeatMapWritesColumnsAndRejectsBadSizes) {
  const std::string dir = testing::MakeTempDir("moelab_heat");
  HeatMapSpec h;
  h.title = "load";
  h.x = {0, 10};
  h.rows = 2;
  h.values = {0.5, 1.5, 1.0, 1.0};
  const PlotOutput out = WriteHeatMap(h, dir + "/heat");
  const std::string data = ReadTextFile(out.data);
  EXPECT_NE(data.find("0 1 1.5\n"), std::string::npos);   // x = 0, row 1
  EXPECT_NE(data.find("10 0 1\n"), std::string::npos);    // x = 10, row 0
  EXPECT_NE(ReadTextFile(out.script).find("with image"), std::string::npos);
  EXPECT_TRUE(out.drawn) << out.message;
  h.values.pop_back();
  EXPECT_TRUE(testing::ThrowsInvalidArgument([&] { WriteHeatMap(h, dir + "/bad"); }, {"values"}));
}

}  // namespace
}  // namespace moelab
