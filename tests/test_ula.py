"""ULA and MALA on Gaussian targets (numerics.langevin) and the ula.* entries (L1.10-L1.15).

Independent routes: exact rational iteration of ULA against the eigenbasis closed form; the
stationary law as an exact rational fixed point and as the summed series; the MALA log ratio
from the densities against the quadratic form written here; r(x) by quadrature against the
closed form; the VW, DK and stationary-bias bounds as hypothesis properties inside their
assumptions; the calibration table.
"""

from __future__ import annotations

import json
from fractions import Fraction as F

import mpmath
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from identities import langevin as il
from numerics import divergences as dv
from numerics import langevin as nl
from numerics import strategies as S
from numerics.divergences import SPDMatrix
from numerics.errors import InvalidParameter
from numerics.precision import workdps
from proofs_check.catalog import get, select
from proofs_check.catalog import ula as cat
from proofs_check.entry import Context, Status
from proofs_check.routes import evaluate_formula
from proofs_check.runner import run_entry

DPS = 30
TOL = mpmath.mpf(10) ** -(DPS - 10)


def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator


# ----------------------------------------------------------------------------- ULA laws

@settings(deadline=None)
@given(S.ula_settings(d=None), st.integers(0, 4))
def test_exact_iteration_matches_the_eigenbasis_closed_form(p, k):
    m_exact, S_exact = nl.ula_iterate(k, p["m0"], p["S0"], p["mu"], p["A"], p["h"])
    m_k, S_k = nl.ula_law(k, p["m0"], p["S0"], p["mu"], p["A"], p["h"], DPS)
    with workdps(DPS):
        d = p["A"].dim
        for i in range(d):
            assert abs(m_k[i] - _mp(m_exact[i])) <= TOL * max(1, abs(m_k[i]))
            for j in range(d):
                assert abs(S_k[i, j] - _mp(S_exact[i][j])) <= TOL * max(1, abs(S_k[i, j]))


@settings(deadline=None)
@given(S.spd_matrices(max_condition=20), st.fractions(F(1, 20), F(39, 20), max_denominator=40), st.data())
def test_stationary_law_is_an_exact_fixed_point(A, u, data):
    h = F(u) / A.lambda_max  # h lambda_max in (0, 2): stable
    mu = data.draw(S.vectors(A.dim, 2))
    mu_h, cov_h = nl.ula_stationary_law(mu, A, h)
    m1, S1 = nl.ula_step(mu_h, cov_h, mu, A, h)
    assert m1 == tuple(mu) and S1 == cov_h.entries  # exact rational equality


def test_stationary_covariance_by_series_matches_the_closed_form():
    A = SPDMatrix(dv.givens_rotation(2, 0, 1, F(2, 3)), (F(1), F(5, 2)))
    h = F(1, 2)
    series = nl.ula_stationary_covariance_by_series(A, h, DPS)
    _, cov_h = nl.ula_stationary_law((0, 0), A, h)
    with workdps(DPS):
        assert mpmath.mnorm(series - cov_h.mp(), 1) < TOL


def test_stability_threshold():
    A = SPDMatrix.diagonal((F(1), F(4)))
    assert nl.ula_is_stable(A, F(1, 2) - F(1, 10 ** 9))
    assert not nl.ula_is_stable(A, F(1, 2))
    with pytest.raises(InvalidParameter, match="h"):
        nl.ula_stationary_law((0, 0), A, F(1, 2))
    # beyond the threshold the exact covariance grows without bound along lambda_max
    _, S20 = nl.ula_iterate(20, (0, 0), A.inverse(), (0, 0), A, F(1, 2) + F(1, 100))
    assert S20[1][1] > 10


def test_ula_validation():
    with pytest.raises(InvalidParameter, match="h"):
        nl.ula_step((0,), [[1]], (0,), [[1]], F(0))
    with pytest.raises(InvalidParameter, match="A"):
        nl.ula_step((0, 0), [[1, 0], [0, 1]], (0, 0), [[1, 2], [2, 1]], F(1, 10))
    with pytest.raises(InvalidParameter, match="mu"):
        nl.ula_step((0,), [[1]], (0, 1), [[1]], F(1, 10))


# ----------------------------------------------------------------------------- MALA

@settings(deadline=None)
@given(st.integers(1, 3).flatmap(lambda d: st.tuples(S.spd_matrices(d), S.vectors(d), S.vectors(d), S.vectors(d, 1))),
       st.fractions(F(1, 100), 1, max_denominator=100))
def test_mala_log_ratio_is_the_gradient_quadratic_form(args, h):
    A, x, y, mu = args
    got = nl.mala_log_acceptance_ratio(x, y, mu, A, F(h), DPS)
    with workdps(DPS):
        M = A.mp()
        gx = M * (dv.as_mp_vector(x) - dv.as_mp_vector(mu))
        gy = M * (dv.as_mp_vector(y) - dv.as_mp_vector(mu))
        want = _mp(F(h)) / 4 * ((gx.T * gx)[0, 0] - (gy.T * gy)[0, 0])
        assert abs(got - want) <= TOL * max(1, abs(want))


