#include "moelab/estimators/restarts.hpp"

#include <chrono>
#include <cmath>
#include <sstream>
#include <vector>

#include "moelab/core/check.hpp"
#include "moelab/core/parallel_for.hpp"

namespace moelab {

namespace {

// a is strictly better than b in log-likelihood (NaN is worst).
bool Higher(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a > b;
}

}  // namespace

FitResult BestOfStarts(int num_starts, const std::function<MoeParams(Rng&)>& make_start,
                       const std::function<FitResult(const MoeParams&)>& fit, Rng& rng,
                       int num_threads) {
  constexpr const char* kFn = "BestOfStarts";
  if (num_starts < 1) ThrowInvalid(kFn, "num_starts must be >= 1");
  if (!make_start) ThrowInvalid(kFn, "make_start is empty");
  if (!fit) ThrowInvalid(kFn, "fit is empty");
  if (num_threads < 1) ThrowInvalid(kFn, "num_threads must be >= 1");
  const auto start_time = std::chrono::steady_clock::now();

  std::vector<MoeParams> starts;
  starts.reserve(num_starts);
  for (int s = 0; s < num_starts; ++s) starts.push_back(make_start(rng));

  std::vector<FitResult> results(static_cast<std::size_t>(num_starts));
  ParallelFor(num_starts, num_threads, [&](int s) { results[s] = fit(starts[s]); });

  // Reduced in start order whatever thread ran which fit.
  FitResult best_usable, best_unusable;
  int usable_index = -1, unusable_index = -1;
  for (int s = 0; s < num_starts; ++s) {
    FitResult& result = results[s];
    if (result.IsUsable()) {
      if (usable_index < 0 || Higher(result.log_likelihood, best_usable.log_likelihood)) {
        best_usable = std::move(result);
        usable_index = s;
      }
    } else if (unusable_index < 0 ||
               Higher(result.log_likelihood, best_unusable.log_likelihood)) {
      best_unusable = std::move(result);
      unusable_index = s;
    }
  }
  FitResult out;
  if (usable_index >= 0) {
    out = std::move(best_usable);
    out.best_restart = usable_index;
  } else {
    out = std::move(best_unusable);
    out.best_restart = unusable_index;
    std::ostringstream os;
    os << "no usable start among " << num_starts << "; best unusable start #" << unusable_index
       << ": " << out.message;
    out.message = os.str();
  }
  out.restarts = num_starts;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  return out;
}

}  // namespace moelab
