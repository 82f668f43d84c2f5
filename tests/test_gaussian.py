"""Tests of the Gaussian family: identities/gaussian.py, numerics/gaussian.py and the catalog
entries of proofs_check/catalog/gaussian.py (M2.1-M2.5, LB.1, LB.2).

Expected values are worked out by hand in the comments (never copied from the code).
"""

from __future__ import annotations

from fractions import Fraction as F

import mpmath
import pytest
import sympy as sp
from flint import arb
from hypothesis import example, given, settings, strategies as st

from identities import gaussian as ig
from identities import prove_equal
from numerics import gaussian as ng
from numerics.errors import InvalidParameter, NotProved
from numerics.precision import flint_workdps, workdps
from proofs_check.catalog import get
from proofs_check.entry import Context, Status
from proofs_check.runner import run_check, run_entry

IDS = [
    "gaussian.density_normalisation",
    "gaussian.quadratic_expectation_trace",
    "gaussian.reparameterisation",
    "gaussian.product_of_densities",
    "gaussian.kl_closed_form",
    "gaussian.conditioning_schur_complement",
    "gaussian.stein_lemma",
]


# ----------------------------------------------------------------------------- catalog entries

@pytest.fixture(scope="module")
def results():
    return {entry_id: run_entry(get(entry_id), Context(dps=50)) for entry_id in IDS}


@pytest.mark.parametrize("entry_id", IDS)
def test_entry_is_well_formed(entry_id):
    assert get(entry_id).problems() == []


@pytest.mark.parametrize("entry_id", IDS)
def test_entry_is_proved_and_confirmed(results, entry_id):
    result = results[entry_id]
    by_route = {c.route: c for c in result.checks}
    assert result.status is Status.PROVED
    assert by_route["symbolic"].status is Status.PROVED, by_route["symbolic"].detail
    assert by_route["numeric"].status is Status.CONFIRMED, by_route["numeric"].metric
    # the numeric route met the 10^-(dps-10) rule with room to spare
    assert by_route["numeric"].value < 1e-40
    if entry_id == "gaussian.kl_closed_form":
        assert by_route["certified"].status is Status.CERTIFIED, by_route["certified"].metric


@pytest.mark.parametrize("entry_id", IDS)
def test_every_mutant_is_rejected_by_every_route(results, entry_id):
    result = results[entry_id]
    routes = [c.route for c in get(entry_id).checks if c.on_mutants]
    assert len(result.mutants) >= 1
    for mutant in result.mutants:
        assert mutant.status is Status.REJECTED, (mutant.name, mutant.detail)
        for route in routes:  # the per-route verdicts are listed in the detail
            assert f"{route}: FAIL" in mutant.detail, (mutant.name, mutant.detail)


def test_statuses_are_honest_for_a_wrong_claim_without_mutant():
    # a claim swapped wholesale for a mutant's claim fails the entry's own checks
    entry = get("gaussian.kl_closed_form")
    wrong = entry.mutants[0].claim
    for check in entry.checks:
        assert run_check(check, wrong, Context(dps=30)).status is Status.FAIL


# ----------------------------------------------------------------------------- KL: properties

coords = st.fractions(min_value=-10, max_value=10, max_denominator=50)
variances = st.fractions(min_value=F(1, 100), max_value=100, max_denominator=100)


@st.composite
def spd_matrices(draw, d):
    """L L^T with L lower triangular, diagonal in [1/4, 4], below it in [-2, 2]."""
    low = [[F(0)] * d for _ in range(d)]
    for i in range(d):
        low[i][i] = draw(st.fractions(min_value=F(1, 4), max_value=4, max_denominator=20))
        for j in range(i):
            low[i][j] = draw(st.fractions(min_value=-2, max_value=2, max_denominator=20))
    return [[sum(low[i][k] * low[j][k] for k in range(d)) for j in range(d)] for i in range(d)]


