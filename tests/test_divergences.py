"""numerics.divergences and the divergences.* catalog entries (L1.1-L1.3).

Independent routes: 1-D quadrature for every Gaussian closed form; a 2-point-per-axis Gauss-Hermite
rule (exact for the quadratic integrands of KL and Fisher information) in d dimensions; rotation
invariance and additivity over independent coordinates; Arb balls; exact small examples worked by
hand; property tests of every inequality of L1.1-L1.2 over the public strategies.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import mpmath
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from numerics import divergences as dv
from numerics import strategies as S
from numerics.divergences import SPDMatrix
from numerics.langevin import metropolis_hastings_kernel
from numerics.errors import InvalidParameter
from numerics.precision import workdps
from numerics.quadrature import integrate_line
from proofs_check.catalog import select
from proofs_check.catalog import divergences as cat
from proofs_check.entry import Status

DPS = 30
TOL = mpmath.mpf(10) ** -(DPS - 10)  # the suite's pass rule at 30 digits


def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator


# ----------------------------------------------------------------------------- Gaussian closed forms, 1-D

POINTS_1D = [(F(1, 2), F(2), F(-1, 3), F(3, 2)), (F(0), F(1), F(1), F(1)), (F(-2), F(1, 3), F(1, 4), F(2, 3))]


def _pdf(m, v):
    return lambda x: mpmath.exp(-(x - m) ** 2 / (2 * v)) / mpmath.sqrt(2 * mpmath.pi * v)


@pytest.mark.parametrize("m1,v1,m2,v2", POINTS_1D)
def test_gaussian_closed_forms_match_quadrature_1d(m1, v1, m2, v2):
    with workdps(DPS + 10):
        a, b, c, d = map(_mp, (m1, v1, m2, v2))
        p, q = _pdf(a, b), _pdf(c, d)
        cuts = [a, c]
        kl = integrate_line(lambda x: p(x) * mpmath.log(p(x) / q(x)), DPS + 10, cuts).value
        fisher = integrate_line(lambda x: p(x) * (-(x - a) / b + (x - c) / d) ** 2, DPS + 10, cuts).value
        h2 = integrate_line(lambda x: (mpmath.sqrt(p(x)) - mpmath.sqrt(q(x))) ** 2, DPS + 10, cuts).value / 2
        chi2 = integrate_line(lambda x: p(x) ** 2 / q(x), DPS + 10, cuts).value - 1 if v1 < 2 * v2 else mpmath.inf
        w2 = (a - c) ** 2 + (mpmath.sqrt(b) - mpmath.sqrt(d)) ** 2  # 1-D: the quantile coupling
        got = {"kl": dv.gaussian_kl([m1], [[v1]], [m2], [[v2]], DPS),
               "fisher": dv.gaussian_fisher([m1], [[v1]], [m2], [[v2]], DPS),
               "h2": dv.gaussian_hellinger_sq([m1], [[v1]], [m2], [[v2]], DPS),
               "chi2": dv.gaussian_chi2([m1], [[v1]], [m2], [[v2]], DPS),
               "w2": dv.gaussian_w2_sq([m1], [[v1]], [m2], [[v2]], DPS)}
        want = {"kl": kl, "fisher": fisher, "h2": h2, "chi2": chi2, "w2": w2}
        for k in want:
            if want[k] == mpmath.inf:
                assert got[k] == mpmath.inf
            elif want[k] == 0:
                assert abs(got[k]) < TOL
            else:
                assert abs(got[k] - want[k]) / abs(want[k]) < TOL, k


def test_chi2_infinite_exactly_when_2s2_minus_s1_not_pd():
    assert dv.gaussian_chi2([0], [[F(2)]], [0], [[F(1)]], DPS) == mpmath.inf  # 2*1 - 2 = 0
    assert dv.gaussian_chi2([0], [[F(19, 10)]], [0], [[F(1)]], DPS) < mpmath.inf


# ----------------------------------------------------------------------------- d dimensions

def _gh_expectation(f, m, S_):
    """E f(X), X ~ N(m, S), by the 2-point-per-axis Gauss-Hermite rule: exact for f of degree <= 3."""
    L = mpmath.cholesky(S_)
    d = S_.rows
    total = mpmath.mpf(0)
    for signs in itertools.product((-1, 1), repeat=d):
        total += f(m + L * mpmath.matrix(list(signs)))
    return total / 2 ** d


gauss_pairs = st.integers(1, 4).flatmap(
    lambda d: st.tuples(S.gaussians(d), S.gaussians(d)))


@settings(deadline=None)
@given(gauss_pairs)
def test_kl_and_fisher_match_gauss_hermite(pair):
    g1, g2 = pair
    with workdps(DPS + 10):
        m1, m2 = dv.as_mp_vector(g1["mean"]), dv.as_mp_vector(g2["mean"])
        S1, S2 = g1["cov"].mp(), g2["cov"].mp()
        P1, P2 = mpmath.inverse(S1), mpmath.inverse(S2)
        logdet = mpmath.log(mpmath.det(S2)) - mpmath.log(mpmath.det(S1))

        def log_ratio(x):  # log p1 - log p2, a quadratic
            return (-(x - m1).T * P1 * (x - m1) + (x - m2).T * P2 * (x - m2))[0, 0] / 2 + logdet / 2

        def grad_sq(x):  # |grad log(p1/p2)|^2, a quadratic
            g = -P1 * (x - m1) + P2 * (x - m2)
            return (g.T * g)[0, 0]

        kl = _gh_expectation(log_ratio, m1, S1)
        fisher = _gh_expectation(grad_sq, m1, S1)
        got_kl = dv.gaussian_kl(g1["mean"], g1["cov"], g2["mean"], g2["cov"], DPS)
        got_f = dv.gaussian_fisher(g1["mean"], g1["cov"], g2["mean"], g2["cov"], DPS)
        assert abs(got_kl - kl) <= TOL * max(abs(kl), 1)
        assert abs(got_f - fisher) <= TOL * max(abs(fisher), 1)


def _rotate(Q, v):
    return tuple(sum(Q[i][k] * v[k] for k in range(len(v))) for i in range(len(v)))


@settings(deadline=None)
@given(st.integers(2, 4).flatmap(lambda d: st.tuples(S.gaussians(d), S.gaussians(d), S.rotations(d))))
def test_divergences_are_rotation_invariant(args):
    g1, g2, Q = args
    R1 = SPDMatrix(dv.exact_matmul(Q, g1["cov"].rotation), g1["cov"].eigenvalues)  # Q S Q'
    R2 = SPDMatrix(dv.exact_matmul(Q, g2["cov"].rotation), g2["cov"].eigenvalues)
    a = (g1["mean"], g1["cov"], g2["mean"], g2["cov"])
    b = (_rotate(Q, g1["mean"]), R1, _rotate(Q, g2["mean"]), R2)
    for f in (dv.gaussian_kl, dv.gaussian_fisher, dv.gaussian_hellinger_sq, dv.gaussian_w2_sq, dv.gaussian_chi2):
        x, y = f(*a, DPS), f(*b, DPS)
        with workdps(DPS):
            assert (x == y == mpmath.inf) or abs(x - y) <= TOL * max(abs(x), 1), f.__name__


def test_additivity_over_independent_coordinates():
    m1, v1, m2, v2 = (F(1), F(-1, 2)), (F(2), F(1, 3)), (F(0), F(1, 4)), (F(3, 2), F(1, 2))
    full = (m1, SPDMatrix.diagonal(v1), m2, SPDMatrix.diagonal(v2))
    parts = [([m1[i]], [[v1[i]]], [m2[i]], [[v2[i]]]) for i in range(2)]
    with workdps(DPS):
        kl = sum(dv.gaussian_kl(*p, DPS) for p in parts)
        assert abs(dv.gaussian_kl(*full, DPS) - kl) < TOL
        one_minus_h2 = mpmath.fprod(1 - dv.gaussian_hellinger_sq(*p, DPS) for p in parts)
        assert abs(1 - dv.gaussian_hellinger_sq(*full, DPS) - one_minus_h2) < TOL
        one_plus_chi2 = mpmath.fprod(1 + dv.gaussian_chi2(*p, DPS) for p in parts)
        assert abs(1 + dv.gaussian_chi2(*full, DPS) - one_plus_chi2) / one_plus_chi2 < TOL


@settings(deadline=None)
@given(st.integers(1, 4).flatmap(lambda d: st.tuples(S.gaussians(d), S.gaussians(d))))
def test_bures_is_symmetric_and_commuting_case_is_exact(pair):
    g1, g2 = pair
    x = dv.gaussian_w2_sq(g1["mean"], g1["cov"], g2["mean"], g2["cov"], DPS)
    y = dv.gaussian_w2_sq(g2["mean"], g2["cov"], g1["mean"], g1["cov"], DPS)
    with workdps(DPS):
        assert abs(x - y) <= TOL * max(x, 1)
    # commuting covariances (same rotation): W2^2 = |dm|^2 + sum (sqrt a - sqrt b)^2
    C = SPDMatrix(g1["cov"].rotation, g2["cov"].eigenvalues)
    got = dv.gaussian_w2_sq(g1["mean"], g1["cov"], g2["mean"], C, DPS)
    with workdps(DPS):
        want = sum((_mp(a) - _mp(b)) ** 2 for a, b in zip(g1["mean"], g2["mean"])) + sum(
            (mpmath.sqrt(_mp(a)) - mpmath.sqrt(_mp(b))) ** 2 for a, b in zip(g1["cov"].eigenvalues, g2["cov"].eigenvalues))
        assert abs(got - want) <= TOL * max(want, 1)


@settings(deadline=None)
@given(st.integers(1, 3).flatmap(lambda d: st.tuples(S.gaussians(d), S.gaussians(d))))
def test_certified_balls_contain_the_mpmath_values(pair):
    g1, g2 = pair
    args = (g1["mean"], g1["cov"], g2["mean"], g2["cov"])
    pairs = [(dv.certified_gaussian_kl, dv.gaussian_kl), (dv.certified_gaussian_fisher, dv.gaussian_fisher),
             (dv.certified_gaussian_hellinger_sq, dv.gaussian_hellinger_sq)]
    if dv.gaussian_chi2(*args, DPS) < mpmath.inf:
        pairs.append((dv.certified_gaussian_chi2, dv.gaussian_chi2))
    for cert, plain in pairs:
        ball = cert(*args, DPS)
        value = plain(*args, DPS + 10)
        assert ball.rad() < 10.0 ** -(DPS - 5) * max(1, abs(float(ball.mid())))
        from flint import arb
        with workdps(DPS + 10):
            assert ball.overlaps(arb(mpmath.nstr(value, DPS + 10))), cert.__name__


def test_certified_w2_contains_the_value_and_refuses_what_it_cannot_do():
    A = SPDMatrix(dv.givens_rotation(2, 0, 1, F(1, 3)), (F(1), F(4)))
    B = SPDMatrix.diagonal((F(2), F(1, 2)))
    ball = dv.certified_gaussian_w2_sq([1, 0], A, [0, F(1, 3)], B, DPS)
    from flint import arb
    with workdps(DPS + 10):
        assert ball.overlaps(arb(mpmath.nstr(dv.gaussian_w2_sq([1, 0], A, [0, F(1, 3)], B, DPS + 10), DPS + 10)))
    with pytest.raises(InvalidParameter):
        dv.certified_gaussian_chi2([0], [[F(3)]], [0], [[F(1)]], DPS)  # chi^2 = inf


def test_validation_names_the_parameter():
    with pytest.raises(InvalidParameter, match="S2"):
        dv.gaussian_kl([0], [[1]], [0], [[-1]], DPS)
    with pytest.raises(InvalidParameter, match="S1"):
        dv.gaussian_kl([0, 0], [[1, 2], [2, 1]], [0, 0], [[1, 0], [0, 1]], DPS)  # symmetric, not PD
    with pytest.raises(InvalidParameter, match="S1"):
        dv.gaussian_kl([0, 0], [[1, 1], [0, 1]], [0, 0], [[1, 0], [0, 1]], DPS)  # not symmetric
    with pytest.raises(InvalidParameter, match="m1"):
        dv.gaussian_kl([0.5], [[1]], [0], [[1]], DPS)  # a float
    with pytest.raises(InvalidParameter, match="m2"):
        dv.gaussian_kl([0], [[1]], [0, 1], [[1]], DPS)  # wrong length
    with pytest.raises(InvalidParameter, match="rotation"):
        SPDMatrix(((F(1), F(1)), (F(0), F(1))), (F(1), F(2)))
    with pytest.raises(InvalidParameter, match="eigenvalues"):
        SPDMatrix.diagonal((F(1), F(0)))


# ----------------------------------------------------------------------------- finite laws

def test_finite_divergences_by_hand():
    p, q = (F(1, 2), F(1, 2)), (F(1, 4), F(3, 4))
    assert dv.tv(p, q) == F(1, 4)
    assert dv.chi2(p, q) == F(1, 3)  # (1/4)^2/(1/4) + (1/4)^2/(3/4)
    with workdps(DPS):
        assert abs(dv.kl(p, q, DPS) - mpmath.log(mpmath.mpf(4) / 3) / 2) < TOL
        bc = mpmath.sqrt(mpmath.mpf(1) / 8) + mpmath.sqrt(mpmath.mpf(3) / 8)
        assert abs(dv.hellinger_sq(p, q, DPS) - (1 - bc)) < TOL
    assert dv.kl((F(1), F(0)), (F(0), F(1)), DPS) == mpmath.inf
    assert dv.chi2((F(1), F(0)), (F(0), F(1))) == mpmath.inf
    with workdps(DPS):
        assert dv.hellinger_sq((F(1), F(0)), (F(0), F(1)), DPS) == 1


@settings(deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(S.probability_vectors(k), S.probability_vectors(k))))
def test_certified_finite_balls(pq):
    p, q = pq
    from flint import arb
    with workdps(DPS + 10):
        assert dv.certified_kl(p, q, DPS).overlaps(arb(mpmath.nstr(dv.kl(p, q, DPS + 10), DPS + 10)))
        assert dv.certified_hellinger_sq(p, q, DPS).overlaps(arb(mpmath.nstr(dv.hellinger_sq(p, q, DPS + 10), DPS + 10)))


def test_finite_validation():
    with pytest.raises(InvalidParameter, match="p"):
        dv.tv((F(1, 2), F(1, 3)), (F(1, 2), F(1, 2)))  # sums to 5/6
    with pytest.raises(InvalidParameter, match="q"):
        dv.tv((F(1, 2), F(1, 2)), (F(1),))
    with pytest.raises(InvalidParameter):
        dv.kl((0.5, 0.5), (F(1, 2), F(1, 2)), DPS)
    with pytest.raises(InvalidParameter, match="Q"):
        metropolis_hastings_kernel((F(1, 2), F(1, 2)), ((F(1, 2), F(1, 2)), (F(0), F(1))))


def test_w2_line_two_points_and_against_linear_programming():
    # two points: W2^2 = |p0 - q0| * (x1 - x0)^2, by hand
    assert dv.w2_sq_line((0, 3), (F(1, 4), F(3, 4)), (F(2, 3), F(1, 3))) == F(5, 12) * 9
    # general: the optimal transport LP (scipy, float64; tolerance 1e-9 for its solver accuracy)
    import numpy as np
    from scipy.optimize import linprog

    cases = [((F(0), F(1), F(3)), (F(1, 2), F(1, 4), F(1, 4)), (F(1, 6), F(1, 2), F(1, 3))),
             ((F(-2), F(1, 2), F(1), F(5)), (F(1, 10), F(2, 5), F(0), F(1, 2)), (F(3, 10), F(0), F(3, 5), F(1, 10)))]
    for xs, p, q in cases:
        n = len(xs)
        cost = np.array([[float((a - b) ** 2) for b in xs] for a in xs]).ravel()
        rows = [np.kron(np.eye(n)[i], np.ones(n)) for i in range(n)] + [np.kron(np.ones(n), np.eye(n)[j]) for j in range(n)]
        res = linprog(cost, A_eq=np.array(rows), b_eq=np.array([float(x) for x in p + q]), bounds=(0, None))
        assert abs(float(dv.w2_sq_line(xs, p, q)) - res.fun) < 1e-9


@settings(deadline=None)
@given(st.integers(2, 5).flatmap(lambda n: S.stochastic_matrices(n)), st.data())
def test_metropolis_hastings_kernel_is_stochastic_and_reversible(Q, data):
    pi = data.draw(S.probability_vectors(len(Q)))
    P = metropolis_hastings_kernel(pi, Q)
    assert all(sum(r) == 1 and min(r) >= 0 for r in P)
    assert all(pi[x] * P[x][y] == pi[y] * P[y][x] for x in range(len(pi)) for y in range(len(pi)))
    assert dv.push_forward(pi, P) == tuple(pi)


# ----------------------------------------------------------------------------- the catalog bounds as properties

pairs = st.integers(2, 6).flatmap(lambda k: st.tuples(S.probability_vectors(k, allow_zero=True),
                                                      S.probability_vectors(k, allow_zero=True)))


@settings(deadline=None)
@given(pairs)
@example(((F(1), F(0)), (F(0), F(1))))  # disjoint supports: equality in H^2 <= TV and TV <= H sqrt(2 - H^2)
@example(((F(501, 1000), F(499, 1000)), (F(1, 2), F(1, 2))))  # near p = q: Pinsker nearly tight
def test_divergence_inequalities(pq):
    point = {"p": pq[0], "q": pq[1]}
    for bound in (cat.PINSKER, cat.BRETAGNOLLE_HUBER, cat.KL_CHI2, cat.LOG_CHI2, cat.H2_TV, cat.TV_H):
        bound.assert_holds(point, DPS)


@settings(deadline=None)
@given(st.integers(2, 5).flatmap(lambda n: st.tuples(S.probability_vectors(n, allow_zero=True),
                                                    S.probability_vectors(n, allow_zero=True),
                                                    S.stochastic_matrices(n, 3, allow_zero=True))))
def test_data_processing_for_all_f_divergences(args):
    p, q, K = args
    cat.DPI.assert_holds({"p": p, "q": q, "K": K}, DPS)
    pk, qk = dv.push_forward(p, K), dv.push_forward(q, K)
    assert dv.tv(pk, qk) <= dv.tv(p, q)
    c_after, c_before = dv.chi2(pk, qk), dv.chi2(p, q)
    assert c_before == mpmath.inf or c_after <= c_before
    with workdps(DPS):
        assert dv.hellinger_sq(pk, qk, DPS) <= dv.hellinger_sq(p, q, DPS) + TOL


@settings(deadline=None)
@given(st.integers(2, 5).flatmap(lambda n: st.tuples(st.just(n), S.probability_vectors(n, allow_zero=True),
                                                    S.probability_vectors(n, allow_zero=True))),
       st.lists(st.fractions(-20, 20, max_denominator=8), min_size=5, max_size=5, unique=True))
def test_w2_below_diam_sq_tv(args, xs):
    n, p, q = args
    cat.W2_TV.assert_holds({"points": tuple(sorted(xs)[:n]), "p": p, "q": q}, DPS)


def test_kl_chain_rule_exact_log_forms_detect_a_wrong_split():
    # the exact route's comparison is sharp: log 2 + log 3 == log 6 but != log 5
    assert cat._log_form([(F(1), F(2)), (F(1), F(3))]) == cat._log_form([(F(1), F(6))])
    assert cat._log_form([(F(1), F(6))]) != cat._log_form([(F(1), F(5))])


# ----------------------------------------------------------------------------- entries

EXPECTED = {
    "divergences.log_one_plus_chi2_le_chi2": Status.PROVED, "divergences.hellinger_sq_le_tv": Status.PROVED,
    "divergences.kl_chain_rule": Status.PROVED,
}


@pytest.mark.parametrize("entry_id", [e.id for e in select(["divergences.*"])])
def test_entry_passes_and_rejects_its_mutants(entry_id, verified):
    res = verified(entry_id)
    assert res.status is EXPECTED.get(entry_id, Status.CONFIRMED), [(c.route, c.status, c.metric) for c in res.checks]
    assert res.mutants and all(m.status is Status.REJECTED for m in res.mutants), [
        (m.name, m.status, m.detail) for m in res.mutants]
    assert all(m.counterexample for m in res.mutants)
    assert math.isfinite(res.seconds)
