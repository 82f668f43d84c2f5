"""Tweedie's formulas and DSM = ESM + C: the catalog entries, their mutants, and the layers.

Expected values below are computed by hand for a standard-normal prior, X ~ N(0, 1), observed
through Y = X + Z: then Y ~ N(0, 2), the posterior is N(y/2, 1/2), E[Z | Y = y] = y/2,
(log p_Y)' = -y/2 and (log p_Y)'' = -1/2.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from identities import tweedie as tw
from numerics import tweedie as nt
from numerics.errors import InvalidParameter
from numerics.precision import workdps
from proofs_check.catalog import Status

IDS = ("tweedie.posterior_mean_eq_score", "tweedie.posterior_covariance_eq_score_hessian",
       "tweedie.dsm_equals_esm_plus_constant")

STANDARD = nt.GaussianMixture1D.of([1], [0], [1])
TWO = nt.GaussianMixture1D.of(["3/10", "7/10"], ["-1", "3/2"], ["1/2", "1/3"])


# ----------------------------------------------------------------------------- catalog

@pytest.mark.parametrize("entry_id", IDS)
def test_entry_is_proved_confirmed_and_every_mutant_rejected(entry_id, verified):
    result = verified(entry_id)
    routes = {c.route: c.status for c in result.checks}
    assert routes == {"symbolic": Status.PROVED, "numeric": Status.CONFIRMED}, result.checks
    assert result.status is Status.PROVED
    assert len(result.mutants) >= 2
    assert all(m.status is Status.REJECTED for m in result.mutants), result.mutants



# ----------------------------------------------------------------------------- identities

def test_conditioning_on_a_standard_normal_prior_matches_the_hand_computation():
    y = tw.Y
    out = tw.gaussian_prior_conditioning(mu=0, v=1, m=1, sigma=1)
    assert sp.simplify(out["posterior_mean_x"] - y / 2) == 0
    assert out["posterior_variance_x"] == sp.Rational(1, 2)
    assert sp.simplify(out["posterior_mean_z"] - y / 2) == 0
    # log N(y; 0, 2) = -y^2/4 - log(4 pi)/2
    assert sp.simplify(sp.expand_log(out["log_evidence"] - (-y**2 / 4 - sp.log(4 * sp.pi) / 2),
                                     force=True)) == 0


def test_tweedie_formulas_give_the_hand_computed_posterior_for_a_standard_normal_prior():
    y = tw.Y
    log_evidence = -y**2 / 4 - sp.log(4 * sp.pi) / 2
    at = {tw.M: 1, tw.SIGMA: 1}
    f = {k: tw.substitute_log_density(v, log_evidence).subs(at)
         for k, v in tw.tweedie_formulas().items()}
    assert sp.simplify(f["posterior_mean_x"] - y / 2) == 0
    assert sp.simplify(f["posterior_mean_z"] - y / 2) == 0
    assert sp.simplify(f["posterior_variance_x"] - sp.Rational(1, 2)) == 0


def test_substitute_log_density_replaces_derivatives_values_and_the_density():
    y = tw.Y
    L = -y**2 / 2
    assert tw.substitute_log_density(tw.score_term(1), L) == -y
    assert tw.substitute_log_density(tw.score_term(2), L) == -1
    assert tw.substitute_log_density(tw.P_Y(y) + sp.log(tw.P_Y(y)), L) == sp.exp(L) + L
    with pytest.raises(InvalidParameter):
        tw.substitute_log_density(tw.P_Y(2 * y), L)


def test_gaussian_moment_table():
    W, Z = sp.symbols("W Z", real=True)
    assert tw.gaussian_expectation(W**4, (W, Z)) == 3
    assert tw.gaussian_expectation(W**6, (W,)) == 15
    assert tw.gaussian_expectation(W**3 + W * Z, (W, Z)) == 0
    assert tw.gaussian_expectation((W + Z) ** 2, (W, Z)) == 2
    assert tw.gaussian_expectation(W**2 * Z**2 + 1, (W, Z)) == 2


def test_gaussian_score_matching_at_the_zero_predictor():
    # s = 0: DSM = E|Z/sigma|^2 = 1/sigma^2 and ESM = E|(log q_t)'|^2 = 1/(m^2 s^2 + sigma^2)
    out = tw.gaussian_score_matching(a=0, b=0)
    assert sp.cancel(out["dsm"] - 1 / tw.SIGMA**2) == 0
    assert sp.cancel(out["esm"] - 1 / (tw.M**2 * tw.S**2 + tw.SIGMA**2)) == 0
    assert out["fisher_conditional"] == 1 / tw.SIGMA**2
    assert sp.cancel(out["fisher_marginal"] - out["esm"]) == 0


def test_dsm_minus_esm_is_free_of_the_predictor():
    out = tw.gaussian_score_matching()
    diff = sp.cancel(out["dsm"] - out["esm"])
    assert not diff.has(tw.A) and not diff.has(tw.B)
    assert tw.dsm_constant_formula() == 1 / tw.SIGMA**2 - tw.FISHER_MARGINAL


@pytest.mark.parametrize("call", [
    lambda: tw.score_term(0),
    lambda: tw.score_term(True),
    lambda: tw.substitute_log_density("y", tw.Y),
    lambda: tw.substitute_log_density(tw.score_term(1), sp.Float("0.5") * tw.Y),
    lambda: tw.gaussian_prior_conditioning(v=sp.Float("0.5")),
    lambda: tw.gaussian_expectation(tw.Y, ()),
    lambda: tw.dsm_constant_formula(sigma="sigma"),
])
def test_identities_reject_invalid_input(call):
    with pytest.raises(InvalidParameter):
        call()


# ----------------------------------------------------------------------------- numerics

def test_posterior_moments_of_a_standard_normal_prior():
    out = nt.posterior_moments(STANDARD, 1, 1, 1, dps=30)
    with workdps(30):
        assert abs(out["posterior_mean_x"] - mpmath.mpf(1) / 2) < mpmath.mpf(10) ** -28
        assert abs(out["posterior_variance_x"] - mpmath.mpf(1) / 2) < mpmath.mpf(10) ** -28
        assert abs(out["posterior_mean_z"] - mpmath.mpf(1) / 2) < mpmath.mpf(10) ** -28
        # p_Y(1) = N(1; 0, 2) = exp(-1/4)/sqrt(4 pi)
        assert abs(out["evidence"] - mpmath.exp(-mpmath.mpf(1) / 4) / mpmath.sqrt(4 * mpmath.pi)) \
            < mpmath.mpf(10) ** -28


def test_log_evidence_derivatives_of_a_standard_normal_prior():
    with workdps(40):
        d1 = nt.marginal_log_density_derivative(STANDARD, 1, 1, 1, 1, dps=40)
        d2 = nt.marginal_log_density_derivative(STANDARD, 1, 1, 1, 2, dps=40)
        assert abs(d1 + mpmath.mpf(1) / 2) < mpmath.mpf(10) ** -35
        assert abs(d2 + mpmath.mpf(1) / 2) < mpmath.mpf(10) ** -35


def test_score_matching_losses_of_gaussian_data_by_hand():
    # X_0 ~ N(0, 1), m = 3/5, sigma = 4/5 (m^2 + sigma^2 = 1): q_t = N(0, 1), so
    # E|(log q_t)'|^2 = 1, DSM(0, 0) = 1/sigma^2 = 25/16, ESM(a, b) = (a - (-1))^2 + b^2 = (a+1)^2 + b^2
    with workdps(30):
        tol = mpmath.mpf(10) ** -27
        assert abs(nt.marginal_fisher_information(STANDARD, "3/5", "4/5", dps=30) - 1) < tol
        assert abs(nt.dsm_loss(STANDARD, "3/5", "4/5", 0, 0, dps=30) - mpmath.mpf(25) / 16) < tol
        assert abs(nt.esm_loss(STANDARD, "3/5", "4/5", "1/2", -2, dps=30) - mpmath.mpf(25) / 4) < tol


@settings(deadline=None)
@given(a=st.fractions(min_value=-3, max_value=3, max_denominator=50),
       b=st.fractions(min_value=-3, max_value=3, max_denominator=50))
@example(a=Fraction(0), b=Fraction(0))  # the zero predictor: DSM = 1/sigma^2, ESM = Fisher
@example(a=Fraction(-3), b=Fraction(3))  # the edge of the box: large losses, cancellation
def test_dsm_minus_esm_is_the_same_constant_for_every_affine_predictor(a, b):
    dps = 30
    with workdps(dps):
        gap = nt.dsm_loss(TWO, "3/5", "4/5", a, b, dps) - nt.esm_loss(TWO, "3/5", "4/5", a, b, dps)
        constant = 1 / mpmath.mpf("0.64") - nt.marginal_fisher_information(TWO, "3/5", "4/5", dps)
        # losses up to ~50 lose two digits to the subtraction; 10^-(dps-5) leaves a margin
        assert abs(gap - constant) < mpmath.mpf(10) ** -(dps - 5)


@pytest.mark.parametrize("call", [
    lambda: nt.GaussianMixture1D.of(["1/2", "1/3"], [0, 1], [1, 1]),    # weights sum to 5/6
    lambda: nt.GaussianMixture1D.of([1], [0], [-1]),                    # negative variance
    lambda: nt.GaussianMixture1D.of([1], [0.5], [1]),                   # a float
    lambda: nt.GaussianMixture1D.of([1], [0, 1], [1]),                  # length mismatch
    lambda: nt.GaussianMixture1D.of("1", "0", "1"),                     # not sequences
    lambda: nt.posterior_moments(STANDARD, 1, 1, 0, dps=30),            # sigma = 0
    lambda: nt.posterior_moments(STANDARD, 1, 1, 1, dps=10),            # too few digits
    lambda: nt.posterior_moments("mixture", 1, 1, 1, dps=30),
    lambda: nt.marginal_log_density_derivative(STANDARD, 1, 1, 1, 5, dps=30),
    lambda: nt.dsm_loss(STANDARD, "3/5", "4/5", 0.5, 0, dps=30),
    lambda: nt.esm_loss(STANDARD, -1, "4/5", 0, 0, dps=30),
])
def test_numerics_reject_invalid_input(call):
    with pytest.raises(InvalidParameter):
        call()


def test_formula_with_unknown_symbols_is_refused_by_the_evaluator():
    from proofs_check.catalog.tweedie import evaluate_with_score

    point = {"y": 1, "m": 1, "sigma": 1, "w1": "1/2", "w2": "1/2", "mu1": -1, "mu2": 1,
             "v1": 1, "v2": 1}
    with workdps(30):
        assert evaluate_with_score(tw.Y + tw.M, point) == 2
        with pytest.raises(InvalidParameter):
            evaluate_with_score(tw.Y + sp.Symbol("q"), point)