@st.composite
def gaussians(draw, d):
    return [draw(coords) for _ in range(d)], draw(spd_matrices(d))


@given(m_p=coords, v_p=variances, m_q=coords, v_q=variances)
@example(m_p=F(0), v_p=F(1), m_q=F(0), v_q=F(1))          # equal laws: exactly zero
@example(m_p=F(0), v_p=F(1), m_q=F(0), v_q=F(101, 100))   # nearly equal variances
@example(m_p=F(0), v_p=F(1, 100), m_q=F(0), v_q=F(100))   # extreme variance ratio
@settings(deadline=None)
def test_kl_1d_is_nonnegative_and_zero_only_for_equal_laws(m_p, v_p, m_q, v_q):
    kl = ng.kl_gaussian(m_p, v_p, m_q, v_q, dps=50)
    if (m_p, v_p) == (m_q, v_q):
        assert kl == 0
    else:
        assert kl > 0


@given(data=st.data(), d=st.integers(min_value=1, max_value=4))
@settings(deadline=None)
def test_kl_is_nonnegative_and_zero_only_for_equal_laws(data, d):
    (m_p, s_p), (m_q, s_q) = data.draw(gaussians(d)), data.draw(gaussians(d))
    kl = ng.kl_gaussian(m_p, s_p, m_q, s_q, dps=50)
    if (m_p, s_p) == (m_q, s_q):
        assert kl == 0
    else:
        assert kl > 0


@given(data=st.data(), d=st.integers(min_value=1, max_value=4))
@settings(deadline=None)
def test_kl_of_a_law_with_itself_is_exactly_zero(data, d):
    mean, cov = data.draw(gaussians(d))
    assert ng.kl_gaussian(mean, cov, list(mean), [row[:] for row in cov], dps=40) == 0


@given(data=st.data(), d=st.integers(min_value=1, max_value=3))
@settings(deadline=None)
def test_kl_with_equal_covariances_is_half_the_mahalanobis_distance(data, d):
    # same S: tr(S^-1 S) = d and log det ratio = 0 leave dm^T S^-1 dm / 2; with S = s I this is
    # |dm|^2 / (2 s)
    m_p, m_q = data.draw(st.lists(coords, min_size=d, max_size=d)), \
        data.draw(st.lists(coords, min_size=d, max_size=d))
    s = data.draw(variances)
    cov = [[s if i == j else F(0) for j in range(d)] for i in range(d)]
    expected = sum((a - b) ** 2 for a, b in zip(m_p, m_q)) / (2 * s)
    with workdps(50):
        assert abs(ng.kl_gaussian(m_p, cov, m_q, cov, dps=50) -
                   mpmath.mpf(expected.numerator) / expected.denominator) < mpmath.mpf(10) ** -45


def test_kl_known_value():
    # KL(N(0,1) || N(1,2)) = (1/2 + 1/2 - 1 + log 2)/2 = log(2)/2
    with workdps(60):
        assert abs(ng.kl_gaussian(0, 1, 1, 2, dps=60) - mpmath.log(2) / 2) < mpmath.mpf(10) ** -58


def test_kl_closed_form_agrees_with_cubature_in_five_dimensions():
    cov_p = [[F(2), F(1, 2), 0, 0, 0], [F(1, 2), F(3, 2), F(1, 4), 0, 0],
             [0, F(1, 4), 1, 0, F(1, 3)], [0, 0, 0, F(5, 4), 0], [0, 0, F(1, 3), 0, 2]]
    cov_q = [[1 if i == j else 0 for j in range(5)] for i in range(5)]
    m_p, m_q = [0, 1, F(-1, 2), 2, 0], [F(1, 3), 0, 0, 1, -1]
    with workdps(50):
        cubature = ng.kl_by_cubature(tuple(map(F, m_p)), ng.exact_spd(cov_p, "cov_p"),
                                     tuple(map(F, m_q)), ng.exact_spd(cov_q, "cov_q"))
        assert abs(cubature - ng.kl_gaussian(m_p, cov_p, m_q, cov_q, dps=50)) < \
            mpmath.mpf(10) ** -45


