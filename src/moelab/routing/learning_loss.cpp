#include "moelab/routing/learning_loss.hpp"

#include <cmath>
#include <numbers>

#include "moelab/core/check.hpp"

namespace moelab {
namespace {

// Offsets of the blocks of theta.
struct Layout {
  Index e, d;
  Index beta0() const { return 0; }
  Index beta1() const { return e; }
  Index b() const { return e + e * d; }
  Index a() const { return 2 * e + e * d; }
  Index log_nu() const { return 2 * e + 2 * e * d; }
  Index size() const { return 3 * e + 2 * e * d; }
};

// Group size of an aux counting level.
Index GroupSize(CountingLevel level, Index batch, const LearningLossOptions& o) {
  const Index micro = o.microbatch_size > 0 ? o.microbatch_size : batch;
  switch (level) {
    case CountingLevel::kMicroBatch: return micro;
    case CountingLevel::kSequence: return o.sequence_length > 0 ? o.sequence_length : micro;
    case CountingLevel::kGlobal: return batch;
  }
  return batch;
}

}  // namespace

Index NumLearningParameters(Index num_experts, Index dim) { return Layout{num_experts, dim}.size(); }

Vector PackLearningParameters(const MoeParams& params) {
  params.Validate();
  if (params.gate.kind != GateKind::kSoftmax && params.gate.kind != GateKind::kTopK)
    ThrowInvalid("PackLearningParameters", "the learning router needs a softmax or top-K gate");
  const Layout L{params.num_experts(), params.dim()};
  Vector theta(L.size());
  for (Index i = 0; i < L.e; ++i) {
    theta[L.beta0() + i] = params.gate.bias[i];
    theta[L.b() + i] = params.experts.intercept[i];
    theta[L.log_nu() + i] = std::log(params.experts.variance[i]);
    for (Index c = 0; c < L.d; ++c) {
      theta[L.beta1() + i * L.d + c] = params.gate.slope(i, c);
      theta[L.a() + i * L.d + c] = params.experts.slope(i, c);
    }
  }
  return theta;
}

MoeParams UnpackLearningParameters(const Vector& theta, const MoeParams& like) {
  const Layout L{like.num_experts(), like.dim()};
  CheckSize("UnpackLearningParameters", "theta", theta.size(), L.size());
  MoeParams p = like;
  for (Index i = 0; i < L.e; ++i) {
    p.gate.bias[i] = theta[L.beta0() + i];
    p.experts.intercept[i] = theta[L.b() + i];
    p.experts.variance[i] = std::exp(theta[L.log_nu() + i]);
    for (Index c = 0; c < L.d; ++c) {
      p.gate.slope(i, c) = theta[L.beta1() + i * L.d + c];
      p.experts.slope(i, c) = theta[L.a() + i * L.d + c];
    }
  }
  return p;
}

LearningLoss EvaluateLearningLoss(const Vector& theta, Index num_experts, const Eigen::Ref<const Vector>& prices,
                                  const Eigen::Ref<const Matrix>& X, const Eigen::Ref<const Vector>& y,
                                  const LearningLossOptions& o) {
  constexpr const char* kFn = "EvaluateLearningLoss";
  const Index e = num_experts, B = X.rows(), d = X.cols();
  const Layout L{e, d};
  CheckSize(kFn, "theta", theta.size(), L.size());
  CheckSize(kFn, "prices", prices.size(), e);
  CheckSize(kFn, "y", y.size(), B);
  if (B < 1) ThrowInvalid(kFn, "empty batch");
  if (o.top_k < 1 || o.top_k > e) ThrowInvalid(kFn, "top_k must be in [1, E]");
  for (const AuxTerm& term : o.aux) {
    const Index g = GroupSize(term.level, B, o);
    if (g < 1 || B % g != 0)
      ThrowInvalid(kFn, std::string("the ") + ToString(term.level) + " group size (" + std::to_string(g) +
                            ") must divide the batch (" + std::to_string(B) + ")");
    CheckNonNegative(kFn, "aux coeff", term.coeff);
  }
  const int K = o.top_k;
  const auto beta0 = theta.segment(L.beta0(), e);
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> beta1(
      theta.data() + L.beta1(), e, d);
  const auto b = theta.segment(L.b(), e);
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> a(
      theta.data() + L.a(), e, d);
  const Vector nu = theta.segment(L.log_nu(), e).array().exp();
  const Vector log_norm = -0.5 * (2.0 * std::numbers::pi * nu.array()).log();

  const Matrix Z = (X * beta1.transpose()).rowwise() + beta0.transpose();  // B x E
  const Matrix M = (X * a.transpose()).rowwise() + b.transpose();          // B x E

  LearningLoss out;
  out.loads = Vector::Zero(e);
  RoutingResult& r = out.routing;
  r.num_tokens = B;
  r.slots = K;
  r.selected.assign(static_cast<std::size_t>(B * K), -1);
  r.count.assign(static_cast<std::size_t>(B), K);
  Matrix dZ, dM, dLogNu;
  if (o.gradient) {
    dZ = Matrix::Zero(B, e);
    dM = Matrix::Zero(B, e);
    dLogNu = Matrix::Zero(B, e);
  }
  std::vector<double> v(static_cast<std::size_t>(e)), joint(static_cast<std::size_t>(K)),
      dens(static_cast<std::size_t>(K));
  double nll = 0.0;
  const double inv_b = 1.0 / static_cast<double>(B);
  for (Index t = 0; t < B; ++t) {
    for (Index j = 0; j < e; ++j) v[j] = Z(t, j) - prices[j];
    int* S = &r.selected[static_cast<std::size_t>(t * K)];
    TopKOfRow(v.data(), 0, static_cast<int>(e), K, S);
    double zmax = -std::numeric_limits<double>::infinity();
    for (int s = 0; s < K; ++s) zmax = std::max(zmax, Z(t, S[s]));
    double zsum = 0.0;
    for (int s = 0; s < K; ++s) zsum += std::exp(Z(t, S[s]) - zmax);
    const double log_zsum = zmax + std::log(zsum);
    double jmax = -std::numeric_limits<double>::infinity();
    for (int s = 0; s < K; ++s) {
      const int i = S[s];
      out.loads[i] += 1.0;
      const double res = y[t] - M(t, i);
      joint[s] = Z(t, i) - log_zsum + log_norm[i] - 0.5 * res * res / nu[i];
      jmax = std::max(jmax, joint[s]);
    }
    double jsum = 0.0;
    for (int s = 0; s < K; ++s) jsum += std::exp(joint[s] - jmax);
    const double log_p = jmax + std::log(jsum);
    nll -= log_p;
    if (!o.gradient) continue;
    for (int s = 0; s < K; ++s) {
      const int i = S[s];
      const double g = std::exp(Z(t, i) - log_zsum);
      const double resp = std::exp(joint[s] - log_p);
      const double res = y[t] - M(t, i);
      dZ(t, i) = (g - resp) * inv_b;
      dM(t, i) = -resp * res / nu[i] * inv_b;
      dLogNu(t, i) = -0.5 * resp * (res * res / nu[i] - 1.0) * inv_b;
    }
  }
  out.nll = nll * inv_b;

  // Aux terms: softmax over all E experts of z for P.
  if (!o.aux.empty()) {
    Matrix P = Z;
    for (Index t = 0; t < B; ++t) {
      const double mx = P.row(t).maxCoeff();
      P.row(t) = (P.row(t).array() - mx).exp();
      P.row(t) /= P.row(t).sum();
    }
    for (const AuxTerm& term : o.aux) {
      if (term.coeff == 0.0) continue;
      const Index g = GroupSize(term.level, B, o);
      const Index groups = B / g;
      double lbl = 0.0;
      for (Index begin = 0; begin < B; begin += g) {
        Vector c = Vector::Zero(e);
        for (Index t = begin; t < begin + g; ++t)
          for (int s = 0; s < K; ++s) c[r.selected[static_cast<std::size_t>(t * K + s)]] += 1.0;
        const Vector f = c / c.sum();
        const Vector Pbar = P.middleRows(begin, g).colwise().mean().transpose();
        lbl += static_cast<double>(e) * f.dot(Pbar);
        if (!o.gradient) continue;
        const double scale = term.coeff * static_cast<double>(e) / (static_cast<double>(g) * groups);
        for (Index t = begin; t < begin + g; ++t) {
          const double fp = P.row(t).dot(f);
          for (Index k = 0; k < e; ++k) dZ(t, k) += scale * P(t, k) * (f[k] - fp);
        }
      }
      out.aux += term.coeff * lbl / static_cast<double>(groups);
    }
  }

  if (o.gradient) {
    out.gradient = Vector::Zero(L.size());
    out.gradient.segment(L.beta0(), e) = dZ.colwise().sum().transpose();
    out.gradient.segment(L.b(), e) = dM.colwise().sum().transpose();
    out.gradient.segment(L.log_nu(), e) = dLogNu.colwise().sum().transpose();
    const Matrix g1 = dZ.transpose() * X, ga = dM.transpose() * X;  // E x d
    for (Index i = 0; i < e; ++i)
      for (Index c = 0; c < d; ++c) {
        out.gradient[L.beta1() + i * d + c] = g1(i, c);
        out.gradient[L.a() + i * d + c] = ga(i, c);
      }
  }
  return out;
}

}  // namespace moelab
