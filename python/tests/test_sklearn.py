"""scikit-learn's estimator checks (Debian's scikit-learn 1.2), one pytest
test per check, none skipped.

Why every check can run: the regressor's extra outputs have their own names
(gate_probabilities, log_density, posterior, ...), so no check meets a
method with a signature it does not expect (there is no predict_proba and
no score_samples: both are functions of X alone in scikit-learn, while a
conditional density needs y). Checks on tiny data (one sample, 20 x 5
arrays) meet the documented small-sample behaviour: fewer experts with a
SmallSampleWarning, or a ValueError naming "n_samples = 1" below one expert's
parameter count, which check_fit2d_1sample accepts.
"""
import pytest
from sklearn.utils.estimator_checks import check_estimator

import moelab

CHECKS = list(check_estimator(moelab.MixtureOfExperts(n_init=3, random_state=0), generate_only=True))


def _name(check):
    func = getattr(check, "func", check)
    return func.__name__


def test_the_checks_were_generated():
    # A regressor gets about 40 checks in scikit-learn 1.2; far fewer means
    # the list above stopped describing what check_estimator runs.
    assert len(CHECKS) >= 35, [_name(c) for _, c in CHECKS]


@pytest.mark.parametrize("estimator, check", CHECKS, ids=[_name(c) for _, c in CHECKS])
def test_sklearn_check(estimator, check):
    check(estimator)


def test_check_estimator_as_a_whole():
    # The public entry point itself, as a user would call it.
    check_estimator(moelab.MixtureOfExperts(n_init=2, random_state=1))