def test_mala_rejection_closed_form_against_quadrature():
    point = {"x": F(7, 5), "lam": F(3, 2), "h": F(1, 3)}
    with workdps(DPS):
        lm = _mp(point["lam"])
        rej, tv = nl.mala_rejection_and_tv_1d(point["x"], lambda z: lm * z * z / 2, lambda z: lm * z, point["h"], DPS,
                                              [point["x"], -point["x"]])
        closed = evaluate_formula(cat.MALA["rejection_probability"], point)
        assert abs(rej - closed) / closed < TOL and abs(tv - closed) / closed < TOL
        assert 0 < closed < 1


@settings(deadline=None)
@given(st.fractions(-3, 3, max_denominator=4), st.fractions(-3, 3, max_denominator=4),
       st.fractions(F(1, 16), F(1, 2), max_denominator=16))
def test_mala_detailed_balance_quartic(x, y, h):
    f, b = nl.mala_flux_1d(F(x), F(y), lambda z: z ** 4 / 4, lambda z: z ** 3, F(h), DPS)
    with workdps(DPS):
        assert abs(f - b) <= TOL * max(f, b)


def test_mala_symbolic_pieces():
    import sympy as sp
    lr = il.mala_log_ratio_1d()
    h, lam, x, y, mu = il.S.h, il.S.lam, il.S.x, il.S.yy, il.S.mu
    assert sp.expand(lr - h * lam ** 2 * ((x - mu) ** 2 - (y - mu) ** 2) / 4) == 0


# ----------------------------------------------------------------------------- bounds as properties

@settings(deadline=None)
@given(S.ula_settings())
@example(cat._STATIONARY_START)  # rho_k = pi: only the discretisation terms are left
def test_vw_one_step_and_stationary_bias(p):
    cat.ONE_STEP.assert_holds(p, DPS)
    cat.STATIONARY.assert_holds(p, DPS)


@settings(deadline=None)
@given(S.ula_settings(), st.sampled_from([0, 1, 2, 7, 30, 120]))
def test_vw_theorem(p, k):
    cat.VW.assert_holds({**p, "k": k}, DPS)


@settings(deadline=None)
@given(S.dk_settings())
def test_dalalyan_karagulyan(p):
    cat.DK.assert_holds(p, DPS)


def test_one_step_exponent_two_holds_on_gaussians_but_four_does_not():
    """The note on ula.vw_one_step: e^{-2 alpha h} is not a Gaussian counterexample, e^{-4 alpha h} is."""
    big_shift = {**cat._STATIONARY_START, "m0": (F(40), F(0))}
    two = cat.ONE_STEP.mutant("x", "x", rhs=cat._one_step_rhs(2)).claim
    four = cat.ONE_STEP.mutant("y", "y", rhs=cat._one_step_rhs(4)).claim
    assert two.evaluate(big_shift, DPS).relative >= 0
    assert four.evaluate(big_shift, DPS).relative < 0


# ----------------------------------------------------------------------------- entries and calibration

EXPECTED = {"ula.vw_one_step": Status.CONFIRMED, "ula.vw_kl_theorem": Status.CONFIRMED}


@pytest.mark.parametrize("entry_id", [e.id for e in select(["ula.*"])])
def test_entry_passes_and_rejects_its_mutants(entry_id, verified):
    res = verified(entry_id)
    assert res.status is EXPECTED.get(entry_id, Status.PROVED), [(c.route, c.status, c.metric) for c in res.checks]
    assert all(c.status.passing for c in res.checks)
    assert res.mutants and all(m.status is Status.REJECTED for m in res.mutants), [
        (m.name, m.status, m.detail) for m in res.mutants]
    assert all(m.counterexample for m in res.mutants)
    json.dumps(res.to_dict())


def test_calibration_table_and_orders(verified):
    res = verified("ula.bias_calibration")
    (cal,) = [c for c in res.checks if c.route == "rate" and "calibration" in c.description]
    assert cal.status is Status.CONFIRMED and "exact/VW" in cal.metric
    tables = cal.extra["tables"]
    assert len(tables) == 2
    for t in tables:
        fits = t["fitted_orders_small_h"]
        assert abs(fits["kl_forward"] - 2) < 0.1 and abs(fits["w2"] - 1) < 0.1 and abs(fits["ratio_kl_to_vw"] - 1) < 0.1
        # isotropic d=4, lambda=2 at h = alpha/(4L^2) = 1/8: exact KL = 4 (r - 1 - log r)/2 with r = 1/(1 - 1/8),
        # VW term = 8 h d L^2/alpha = 8; computed here from the definitions
    iso = tables[0]["rows"][0]
    with workdps(30):  # the table prints 8 significant digits: compare to 1e-7 relative
        r = mpmath.mpf(8) / 7
        exact = 4 * (r - 1 - mpmath.log(r)) / 2
        assert abs(mpmath.mpf(iso["kl_forward"]) - exact) / exact < 1e-7
        assert abs(mpmath.mpf(iso["vw_term"]) - 8) < 1e-7
    json.dumps(cal.to_dict())


def test_dk_and_stationary_bias_are_proved_by_z3():
    for entry_id in ("ula.dalalyan_karagulyan_w2", "ula.stationary_kl_below_vw_bias"):
        res = run_entry(get(entry_id), Context(dps=30))
        (proof,) = [c for c in res.checks if c.route == "proof"]
        assert proof.status is Status.PROVED and "z3" in proof.metric
