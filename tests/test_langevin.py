"""numerics.langevin (OU laws, Holley-Stroock family) and the langevin.* entries (L1.5-L1.9).

Independent routes: the OU law checked against the moment ODEs dm/dt = -A(m - mu),
dS/dt = -AS - SA + 2I by numerical differentiation, the semigroup property, and the explicit 1-D
solution written out here; the Holley-Stroock closed forms against plain quadrature; the bounds
of L1.6-L1.9 as hypothesis properties over the public strategies, with their equality cases pinned.
"""

from __future__ import annotations

from fractions import Fraction as F

import mpmath
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from numerics import divergences as dv
from numerics import strategies as S
from numerics.divergences import SPDMatrix
from numerics.errors import InvalidParameter
from numerics.langevin import certified_perturbed_gaussian_kl_fisher as nl_certified
from numerics.langevin import ou_law, perturbed_gaussian_kl_fisher, perturbed_gaussian_log_normaliser
from numerics.precision import current_dps, workdps
from numerics.quadrature import integrate_line
from proofs_check.catalog import get, select
from proofs_check.catalog import langevin as cat
from proofs_check.entry import Context, Status
from proofs_check.runner import run_entry

DPS = 30
TOL = mpmath.mpf(10) ** -(DPS - 10)


def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator


targets = st.integers(1, 4).flatmap(lambda d: st.tuples(S.spd_matrices(d), S.vectors(d, 2), S.gaussians(d)))


# ----------------------------------------------------------------------------- OU laws

def test_ou_law_1d_matches_the_explicit_solution():
    m0, v0, mu, lam, t = F(2), F(1, 3), F(-1, 2), F(3, 2), F(2, 5)
    m, S_ = ou_law(t, [m0], [[v0]], [mu], [[lam]], DPS)
    with workdps(DPS):
        e = mpmath.exp(-_mp(lam) * _mp(t))
        assert abs(m[0] - (_mp(mu) + e * (_mp(m0) - _mp(mu)))) < TOL
        assert abs(S_[0, 0] - (e ** 2 * _mp(v0) + (1 - e ** 2) / _mp(lam))) < TOL


@settings(deadline=None)
@given(targets, st.fractions(0, 3, max_denominator=8))
def test_ou_law_solves_the_moment_odes(args, t):
    A, mu, g = args
    d = A.dim
    t = F(t) + F(1, 16)

    def law(s):
        return ou_law(s, g["mean"], g["cov"], mu, A, current_dps() + 10)

    with workdps(DPS):
        dm = mpmath.diff(lambda s: law(s)[0][0], _mp(t))  # first coordinate of the mean
        m, S_ = law(_mp(t))
        Am = A.mp()
        want_m = -(Am * (m - dv.as_mp_vector(mu)))[0]
        assert abs(dm - want_m) <= TOL * max(1, abs(want_m))
        for i in range(d):
            for j in range(i, d):
                dS = mpmath.diff(lambda s: law(s)[1][i, j], _mp(t))
                want = (-(Am * S_) - S_ * Am)[i, j] + (2 if i == j else 0)
                assert abs(dS - want) <= TOL * max(1, abs(want))


@settings(deadline=None)
@given(targets, st.fractions(0, 2, max_denominator=6), st.fractions(0, 2, max_denominator=6))
def test_ou_semigroup(args, s, t):
    A, mu, g = args
    m_s, S_s = ou_law(s, g["mean"], g["cov"], mu, A, DPS + 10)
    m_st, S_st = ou_law(t, m_s, S_s, mu, A, DPS)
    m_direct, S_direct = ou_law(F(s) + F(t), g["mean"], g["cov"], mu, A, DPS)
    with workdps(DPS):
        assert mpmath.mnorm(m_st - m_direct, 1) <= TOL * max(1, mpmath.mnorm(m_direct, 1))
        assert mpmath.mnorm(S_st - S_direct, 1) <= TOL * max(1, mpmath.mnorm(S_direct, 1))


def test_ou_law_validation():
    with pytest.raises(InvalidParameter, match="t"):
        ou_law(F(-1), [0], [[1]], [0], [[1]], DPS)
    with pytest.raises(InvalidParameter, match="S0"):
        ou_law(F(1), [0], [[-1]], [0], [[1]], DPS)
    with pytest.raises(InvalidParameter, match="A"):
        ou_law(F(1), [0, 0], [[1, 0], [0, 1]], [0, 0], [[1, 2], [2, 1]], DPS)


# ----------------------------------------------------------------------------- Holley-Stroock family

@pytest.mark.parametrize("a,b,c", [(F(1, 2), F(2), F(1)), (F(-3, 2), F(1, 4), F(-3, 2))])
def test_perturbed_gaussian_closed_forms_match_quadrature(a, b, c):
    kl, fisher = perturbed_gaussian_kl_fisher(a, b, c, DPS)
    with workdps(DPS + 10):
        am, bm, cm = _mp(a), _mp(b), _mp(c)
        mu = lambda x: mpmath.exp(-(x - am) ** 2 / (2 * bm)) / mpmath.sqrt(2 * mpmath.pi * bm)  # noqa: E731
        w = lambda x: mpmath.exp(-x * x / 2 - cm * mpmath.sin(x))  # noqa: E731
        Z = integrate_line(w, DPS + 10, [-3, 3]).value
        kl_q = integrate_line(lambda x: mu(x) * mpmath.log(mu(x) * Z / w(x)), DPS + 10, [am]).value
        g = lambda x: -(x - am) / bm + x + cm * mpmath.cos(x)  # noqa: E731  d/dx log(mu / pi_c)
        fi_q = integrate_line(lambda x: mu(x) * g(x) ** 2, DPS + 10, [am]).value
        assert abs(kl - kl_q) / abs(kl_q) < TOL
        assert abs(fisher - fi_q) / abs(fi_q) < TOL
    a_series = perturbed_gaussian_log_normaliser(c, DPS)
    a_quad = perturbed_gaussian_log_normaliser(c, DPS, method="quadrature")
    with workdps(DPS):
        assert abs(a_series - a_quad) < TOL


