#include "moelab/model/gaussian_moe.hpp"

#include "moelab/core/check.hpp"
#include "moelab/core/log_sum_exp.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {

GaussianMoe::GaussianMoe(MoeParams params) : params_(std::move(params)) {
  params_.Validate();
}

void GaussianMoe::CheckData(const Eigen::Ref<const Matrix>& X, Index rows_of_y) const {
  CheckSize("GaussianMoe", "X columns (d)", X.cols(), dim());
  CheckSize("GaussianMoe", "y length", rows_of_y, X.rows());
}

Matrix GaussianMoe::JointLogTerms(const Eigen::Ref<const Matrix>& X,
                                  const Eigen::Ref<const Vector>& y) const {
  CheckData(X, y.size());
  Matrix terms = GateLogWeights(params_.gate, X);
  terms += ExpertLogDensities(params_.experts, X, y);  // -inf + finite = -inf
  return terms;
}

Vector GaussianMoe::LogDensities(const Eigen::Ref<const Matrix>& X,
                                 const Eigen::Ref<const Vector>& y) const {
  return RowLogSumExp(JointLogTerms(X, y));
}

double GaussianMoe::LogDensity(const Eigen::Ref<const Vector>& x, double y) const {
  Matrix X = x.transpose();
  Vector yv = Vector::Constant(1, y);
  return LogDensities(X, yv)[0];
}

double GaussianMoe::LogLikelihood(const Dataset& data) const {
  data.Validate();
  return LogDensities(data.X, data.y).sum();
}

Matrix GaussianMoe::Responsibilities(const Dataset& data) const {
  data.Validate();
  Matrix terms = JointLogTerms(data.X, data.y);
  NormaliseLogRows(terms);
  return ExpOfLog(terms);
}

Vector GaussianMoe::ConditionalMean(const Eigen::Ref<const Matrix>& X) const {
  CheckSize("GaussianMoe::ConditionalMean", "X columns (d)", X.cols(), dim());
  const Matrix weights = ExpOfLog(GateLogWeights(params_.gate, X));
  return (weights.array() * ExpertMeans(params_.experts, X).array()).rowwise().sum();
}

Vector GaussianMoe::ConditionalVariance(const Eigen::Ref<const Matrix>& X) const {
  CheckSize("GaussianMoe::ConditionalVariance", "X columns (d)", X.cols(), dim());
  const Eigen::ArrayXXd weights = ExpOfLog(GateLogWeights(params_.gate, X)).array();
  const Eigen::ArrayXXd means = ExpertMeans(params_.experts, X).array();
  const Eigen::ArrayXd mean = (weights * means).rowwise().sum();
  // Law of total variance: E[var] + E[m^2] - (E[m])^2.
  Eigen::ArrayXXd second = means.square();
  second.rowwise() += params_.experts.variance.array().transpose();
  return ((weights * second).rowwise().sum() - mean.square()).matrix();
}

}  // namespace moelab