def test_kl_enclosure_contains_the_true_value():
    ball = ng.kl_enclosure_1d(0, 1, 1, 2, dps=50)
    with flint_workdps(60):
        assert ball.contains(arb(2).log() / 2)
    with workdps(50):
        assert ng.relative_radius(ball) < mpmath.mpf(10) ** -45


# ----------------------------------------------------------------------------- invalid input

@pytest.mark.parametrize("args, name", [
    ((0, [[1, 2], [2, 1]], 0, [[1]]), "cov_p"),                       # scalar mean, 2x2 cov
    (([0, 0], [[1, 2], [2, 1]], [0, 0], [[1, 0], [0, 1]]), "cov_p"),  # indefinite
    (([0, 0], [[1, 0], [0, 1]], [0, 0], [[1, 0], [1, 1]]), "cov_q"),  # not symmetric
    (([0, 0], [[1, 0], [0, 0]], [0, 0], [[1, 0], [0, 1]]), "cov_p"),  # singular
    (([0, 0, 0], [[1, 0], [0, 1]], [0, 0], [[1, 0], [0, 1]]), "cov_p"),  # 3-vector, 2x2 cov
    (([0, 0], [[1, 0, 0], [0, 1, 0]], [0, 0], [[1, 0], [0, 1]]), "cov_p"),  # not square
    (([0, 0], [[1, 0], [0, 1]], [0], [[1]]), "mean_q"),                # dimensions differ
    (("nan", 1, 0, 1), "mean_p"),                                     # NaN as text
    ((0, 1, float("nan"), 1), "mean_q"),                              # NaN as a float
    ((0, 1, 0, mpmath.mpf("nan")), "cov_q"),                          # NaN as an mpf
    ((0, -1, 0, 1), "cov_p"),                                         # negative variance
    ((0, 0.5, 0, 1), "cov_p"),                                        # float: inexact
    (([[0, 0]], [[1, 0], [0, 1]], [0, 0], [[1, 0], [0, 1]]), "mean_p"),  # a row, not a vector
])
def test_invalid_gaussian_parameters_raise_with_their_name(args, name):
    with pytest.raises(InvalidParameter) as info:
        ng.kl_gaussian(*args, dps=30)
    assert info.value.name.split("[")[0] == name
    assert name in str(info.value)


def test_invalid_precision_and_options_are_refused():
    with pytest.raises(InvalidParameter) as info:
        ng.kl_gaussian(0, 1, 0, 1, dps=5)
    assert info.value.name == "dps"
    with pytest.raises(InvalidParameter) as info:
        ng.stein_sides(((F(1),),), "tan", (F(1),), 30)
    assert info.value.name == "f_name"
    with pytest.raises(InvalidParameter) as info:
        ng.kl_enclosure_1d(0, 0, 0, 1, 30)
    assert info.value.name == "var_p"
    with pytest.raises(InvalidParameter) as info:
        ig.density(sp.Matrix([1, 2]), sp.Matrix([0, 0]), sp.eye(3))
    assert info.value.name == "cov"


def test_float_input_gets_a_hint():
    with pytest.raises(InvalidParameter) as info:
        ng.exact_vector([0.1], "mean")
    assert "Fraction" in str(info.value) and info.value.name == "mean[0]"


# ----------------------------------------------------------------------------- numerics

def test_lattice_rule_integrates_correlated_gaussian_kernels():
    # int exp(-x^T S^-1 x / 2) dx = 2 pi sqrt(det S); det [[2, 1/2], [1/2, 1]] = 7/4
    cov = ((F(2), F(1, 2)), (F(1, 2), F(1)))
    with workdps(50):
        mass = ng.kernel_moments((F(1), F(-1)), cov, 50)["mass"]
        assert abs(mass / (2 * mpmath.pi * mpmath.sqrt(mpmath.mpf(7) / 4)) - 1) < \
            mpmath.mpf(10) ** -48


