// moelab._moelab: the pybind11 extension behind the Python package moelab.
// See common.hpp for the conventions every binding follows.
#include "common.hpp"
#include "moelab/estimators/detail/simd_level.hpp"

PYBIND11_MODULE(_moelab, m) {
  m.doc() =
      "moelab C++ core: Gaussian mixture-of-experts models, estimators, metrics, rate studies "
      "and the load-balancing lab. Use the package moelab (moelab.MixtureOfExperts and the "
      "helpers in moelab.research); this module is its thin binding.";
  // A bad MOELAB_SIMD fails the import (ImportError) with its message.
  moelab::detail::CheckSimdEnvironment();
  namespace mp = moelab::python;
  mp::BindCore(m);
  mp::BindModel(m);
  mp::BindSimulation(m);
  mp::BindEstimators(m);
  mp::BindMetrics(m);
  mp::BindRates(m);
  mp::BindRouting(m);
}
