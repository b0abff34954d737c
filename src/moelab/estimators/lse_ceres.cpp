#include "moelab/estimators/lse_ceres.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "moelab/core/check.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/estimators/detail/fit_input.hpp"
#include "moelab/estimators/objective.hpp"
#include "moelab/estimators/variance_floor.hpp"
#include "moelab/model/gates/gate.hpp"
#include "moelab/model/gaussian_moe.hpp"

namespace moelab {
namespace {

// Packed mean parameters: free gate entries (FreeGateEntries), then per
// expert (b_i, a_i).
class MeanLayout {
 public:
  explicit MeanLayout(const MoeParams& shape)
      : shape_(shape),
        k_(shape.num_experts()),
        d_(shape.dim()),
        free_gate_(FreeGateEntries(shape.gate)) {}

  Index size() const { return expert_offset(k_); }
  Index expert_offset(Index i) const {
    return static_cast<Index>(free_gate_.size()) + i * (d_ + 1);
  }
  const std::vector<Index>& free_gate() const { return free_gate_; }

  Vector Pack(const MoeParams& params) const {
    const MoeParams normalised = NormaliseGauge(params);
    const Vector gate = PackGate(normalised.gate, /*with_temperature=*/false);
    Vector x(size());
    for (size_t j = 0; j < free_gate_.size(); ++j) x[j] = gate[free_gate_[j]];
    for (Index i = 0; i < k_; ++i) {
      x[expert_offset(i)] = normalised.experts.intercept[i];
      x.segment(expert_offset(i) + 1, d_) = normalised.experts.slope.row(i).transpose();
    }
    return x;
  }

  // Gate and expert means from x; variances stay those of the shape.
  MoeParams Unpack(const double* x) const {
    MoeParams params = shape_;
    Vector gate = Vector::Zero(PackedGateSize(k_, d_, false));
    for (size_t j = 0; j < free_gate_.size(); ++j) gate[free_gate_[j]] = x[j];
    UnpackGate(gate, /*with_temperature=*/false, &params.gate);
    for (Index i = 0; i < k_; ++i) {
      params.experts.intercept[i] = x[expert_offset(i)];
      for (Index c = 0; c < d_; ++c) params.experts.slope(i, c) = x[expert_offset(i) + 1 + c];
    }
    return params;
  }

 private:
  MoeParams shape_;
  Index k_, d_;
  std::vector<Index> free_gate_;
};

// Residuals y_n - f(x_n) of rows [begin, begin + rows) with the analytic
// Jacobian (see the header for the formulas).
class MeanBlockCost final : public ceres::CostFunction {
 public:
  MeanBlockCost(const Dataset& data, const MeanLayout& layout, Index begin, Index rows)
      : data_(data), layout_(layout), begin_(begin), rows_(rows) {
    set_num_residuals(static_cast<int>(rows));
    mutable_parameter_block_sizes()->push_back(static_cast<int>(layout.size()));
  }

  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override {
    const MoeParams params = layout_.Unpack(parameters[0]);
    const Gate& gate = GateFor(params.gate.kind);
    const auto X = data_.X.middleRows(begin_, rows_);
    const Matrix logits = gate.SelectedLogits(params.gate, X);
    const Vector lse = RowLogSumExp(logits);
    const Matrix means = ExpertMeans(params.experts, X);
    const Index k = logits.cols(), d = X.cols(), P = layout_.size();
    Matrix weights(rows_, k);
    for (Index i = 0; i < k; ++i) {
      for (Index r = 0; r < rows_; ++r) {
        weights(r, i) = logits(r, i) == kNegInf ? 0.0 : std::exp(logits(r, i) - lse[r]);
      }
    }
    const Vector fitted = (weights.array() * means.array()).rowwise().sum();
    Eigen::Map<Vector> res(residuals, rows_);
    res = data_.y.segment(begin_, rows_) - fitted;
    if (!res.allFinite()) return false;
    if (jacobians == nullptr || jacobians[0] == nullptr) return true;

    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> J(
        jacobians[0], rows_, P);
    const std::vector<Index>& free = layout_.free_gate();
    Vector gate_gradient(PackedGateSize(k, d, false));
    Matrix x_row(1, d), logit_row(1, k), dlogit_row(1, k);
    for (Index r = 0; r < rows_; ++r) {
      // d f_n / d s_nj = g_nj (m_nj - f_n), contracted by the gate itself.
      x_row = X.row(r);
      logit_row = logits.row(r);
      for (Index j = 0; j < k; ++j) {
        dlogit_row(0, j) = weights(r, j) * (means(r, j) - fitted[r]);
      }
      gate_gradient.setZero();
      gate.AccumulateLogitGradient(params.gate, x_row, logit_row, dlogit_row, false,
                                   gate_gradient);
      for (size_t j = 0; j < free.size(); ++j) J(r, j) = -gate_gradient[free[j]];
      for (Index i = 0; i < k; ++i) {
        const Index offset = layout_.expert_offset(i);
        J(r, offset) = -weights(r, i);
        for (Index c = 0; c < d; ++c) J(r, offset + 1 + c) = -weights(r, i) * X(r, c);
      }
    }
    return J.allFinite();
  }

