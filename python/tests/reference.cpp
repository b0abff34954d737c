// C++ side of the bit-for-bit agreement test (test_agreement.py): runs a
// fixed simulate -> FitMoe -> prediction -> metrics pipeline through the
// library and prints every number as a C99 hex float
// ("%a"), which Python reads back exactly with float.fromhex. The Python test
// runs the same pipeline through moelab and requires identical bits.
//
// Usage: moelab_python_reference  (no arguments; everything is fixed here and
// mirrored in test_agreement.py).
#include <cstdio>
#include <exception>
#include <string>

#include "moelab/estimators/fit_moe.hpp"
#include "moelab/estimators/prediction.hpp"
#include "moelab/estimators/standard_errors.hpp"
#include "moelab/metrics/density_distance.hpp"
#include "moelab/metrics/voronoi_loss.hpp"
#include "moelab/model/gaussian_moe.hpp"
#include "moelab/simulation/presets.hpp"
#include "moelab/simulation/simulate.hpp"

namespace {

using moelab::Index;

void Print(const std::string& name, const Eigen::Ref<const Eigen::MatrixXd>& values) {
  std::printf("%s", name.c_str());
  for (Index j = 0; j < values.cols(); ++j)  // column-major, as NumPy's ravel(order="F")
    for (Index i = 0; i < values.rows(); ++i) std::printf(" %a", values(i, j));
  std::printf("\n");
}

void PrintScalar(const std::string& name, double value) {
  std::printf("%s %a\n", name.c_str(), value);
}

void PrintFit(const std::string& prefix, const moelab::FitResult& fit) {
  const moelab::MoeParams& p = fit.params;
  Print(prefix + ".gate.bias", p.gate.bias);
  Print(prefix + ".gate.slope", p.gate.slope);
  Print(prefix + ".experts.slope", p.experts.slope);
  Print(prefix + ".experts.intercept", p.experts.intercept);
  Print(prefix + ".experts.variance", p.experts.variance);
  PrintScalar(prefix + ".log_likelihood", fit.log_likelihood);
  std::printf("%s.iterations %d\n%s.best_restart %d\n%s.termination %s\n", prefix.c_str(),
              fit.iterations, prefix.c_str(), fit.best_restart, prefix.c_str(),
              moelab::ToString(fit.termination));
}

}  // namespace

int main() {
  try {
    const moelab::Preset preset = moelab::GetPreset("softmax-exact");
    moelab::Rng rng(20261203);
    const moelab::Dataset data = moelab::Simulate(preset.truth, preset.design, 300, rng);
    Print("data.X", data.X);
    Print("data.y", data.y);
    Print("data.labels", data.labels->cast<double>());

    moelab::ModelShape shape = moelab::ShapeOf(preset.truth);
    moelab::FitOptions options;
    options.num_starts = 4;
    options.seed = 7;
    const moelab::MoeFit em = moelab::FitMoe(data, shape, options);
    PrintFit("em", em.result);
    PrintScalar("em.bic", em.criteria.bic);
    Print("em.component_size", em.component_size);

    options.estimator = moelab::FitEstimator::kMle;
    options.num_starts = 2;
    PrintFit("mle", moelab::FitMoe(data, shape, options).result);

    const Eigen::MatrixXd grid = Eigen::VectorXd::LinSpaced(11, 0.0, 1.0);
    const moelab::MoePrediction prediction = moelab::Predict(em.params(), grid);
    Print("predict.mean", prediction.mean);
    Print("predict.variance", prediction.variance);
    Print("predict.gate", prediction.gate_probabilities);
    Print("predict.posteriors", moelab::Posteriors(em.params(), data.X, data.y));
    Print("predict.log_densities", moelab::GaussianMoe(em.params()).LogDensities(data.X, data.y));
    const moelab::StandardErrorReport se =
        moelab::ComputeStandardErrors(data, em.params(), moelab::StandardErrorOptions{});
    Eigen::VectorXd errors(static_cast<Index>(se.parameters.size()));
    for (std::size_t i = 0; i < se.parameters.size(); ++i)
      errors(static_cast<Index>(i)) = se.parameters[i].standard_error;
    Print("inference.standard_errors", errors);

    moelab::VoronoiLossOptions loss_options;
    loss_options.gauge = moelab::VoronoiGauge::kTranslationInfimum;
    PrintScalar("metrics.d1", moelab::ComputeVoronoiLoss(preset.truth, em.params(), loss_options).value);
    moelab::DensityDistanceOptions dd;  // Monte Carlo from its own generator
    moelab::Rng metric_rng(99);
    PrintScalar("metrics.hellinger",
                moelab::ExpectedHellinger(em.params(), preset.truth, preset.design, dd, metric_rng).value);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moelab_python_reference: %s\n", e.what());
    return 1;
  }
}
