// Load-balance metrics of one load vector c (docs/theory.md §7.8).
//
// The reference load is the realised mean L = sum_j c_j / E, so routers that
// select a variable number of experts per token (top-p, null experts) are
// measured against what they actually sent (docs/theory.md §7.6, §7.8):
//   MaxVio = (max_j c_j - L) / L          (Wang et al. Eq. 4)
//   MinVio = (L - min_j c_j) / L
//   CV     = std_j(c_j) / L               (population std)
//   idle   = #{j : c_j = 0}
//   IS     = (max_d T_d - min_d T_d) / |X|  (Pangu Eq. 3), T_d the load of the
//            d-th of `num_groups` equal contiguous expert groups (devices) and
//            |X| the number of tokens in the counted set.
// An all-zero load vector has no reference: the vio metrics are then 0.
#pragma once

#include "moelab/core/types.hpp"

namespace moelab {

double MaxVio(const Eigen::Ref<const Vector>& loads);
double MinVio(const Eigen::Ref<const Vector>& loads);
double LoadCoefficientOfVariation(const Eigen::Ref<const Vector>& loads);
Index IdleExperts(const Eigen::Ref<const Vector>& loads);
// Throws std::invalid_argument unless num_groups divides loads.size() and
// num_tokens >= 1.
double ImbalanceScore(const Eigen::Ref<const Vector>& loads, Index num_groups, Index num_tokens);

// Mutual information I(domain; expert) in nats of a D x E table of
// assignment counts (Demons in the Detail's specialisation measure): with
// q = counts / sum, I = sum q_de log(q_de / (q_d. q_.e)). 0 for an empty or
// single-row table; at most log(min(D, E)). Throws std::invalid_argument for
// negative or non-finite counts.
double DomainExpertMutualInformation(const Eigen::Ref<const Matrix>& counts);

}  // namespace moelab
