#include "moelab/routing/score_function.hpp"

#include <cmath>
#include <stdexcept>

namespace moelab {
namespace {

// log(1 + exp(z)) without overflow.
double Softplus(double z) { return z > 0.0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }
double Sigmoid(double z) {
  if (z >= 0.0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

void SoftmaxRow(const Eigen::Ref<const Matrix>& logits, Index r, Eigen::Ref<Matrix> out) {
  const double max = logits.row(r).maxCoeff();
  double sum = 0.0;
  for (Index j = 0; j < logits.cols(); ++j) {
    out(r, j) = std::exp(logits(r, j) - max);
    sum += out(r, j);
  }
  out.row(r) /= sum;
}

}  // namespace

const char* ToString(ScoreFunction f) {
  switch (f) {
    case ScoreFunction::kSoftmax: return "softmax";
    case ScoreFunction::kSigmoid: return "sigmoid";
    case ScoreFunction::kSqrtSoftplus: return "sqrt-softplus";
    case ScoreFunction::kLogit: return "logit";
  }
  return "unknown";
}

ScoreFunction ParseScoreFunction(const std::string& name) {
  if (name == "softmax") return ScoreFunction::kSoftmax;
  if (name == "sigmoid") return ScoreFunction::kSigmoid;
  if (name == "sqrt-softplus" || name == "sqrtsoftplus") return ScoreFunction::kSqrtSoftplus;
  if (name == "logit") return ScoreFunction::kLogit;
  throw std::invalid_argument("unknown score function '" + name +
                              "' (valid: softmax, sigmoid, sqrt-softplus, logit)");
}

Matrix ApplyScoreFunction(ScoreFunction f, const Eigen::Ref<const Matrix>& logits) {
  Matrix s(logits.rows(), logits.cols());
  switch (f) {
    case ScoreFunction::kSoftmax:
      for (Index r = 0; r < logits.rows(); ++r) SoftmaxRow(logits, r, s);
      break;
    case ScoreFunction::kSigmoid:
      s = logits.unaryExpr([](double z) { return Sigmoid(z); });
      break;
    case ScoreFunction::kSqrtSoftplus:
      s = logits.unaryExpr([](double z) { return std::sqrt(Softplus(z)); });
      break;
    case ScoreFunction::kLogit:
      s = logits;
      break;
  }
  return s;
}

void AuxProbabilities(ScoreFunction f, const Eigen::Ref<const Matrix>& logits, Matrix* probs,
                      Matrix* factors) {
  const Index n = logits.rows(), e = logits.cols();
  probs->resize(n, e);
  factors->resize(n, e);
  if (f == ScoreFunction::kSoftmax || f == ScoreFunction::kLogit) {
    // phi = exp: phi'(z_k) / sum(a) = P_k.
    for (Index r = 0; r < n; ++r) SoftmaxRow(logits, r, *probs);
    *factors = *probs;
    return;
  }
  for (Index r = 0; r < n; ++r) {
    double sum = 0.0;
    for (Index j = 0; j < e; ++j) {
      const double z = logits(r, j);
      double a, da;
      if (f == ScoreFunction::kSigmoid) {
        a = Sigmoid(z);
        da = a * (1.0 - a);
      } else {  // sqrt-softplus: d/dz sqrt(sp(z)) = sigmoid(z) / (2 sqrt(sp(z)))
        a = std::sqrt(Softplus(z));
        da = Sigmoid(z) / (2.0 * a);
      }
      (*probs)(r, j) = a;
      (*factors)(r, j) = da;
      sum += a;
    }
    probs->row(r) /= sum;
    factors->row(r) /= sum;
  }
}

}  // namespace moelab
