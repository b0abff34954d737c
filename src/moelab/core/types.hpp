// Basic numeric types shared by every moelab module.
#pragma once

#include <Eigen/Dense>

namespace moelab {

using Index = Eigen::Index;
using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;
using IntVector = Eigen::VectorXi;

}  // namespace moelab
