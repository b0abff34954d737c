#include "moelab/io/gnuplot_plot.hpp"

#include <gtest/gtest.h>

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