@settings(deadline=None)
@given(st.fractions(-3, 3, max_denominator=4), st.fractions(F(1, 4), 4, max_denominator=4),
       st.sampled_from([F(-3, 2), F(-1, 2), F(1, 2), F(1), F(2)]))
def test_holley_stroock_family(a, b, c):
    cat.HOLLEY_STROOCK.assert_holds({"a": F(a), "b": F(b), "c": c, "alpha": F(1)}, DPS)


@settings(deadline=None)
@given(st.fractions(-3, 3, max_denominator=8), st.fractions(F(1, 4), 4, max_denominator=8),
       st.sampled_from([F(-1), F(1, 2), F(2)]))
def test_certified_holley_stroock_balls_contain_the_values(a, b, c):
    from flint import arb, fmpq
    kl_ball, fi_ball = nl_certified(arb(fmpq(F(a).numerator, F(a).denominator)),
                                    arb(fmpq(F(b).numerator, F(b).denominator)), c)
    kl, fi = perturbed_gaussian_kl_fisher(F(a), F(b), c, DPS)
    with workdps(DPS):
        assert kl_ball.overlaps(arb(mpmath.nstr(kl, DPS))) and fi_ball.overlaps(arb(mpmath.nstr(fi, DPS)))


# ----------------------------------------------------------------------------- L1.6-L1.9 as properties

def _point(A, mu, g, frac, t=None):
    p = {"A": A, "mu": mu, "alpha": A.lambda_min * frac, "m": g["mean"], "S": g["cov"]}
    if t is not None:
        p["t"] = F(t)
    return p


_A2 = SPDMatrix(dv.givens_rotation(2, 0, 1, F(1, 2)), (F(1, 2), F(3)))
_EQ = cat._slow_shift(_A2, F(3, 2))


@settings(deadline=None)
@given(targets, st.fractions(F(1, 8), 1, max_denominator=8))
@example((_A2, _EQ["mu"], {"mean": _EQ["m"], "cov": _EQ["S"]}), F(1))  # the equality case
def test_gaussian_lsi_and_talagrand(args, frac):
    A, mu, g = args
    p = _point(A, mu, g, F(frac))
    cat.GAUSSIAN_LSI.assert_holds(p, DPS)
    cat.T2.assert_holds(p, DPS)


def test_equality_cases_are_attained():
    for bound in (cat.GAUSSIAN_LSI, cat.T2):
        ev = bound.evaluate(_EQ, DPS)
        with workdps(DPS):
            assert abs(ev.ratio - 1) < TOL
    ev = cat.KL_DECAY.evaluate({**_EQ, "t": F(7, 3)}, DPS)
    with workdps(DPS):
        assert abs(ev.ratio - 1) < TOL


@settings(deadline=None)
@given(targets, st.fractions(F(1, 8), 1, max_denominator=8), st.fractions(0, 3, max_denominator=8))
def test_kl_decay_and_w2_contraction(args, frac, t):
    A, mu, g = args
    p = _point(A, mu, g, F(frac), t)
    cat.KL_DECAY.assert_holds(p, DPS)
    cat.W2_CONTRACTION.assert_holds(p, DPS)


def test_lsi_fails_with_alpha_above_lambda_min():
    # the teeth, by hand: at the equality case with alpha = lambda_max = 3 > 1/2
    ev = cat.GAUSSIAN_LSI.evaluate({**_EQ, "alpha": F(3)}, DPS)
    with workdps(DPS):
        # KL = lam c^2/2 and I = lam^2 c^2 with lam = 1/2, c = 3/2: I/(2*3) = KL/6 < KL
        assert abs(ev.lhs - mpmath.mpf(9) / 16) < TOL and abs(ev.rhs - mpmath.mpf(9) / 96) < TOL


def test_symbolic_fisher_is_the_stated_dissipation_rate():
    import sympy as sp
    from identities import langevin as il
    m, v, lam, mu = il.S.m, il.S.v, il.S.lam, il.S.mu
    fisher = il.gaussian_fisher_1d(m, v, mu, 1 / lam)  # E |d/dx log(rho/pi)|^2 by the moment table
    assert sp.cancel(fisher + cat.DISSIPATION["dkl_dt"]) == 0


# ----------------------------------------------------------------------------- entries

EXPECTED = {"langevin.entropy_dissipation": Status.PROVED, "langevin.gaussian_lsi": Status.PROVED,
            "langevin.talagrand_t2": Status.PROVED, "langevin.holley_stroock": Status.CERTIFIED}


@pytest.mark.parametrize("entry_id", [e.id for e in select(["langevin.*"])])
def test_entry_passes_and_rejects_its_mutants(entry_id, verified):
    res = verified(entry_id)
    assert res.status is EXPECTED.get(entry_id, Status.CONFIRMED), [(c.route, c.status, c.metric) for c in res.checks]
    assert all(c.status.passing for c in res.checks)
    assert res.mutants and all(m.status is Status.REJECTED for m in res.mutants), [
        (m.name, m.status, m.detail) for m in res.mutants]
    assert all(m.counterexample for m in res.mutants)


def test_proof_routes_are_z3_proofs():
    for entry_id in ("langevin.gaussian_lsi", "langevin.talagrand_t2"):
        res = run_entry(get(entry_id), Context(dps=30))
        (proof,) = [c for c in res.checks if c.route == "proof"]
        assert proof.status is Status.PROVED and "z3" in proof.metric
