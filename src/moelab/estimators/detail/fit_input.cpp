#include "moelab/estimators/detail/fit_input.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "moelab/core/check.hpp"

namespace moelab::detail {

void CheckFitInput(std::string_view function, const Dataset& data, const MoeParams& init) {
  data.Validate();
  init.Validate();
  CheckSize(function, "init dimension d (data X columns)", init.dim(), data.dim());
}

void CheckEnoughObservations(std::string_view function, Index n, Index num_parameters,
                             std::string_view parameter_kind) {
  if (n < num_parameters) {
    std::ostringstream os;
    os << "n = " << n << " is smaller than the number of " << parameter_kind << " ("
       << num_parameters << ")";
    ThrowInvalid(function, os.str());
  }
}

namespace {

// sqrt(mean(v^2)) without overflow or underflow in the squares.
double RootMeanSquare(const Eigen::Ref<const Vector>& v) {
  const double largest = v.cwiseAbs().maxCoeff();
  if (largest == 0.0 || !std::isfinite(largest)) return largest;
  return largest * std::sqrt((v / largest).squaredNorm() / static_cast<double>(v.size()));
}

}  // namespace

StandardisedProblem::StandardisedProblem(std::string_view function, const Dataset& data,
                                         const MoeParams& init) {
  const double n = static_cast<double>(data.size());
  // The mean as a sum of y/n cannot overflow for finite y.
  y_shift_ = (data.y / n).sum();
  const Vector centred = data.y.array() - y_shift_;
  y_scale_ = RootMeanSquare(centred);
  // Constant y: tested on the values (the computed mean of equal values can
  // differ from them by round-off, leaving a tiny non-zero spread).
  if (data.y.maxCoeff() == data.y.minCoeff() || !(y_scale_ > 0.0)) {
    std::ostringstream os;
    os.precision(17);
    os << "y is constant (every one of the " << data.size() << " responses is " << data.y[0]
       << "): the likelihood has no maximum (an expert on the constant with variance -> 0), "
          "so there is nothing to fit";
    ThrowInvalid(function, os.str());
  }
  if (!std::isfinite(y_scale_) || !centred.allFinite())
    ThrowInvalid(function, "y spans more than the range of a double once centred; rescale y");
  x_scale_.resize(data.dim());
  for (Index j = 0; j < data.dim(); ++j) {
    const double t = RootMeanSquare(data.X.col(j));
    x_scale_[j] = t > 0.0 ? t : 1.0;
  }
  data_.y = centred / y_scale_;
  data_.X = data.X * x_scale_.cwiseInverse().asDiagonal();
  data_.labels = data.labels;
  init_ = ToStandardised(init);
  try {
    init_.Validate();
  } catch (const std::invalid_argument& e) {
    std::ostringstream os;
    os << "the start is not a valid model in the standardised units of the data (y / " << y_scale_
       << "): " << e.what();
    start_problem_ = os.str();
  }
}

FitResult StandardisedProblem::StartFailure(const std::string& estimator, const MoeParams& init,
                                            double objective) const {
  FitResult result;
  result.estimator = estimator;
  result.params = NormaliseGauge(init);
  result.log_likelihood = -std::numeric_limits<double>::infinity();
  result.objective = objective;
  result.termination = TerminationType::kNumericalFailure;
  result.message = start_problem_;
  return result;
}

MoeParams StandardisedProblem::ToStandardised(const MoeParams& p) const {
  MoeParams s = p;
  s.gate.slope = p.gate.slope * x_scale_.asDiagonal();
  s.experts.slope = p.experts.slope * x_scale_.asDiagonal() / y_scale_;
  s.experts.intercept = (p.experts.intercept.array() - y_shift_) / y_scale_;
  s.experts.variance = p.experts.variance / (y_scale_ * y_scale_);
  return s;
}

MoeParams StandardisedProblem::ToOriginal(const MoeParams& s) const {
  MoeParams p = s;
  p.gate.slope = s.gate.slope * x_scale_.cwiseInverse().asDiagonal();
  p.experts.slope = s.experts.slope * x_scale_.cwiseInverse().asDiagonal() * y_scale_;
  p.experts.intercept = s.experts.intercept.array() * y_scale_ + y_shift_;
  p.experts.variance = s.experts.variance * (y_scale_ * y_scale_);
  return p;
}

double StandardisedProblem::LogLikelihoodToOriginal(double log_likelihood) const {
  return log_likelihood - static_cast<double>(data_.size()) * std::log(y_scale_);
}

IterationCallback StandardisedProblem::WrapCallback(const IterationCallback& callback) const {
  if (!callback) return callback;
  return [this, callback](const IterationSummary& summary) {
    IterationSummary original = summary;
    original.log_likelihood = LogLikelihoodToOriginal(summary.log_likelihood);
    return callback(original);
  };
}

void StandardisedProblem::Restore(FitResult* result, double variance_floor) const {
  result->params = ToOriginal(result->params);
  result->log_likelihood = LogLikelihoodToOriginal(result->log_likelihood);
  for (auto& step : result->history) step.log_likelihood = LogLikelihoodToOriginal(step.log_likelihood);
  if (result->variance_floor_hits > 0 && result->message.find("variance-floor hits") == std::string::npos) {
    std::ostringstream os;
    os << "; " << result->variance_floor_hits << " variance-floor hits (floor "
       << variance_floor * y_scale_ * y_scale_ << " in the units of y = " << variance_floor
       << " Var(y))";
    result->message += os.str();
  }
}

}  // namespace moelab::detail