 private:
  const Dataset& data_;
  const MeanLayout& layout_;
  Index begin_, rows_;
};

// Turns Ceres iterations into moelab IterationSummaries.
class CallbackAdapter final : public ceres::IterationCallback {
 public:
  CallbackAdapter(const LseCeresOptions& options, Index n, const std::vector<double>& x,
                  std::vector<IterationSummary>* history)
      : options_(options), n_(n), x_(x), previous_x_(x), history_(history) {}

  bool user_stopped() const { return user_stopped_; }

  ceres::CallbackReturnType operator()(const ceres::IterationSummary& s) override {
    IterationSummary summary;
    summary.iteration = s.iteration;
    // On a rejected step Ceres reports the candidate's cost; the iterate (and
    // so the history) stays at the last accepted cost.
    if (s.iteration == 0 || s.step_is_successful) accepted_cost_ = s.cost;
    const double rss = 2.0 * accepted_cost_;
    summary.log_likelihood =
        -0.5 * static_cast<double>(n_) *
        (std::log(2.0 * std::numbers::pi * rss / static_cast<double>(n_)) + 1.0);
    if (s.iteration > 0 && std::isfinite(previous_ll_)) {
      summary.relative_change =
          std::abs(summary.log_likelihood - previous_ll_) / std::abs(previous_ll_);
    }
    double change = 0.0;
    for (size_t j = 0; j < x_.size(); ++j) change = std::max(change, std::abs(x_[j] - previous_x_[j]));
    summary.parameter_change = change;
    summary.gradient_norm = s.gradient_max_norm;
    summary.seconds = s.cumulative_time_in_seconds;
    previous_ll_ = summary.log_likelihood;
    previous_x_ = x_;
    if (options_.record_history) history_->push_back(summary);
    if (options_.callback && options_.callback(summary) == CallbackReturn::kStop) {
      user_stopped_ = true;
      return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
    }
    return ceres::SOLVER_CONTINUE;
  }