def test_lattice_rule_handles_oscillating_integrands():
    # E sin(Z + 1/3), Z ~ N(0, 2): Im E exp(i(Z + 1/3)) = exp(-1) sin(1/3)
    with workdps(50):
        sides = ng.stein_sides(((F(2),),), "sin", (F(1),), 50)
        expected = mpmath.exp(-1) * mpmath.cos(mpmath.mpf(1) / 3)  # E grad = E cos(Z + 1/3)
        assert abs(sides["E_grad"][0] - expected) < mpmath.mpf(10) ** -45


def test_hermite_rule_is_exact_for_polynomials():
    # E z1^4 z2^2 = 3 * 1 for independent standard normals; 3 nodes are exact to degree 5
    with workdps(50):
        value = ng.hermite_expectation(lambda x: [x[0] ** 4 * x[1] ** 2], [0, 0],
                                       [[1, 0], [0, 1]], n=3)[0]
        assert abs(value - 3) < mpmath.mpf(10) ** -45


def test_quadrature_kl_matches_the_hand_value():
    with workdps(50):
        value = ng.kl_by_quadrature(F(0), F(1), F(1), F(2))
        assert abs(value - mpmath.log(2) / 2) < mpmath.mpf(10) ** -45


def test_arb_value_encloses_and_refuses():
    ball = ng.arb_value(sp.log(sp.Rational(3, 2)) + sp.sqrt(2) * sp.pi, 40)
    with flint_workdps(60):
        assert ball.contains(arb(3).log() - arb(2).log() + arb(2).sqrt() * arb.pi())
    with pytest.raises(InvalidParameter):
        ng.arb_value(sp.sin(1), 40)


# ----------------------------------------------------------------------------- identities

def test_gaussian_integral_lemma_is_proved():
    lhs, rhs = ig.gaussian_integral_lemma()
    assert prove_equal(lhs, rhs).proved


def test_integrate_gaussian_moments():
    # int x^2 exp(-A x^2) dx = sqrt(pi) / (2 A^{3/2})
    a = sp.Symbol("a", positive=True)
    x = sp.Symbol("x", real=True)
    result = ig.integrate_gaussian(x ** 2 * sp.exp(-a * x ** 2), [x])
    assert prove_equal(result, sp.sqrt(sp.pi) / (2 * a ** sp.Rational(3, 2))).proved


def test_integrate_gaussian_refuses_an_unknown_sign():
    b, x = sp.Symbol("b", real=True), sp.Symbol("x", real=True)
    with pytest.raises(NotProved):
        ig.integrate_gaussian(sp.exp(-b * x ** 2), [x])
    with pytest.raises(NotProved):
        ig.complete_the_square(x ** 3, [x])


def test_moment_table_matches_isserlis():
    s = ig.symmetric_matrix(4, "s")
    table = ig.moment_table(s, 4)
    # E z0 z1 z2 z3 = s01 s23 + s02 s13 + s03 s12 (three pairings)
    assert sp.expand(table[(1, 1, 1, 1)] - (s[0, 1] * s[2, 3] + s[0, 2] * s[1, 3]
                                             + s[0, 3] * s[1, 2])) == 0
    assert sp.expand(table[(4, 0, 0, 0)] - 3 * s[0, 0] ** 2) == 0  # E z^4 = 3 sigma^4
    assert (1, 0, 0, 0) not in table and (2, 1, 0, 0) not in table  # odd moments vanish


def test_density_normalisation_in_two_dimensions():
    x, mu, cov = ig.real_vector(2, "x"), ig.real_vector(2, "mu"), ig.spd_by_entries("S")
    mass, mean, covariance = ig.normalisation_integrals(ig.density(x, mu, cov), x, mu)
    assert prove_equal(mass, 1).proved
    assert prove_equal(mean, mu).proved
    assert prove_equal(covariance, cov).proved
