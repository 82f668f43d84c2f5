"""numerics.quadrature: Gaussian moments by quadrature, certified balls that contain the truth."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest

from numerics.errors import InvalidParameter
from numerics.precision import mpf_exact, workdps
from numerics.quadrature import certified_gaussian_expectation, gaussian_expectation, integrate_line


@pytest.mark.parametrize("mean, var", [("0", "1"), ("-3/2", "1/7"), ("12", "40")])
def test_gaussian_moments_match_the_moment_formulas(mean, var):
    m, v = Fraction(mean), Fraction(var)
    # E X^2 = m^2 + v and E X^4 = m^4 + 6 m^2 v + 3 v^2 (Gaussian moment formulas)
    second = gaussian_expectation(lambda x: x**2, mean, var, 50)
    fourth = gaussian_expectation(lambda x: x**4, mean, var, 50)
    with workdps(50):
        exact2 = mpf_exact(m**2 + v)
        exact4 = mpf_exact(m**4 + 6 * m**2 * v + 3 * v**2)
        assert abs(second.value - exact2) < mpmath.mpf(10) ** -40 * abs(exact2)
        assert abs(fourth.value - exact4) < mpmath.mpf(10) ** -40 * abs(exact4)
        assert second.error < mpmath.mpf(10) ** -40


def test_integrate_line_normalises_a_two_component_mixture():
    def mixture(x):
        return (mpmath.npdf(x, -4, 1) + 3 * mpmath.npdf(x, 5, mpmath.mpf(1) / 3)) / 4

    result = integrate_line(mixture, 50, breakpoints=(-4, 5))
    with workdps(50):
        assert abs(result.value - 1) < mpmath.mpf(10) ** -40


def test_certified_ball_contains_the_gaussian_kl_and_excludes_a_wrong_value():
    from flint import acb

    # log N(x;0,1) - log N(x;1,2) = -x^2/2 + (x-1)^2/4 + log(2)/2; its mean under N(0,1) is
    # KL(N(0,1) || N(1,2)) = (1/2)(1/2 + 1/2 - 1 + log 2) = log(2)/2.
    def log_ratio(x, analytic):
        return -x * x / 2 + (x - 1) ** 2 / 4 + acb(2).log() / 2

    # |log_ratio(z)| <= 1/2 + |z|/2 + z^2/4 + 0.35 <= 3 exp(|z|)
    ball = certified_gaussian_expectation(log_ratio, "0", "1", 3, 1, 50)
    with workdps(60):
        truth = mpmath.log(2) / 2
        assert ball.contains(truth)
        assert ball.radius < mpmath.mpf(10) ** -45
        # a value off in the 30th digit is excluded: the enclosure has teeth
        assert not ball.contains(truth + mpmath.mpf(10) ** -30)


@pytest.mark.parametrize("var", ["0", "-1", 0.5])
def test_variance_must_be_positive_and_exact(var):
    with pytest.raises(InvalidParameter, match="var"):
        gaussian_expectation(lambda x: x, "0", var, 50)