 private:
  const LseCeresOptions& options_;
  Index n_;
  const std::vector<double>& x_;  // Ceres updates it every iteration
  std::vector<double> previous_x_;
  double previous_ll_ = std::numeric_limits<double>::quiet_NaN();
  double accepted_cost_ = 0.0;
  bool user_stopped_ = false;
  std::vector<IterationSummary>* history_;
};

// The mean function sum_i g_i(x) m_i(x) of `params` at every row.
Vector MeanFunction(MoeParams params, const Matrix& X) {
  params.experts.variance.setOnes();  // not used by the mean; keeps Validate happy
  return GaussianMoe(std::move(params)).ConditionalMean(X);
}

}  // namespace

void LseCeresOptions::Validate() const {
  constexpr const char* kFn = "LseCeresOptions::Validate";
  if (max_iterations < 1) {
    ThrowInvalid(kFn, "max_iterations must be >= 1, got " + std::to_string(max_iterations));
  }
  CheckNonNegative(kFn, "function_tolerance", function_tolerance);
  CheckNonNegative(kFn, "gradient_tolerance", gradient_tolerance);
  CheckNonNegative(kFn, "parameter_tolerance", parameter_tolerance);
  CheckVarianceFloor(kFn, variance_floor);
}

namespace {

// FitLseCeres on the standardised problem (detail/fit_input.hpp): Var(y) = 1.
FitResult FitLseStandardised(const Dataset& data, const MoeParams& init,
                             const LseCeresOptions& options) {
  constexpr const char* kFn = "FitLseCeres";
  const auto start = std::chrono::steady_clock::now();
  options.Validate();
  detail::CheckFitInput(kFn, data, init);
  const MeanLayout layout(init);
  const Index n = data.size(), P = layout.size();
  detail::CheckEnoughObservations(kFn, n, P, "free mean parameters");

  FitResult result;
  result.estimator = "lse-ceres";
  const Vector x0 = layout.Pack(init);
  std::vector<double> x(x0.data(), x0.data() + x0.size());

  const Vector start_residuals = data.y - MeanFunction(layout.Unpack(x.data()), data.X);
  if (!start_residuals.allFinite()) {
    result.termination = TerminationType::kNumericalFailure;
    result.message = "the mean function at the starting point is not finite";
  } else {
    ceres::Problem problem;
    for (Index begin = 0; begin < n; begin += kRowsPerResidualBlock) {
      const Index rows = std::min(kRowsPerResidualBlock, n - begin);
      problem.AddResidualBlock(new MeanBlockCost(data, layout, begin, rows), nullptr, x.data());
    }
    ceres::Solver::Options solver_options;
    solver_options.minimizer_type = ceres::TRUST_REGION;
    solver_options.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
    solver_options.linear_solver_type = ceres::DENSE_QR;
    solver_options.max_num_iterations = options.max_iterations;
    solver_options.function_tolerance = options.function_tolerance;
    solver_options.gradient_tolerance = options.gradient_tolerance;
    solver_options.parameter_tolerance = options.parameter_tolerance;
    solver_options.num_threads = 1;
    solver_options.logging_type = ceres::SILENT;
    solver_options.minimizer_progress_to_stdout = false;
    CallbackAdapter adapter(options, n, x, &result.history);
    if (options.record_history || options.callback) {
      solver_options.update_state_every_iteration = true;
      solver_options.callbacks.push_back(&adapter);
    }
    ceres::Solver::Summary summary;
    ceres::Solve(solver_options, &problem, &summary);
    result.message = summary.BriefReport();
    // Accepted Levenberg-Marquardt steps, and every residual evaluation.
    result.iterations = summary.num_successful_steps;
    result.evaluations = summary.num_residual_evaluations;
    switch (summary.termination_type) {
      case ceres::CONVERGENCE: result.termination = TerminationType::kConverged; break;
      case ceres::NO_CONVERGENCE: result.termination = TerminationType::kMaxIterations; break;
      case ceres::USER_SUCCESS:
        result.termination = adapter.user_stopped() ? TerminationType::kUserStopped
                                                    : TerminationType::kConverged;
        break;
      default: result.termination = TerminationType::kNumericalFailure; break;
    }
  }

  // Parameters: the mean fit, and the common variance RSS / n (see header).
  MoeParams params = layout.Unpack(x.data());
  Vector residuals = data.y - MeanFunction(params, data.X);
  if (!residuals.allFinite()) {  // defensive: fall back to the start
    params = layout.Unpack(x0.data());
    residuals = start_residuals;
    result.termination = TerminationType::kNumericalFailure;
  }
  const double rss = residuals.squaredNorm();
  result.objective = rss;
  if (std::isfinite(rss)) {
    const double variance_floor = AbsoluteVarianceFloor(options.variance_floor, data.y);
    const double variance = std::max(rss / static_cast<double>(n), variance_floor);
    params.experts.variance.setConstant(variance);  // one variance: every expert or none at the floor
    result.variance_floor_hits = CountVarianceFloorHits(params, variance_floor);
    result.params = NormaliseGauge(params);
    result.log_likelihood = GaussianMoe(result.params).LogLikelihood(data);
  } else {
    // Only after a numerical failure at the start: keep the starting
    // variances so the parameters stay a valid model.
    params.experts.variance = init.experts.variance;
    result.params = NormaliseGauge(params);
    result.log_likelihood = kNegInf;
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

FitResult FitLseCeres(const Dataset& data, const MoeParams& init,
                      const LseCeresOptions& options) {
  return detail::FitInStandardisedUnits("FitLseCeres", "lse-ceres", data, init, options,
                                         detail::ObjectiveKind::kSumOfSquares, FitLseStandardised);
}

}  // namespace moelab
