"""The Bound abstraction (proofs_check.bounds) and the public parameter strategies.

Each route is exercised on toy bounds whose truth is known by hand: AM-GM (true, equality at
a = b), a false "bound" (must FAIL with a counterexample), a power law for the rate fit, a bound
whose assumption has teeth and one whose assumption does not, and z3 reductions that are true,
false, and only refutable by search.
"""

from __future__ import annotations

import doctest
import json
import random
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import proofs_check.bounds as bounds_module
from numerics import strategies as S
from numerics.divergences import SPDMatrix
from numerics.errors import InvalidParameter
from numerics.precision import mpf_exact, workdps
from proofs_check.bounds import Bound, BoxCertificate, Rate, Reduced, Reduction, Teeth, fit_order, show_params
from proofs_check.entry import Assumption, Context, Ref, Status
from proofs_check.runner import run_entry

CTX = Context(dps=30)


def _gm(p, dps):
    with workdps(dps):
        return mpmath.sqrt(mpf_exact(p["a"]) * mpf_exact(p["b"]))


def _am(p, dps):
    with workdps(dps):
        return (mpf_exact(p["a"]) + mpf_exact(p["b"])) / 2


def _ab_sampler(rng):
    return {"a": Fraction(rng.randint(0, 99), 7), "b": Fraction(rng.randint(0, 99), 7)}


NONNEG = Assumption("nonnegative", "a, b >= 0", lambda p: p["a"] >= 0 and p["b"] >= 0)
AM_GM = Bound("demo.am_gm", _gm, _am, assumptions=(NONNEG,), sampler=_ab_sampler, draws=20,
              equality=({"a": 3, "b": 3},))


def test_module_docstring_example_runs():
    failures, _ = doctest.testmod(bounds_module, verbose=False)
    assert failures == 0


def test_true_bound_is_confirmed_with_margin_and_sharpness():
    out = AM_GM.check(CTX)
    assert out["property"].status is Status.CONFIRMED
    assert out["property"].value >= 0
    assert out["sharpness"].status is Status.CONFIRMED
    assert out["sharpness"].value == 1.0  # the declared equality case a = b


def test_evaluation_values():
    ev = AM_GM.evaluate({"a": 1, "b": 4}, 30)
    # sqrt(4) = 2 and (1 + 4)/2 = 5/2, by hand
    with workdps(30):
        assert ev.lhs == 2 and ev.rhs == mpmath.mpf(5) / 2
        assert abs(ev.ratio - mpmath.mpf(4) / 5) < mpmath.mpf(10) ** -25
        assert abs(ev.relative - mpmath.mpf(1) / 5) < mpmath.mpf(10) ** -25  # (5/2 - 2) / (5/2)


def test_false_bound_fails_with_counterexample():
    wrong = Bound("demo.am_le_gm", _am, _gm, assumptions=(NONNEG,), sampler=_ab_sampler, draws=20)
    out = wrong.check(CTX)["property"]
    assert out.status is Status.FAIL
    cx = out.counterexample
    assert set(cx) >= {"point", "lhs", "rhs", "relative_margin"}
    a, b = Fraction(cx["point"]["a"]), Fraction(cx["point"]["b"])
    assert (a + b) / 2 > 0 and a != b  # a genuine violation: AM > GM off the diagonal


def test_reversed_relation():
    ge = Bound("demo.am_ge_gm", _am, _gm, relation=">=", assumptions=(NONNEG,), sampler=_ab_sampler,
               equality=({"a": 2, "b": 2},))
    out = ge.check(CTX)
    assert out["property"].status is Status.CONFIRMED and out["sharpness"].status is Status.CONFIRMED


def test_wrong_equality_case_fails():
    b = Bound("demo.am_gm_bad_eq", _gm, _am, assumptions=(NONNEG,), sampler=_ab_sampler,
              equality=({"a": 1, "b": 4},))
    assert b.check(CTX)["sharpness"].status is Status.FAIL


def test_sampler_outside_assumptions_is_a_defect():
    b = Bound("demo.bad_sampler", _gm, _am, assumptions=(NONNEG,),
              sampler=lambda rng: {"a": Fraction(-1), "b": Fraction(1)})
    out = b.check(CTX)["property"]
    assert out.status is Status.FAIL and out.counterexample["violated"] == ["nonnegative"]


def test_mutant_rejected_by_runner_and_prints_counterexample():
    mutant = AM_GM.mutant("half_am", "GM <= AM/2", rhs=lambda p, dps: _am(p, dps) / 2)
    entry = AM_GM.entry(title="AM-GM", statement="sqrt(ab) <= (a+b)/2", source=Ref("X0", "demo"),
                        mutants=(mutant,))
    assert entry.problems() == []
    res = run_entry(entry, CTX)
    assert res.status is Status.CONFIRMED
    (m,) = res.mutants
    assert m.status is Status.REJECTED and m.counterexample is not None
    json.dumps(res.to_dict())  # JSON-ready


def test_rate_fit_on_a_power_law():
    fam = lambda ctx: [{"h": Fraction(1, 2 ** j)} for j in range(1, 7)]  # noqa: E731
    lhs = lambda p, dps: mpf_exact(p["h"]) ** 3 * 5  # noqa: E731
    rhs = lambda p, dps: mpf_exact(p["h"])  # noqa: E731
    good = Bound("demo.cube", lhs, rhs, sampler=lambda rng: {"h": Fraction(1, rng.randint(2, 9))},
                 rate=Rate("h", 3, fam))
    bad = Bound("demo.cube_bad", lhs, rhs, sampler=lambda rng: {"h": Fraction(1, rng.randint(2, 9))},
                rate=Rate("h", 2, fam))
    out = good.check(CTX)["rate"]
    assert out.status is Status.CONFIRMED and abs(out.value - 3) < 1e-20
    assert out.extra["table"] and out.extra["declared_order"] == "3"
    assert bad.check(CTX)["rate"].status is Status.FAIL


def test_fit_order_exponential_and_errors():
    xs = [1, 2, 3, 4]
    ys = [mpmath.exp(-2 * x) * 7 for x in xs]
    assert abs(fit_order(xs, ys, "exponential") + 2) < mpmath.mpf(10) ** -10
    with pytest.raises(ValueError):
        fit_order([1], [1])
    with pytest.raises(ValueError):
        fit_order([1, 2], [1, -1])


def _x_le_one():
    # lhs = x, rhs = 1, assumption x <= 1: dropping it truly breaks the bound
    return Bound("demo.x_le_one", lambda p, d: mpf_exact(p["x"]), lambda p, d: mpmath.mpf(1),
                 assumptions=(Assumption("small", "x <= 1", lambda p: p["x"] <= 1),
                              Assumption("positive", "x > 0", lambda p: p["x"] > 0)),
                 sampler=lambda rng: {"x": Fraction(rng.randint(1, 10), 10)},
                 teeth=(Teeth("small", lambda rng: {"x": Fraction(rng.randint(11, 30), 10)}),
                        Teeth("positive", lambda rng: {"x": Fraction(-rng.randint(1, 9), 10)})))


def test_teeth_found_and_missing():
    b = _x_le_one()
    out = b.check(CTX)["teeth"]
    # 'positive' has no teeth (x <= 0 still satisfies x <= 1): the route must say so
    assert out.status is Status.FAIL and "positive" in out.metric
    only_small = Bound(b.id, b.lhs, b.rhs, assumptions=b.assumptions, sampler=b.sampler, teeth=b.teeth[:1])
    out = only_small.check(CTX)["teeth"]
    assert out.status is Status.CONFIRMED and "small" in out.extra["counterexamples"]


def test_teeth_sampler_must_break_exactly_that_assumption():
    b = Bound("demo.teeth_defect", lambda p, d: mpf_exact(p["x"]), lambda p, d: mpmath.mpf(1),
              assumptions=(Assumption("small", "x <= 1", lambda p: p["x"] <= 1),),
              sampler=lambda rng: {"x": Fraction(1, 2)}, teeth=(Teeth("small", lambda rng: {"x": Fraction(1, 2)}),))
    assert b.check(CTX)["teeth"].status is Status.FAIL


a_, b_ = sp.symbols("a b", real=True)


def _amgm_reduction(c):
    # c (a^2 + b^2) >= 2ab  <=>  AM-GM for a^2, b^2 (true iff c >= 1)
    return Reduction((Reduced("squares", c * (a_ ** 2 + b_ ** 2) - 2 * a_ * b_, (a_ >= 0, b_ >= 0)),),
                     "With a = sqrt(x), b = sqrt(y): (x + y)/2 >= sqrt(xy) iff x + y >= 2ab.")


def test_proof_route_proves_and_refutes():
    b = Bound("demo.am_gm_proved", _gm, _am, assumptions=(NONNEG,), sampler=_ab_sampler,
              reduction=_amgm_reduction(1))
    out = b.check(CTX)["proof"]
    assert out.status is Status.PROVED and "whole domain" in out.metric
    with pytest.raises(ValueError):
        b.mutant("no_reduction", "missing reduction", rhs=lambda p, d: _am(p, d) / 2)
    m = b.mutant("half", "GM <= AM/2", rhs=lambda p, d: _am(p, d) / 2, reduction=_amgm_reduction(sp.Rational(1, 2)))
    out = m.claim.check(CTX)["proof"]
    assert out.status is Status.FAIL and out.counterexample["statement"] == "squares"


def test_proof_route_search_refutes_when_lemmas_leave_it_open():
    w = sp.Symbol("w", real=True)
    from identities.langevin import LOG1P_UPPER
    # w/2 >= log(1 + w) is false for small w > 0; from log(1+w) <= w alone z3 cannot decide it
    red = Reduction((Reduced("half", w / 2 - sp.log(1 + w), (w >= 0,), ((LOG1P_UPPER, w),)),), "toy")
    b = Bound("demo.search", lambda p, d: mpmath.mpf(0), lambda p, d: mpmath.mpf(1),
              sampler=lambda rng: {}, reduction=red)
    out = b.check(CTX)["proof"]
    assert out.status is Status.FAIL
    w0 = Fraction(out.counterexample["point"]["w"])
    assert w0 >= 0 and float(w0) / 2 < float(sp.log(1 + sp.Rational(w0.numerator, w0.denominator)))


def test_box_certificate_certifies_and_refutes():
    # 1 + a^2 - a >= 3/4 > 0 on [-2, 2] (certified); a^2 - a is -1/4 at a = 1/2 (refuted at a box centre)
    def bound_with(margin):
        return Bound("demo.box", lambda p, d: mpmath.mpf(0), lambda p, d: mpmath.mpf(1), sampler=lambda rng: {},
                     certificate=BoxCertificate(({"a": (-2, 2), "c": (1, 1)},), margin))
    from flint import arb
    good = bound_with(lambda x: arb(x["c"].numerator) / x["c"].denominator + x["a"] * x["a"] - x["a"])
    out = good.check(CTX)["proof"]
    assert out.status is Status.CERTIFIED
    bad = good.mutant("no_constant", "a^2 - a", certificate=BoxCertificate(
        ({"a": (-2, 2), "c": (1, 1)},), lambda x: x["a"] * x["a"] - x["a"]))
    out = bad.claim.check(CTX)["proof"]
    assert out.status is Status.FAIL
    a0 = Fraction(out.counterexample["point"]["a"])
    assert a0 * a0 - a0 < 0
    with pytest.raises(ValueError):
        good.mutant("missing", "no certificate", rhs=lambda p, d: mpmath.mpf(2))


def test_condition_symbols_absent_from_expression():
    x, y = sp.symbols("x y", real=True)
    # x^2 + 1 - y >= 0 needs y <= 1 only through a condition mentioning y: here expr has no y
    red = Reduction((Reduced("only_x", x ** 2 + 1, (x >= 0, y <= 1)),), "toy")
    b = Bound("demo.mention", lambda p, d: mpmath.mpf(0), lambda p, d: mpmath.mpf(1), sampler=lambda rng: {},
              reduction=red)
    assert b.check(CTX)["proof"].status is Status.PROVED


def test_assert_holds_and_validation():
    AM_GM.assert_holds({"a": 2, "b": 8}, 30)
    wrong = Bound("demo.wrong", _am, _gm, assumptions=(NONNEG,))
    with pytest.raises(AssertionError, match="fails"):
        wrong.assert_holds({"a": 1, "b": 9}, 30)
    with pytest.raises(AssertionError, match="breaks the assumptions"):
        AM_GM.assert_holds({"a": -1, "b": 9}, 30)
    with pytest.raises(ValueError):
        Bound("demo.rel", _gm, _am, relation="<")
    with pytest.raises(ValueError):
        Bound("demo.teeth", _gm, _am, teeth=(Teeth("nope"),))


def test_show_params_is_json_ready():
    A = SPDMatrix.diagonal((Fraction(1, 2), Fraction(3)))
    shown = show_params({"A": A, "h": Fraction(1, 3), "m": (Fraction(1), Fraction(-2)), "k": 4})
    assert shown["A"]["eigenvalues"] == ["1/2", "3"] and shown["h"] == "1/3" and shown["k"] == 4
    json.dumps(shown)


# ----------------------------------------------------------------------------- public strategies

@settings(deadline=None)
@given(S.spd_matrices())
def test_spd_strategy_respects_its_bounds(A):
    assert 1 <= A.dim <= 5
    assert A.condition_number <= 100
    assert Fraction(1, 20) <= A.lambda_min <= 10
    q = A.rotation
    for i in range(A.dim):  # exactly orthogonal
        for j in range(A.dim):
            assert sum(q[k][i] * q[k][j] for k in range(A.dim)) == (i == j)


@settings(deadline=None)
@given(S.probability_vectors(allow_zero=True), S.stochastic_matrices(3, 4))
def test_probability_strategies_are_exact_laws(p, K):
    assert sum(p) == 1 and min(p) >= 0 and all(isinstance(x, Fraction) for x in p)
    assert len(K) == 3 and all(len(r) == 4 and sum(r) == 1 for r in K)


@settings(deadline=None)
@given(S.ula_settings())
def test_ula_settings_inside_the_vw_assumptions(p):
    A = p["A"]
    assert 0 < p["alpha"] <= A.lambda_min and p["L"] >= A.lambda_max
    assert 0 < p["h"] <= p["alpha"] / (4 * p["L"] ** 2)
    assert len(p["m0"]) == len(p["mu"]) == A.dim == p["S0"].dim


@settings(deadline=None)
@given(st.data())
def test_step_sizes_strategy(data):
    h = data.draw(S.step_sizes(Fraction(1, 2), Fraction(3)))
    assert 0 < h <= Fraction(1, 2) / 36


def test_dirichlet_sampler_is_an_exact_law():
    rng = random.Random(3)
    for _ in range(20):
        p = S.random_probability_vector(rng, 5, concentration=Fraction(1, 2))
        assert len(p) == 5 and sum(p) == 1 and min(p) > 0 and all(isinstance(x, Fraction) for x in p)
    with pytest.raises(InvalidParameter):
        S.random_probability_vector(rng, 3, concentration=0)


def test_seeded_samplers_are_reproducible():
    a = S.random_ula_setting(random.Random(5))
    b = S.random_ula_setting(random.Random(5))
    assert a == b


def test_strategy_input_validation():
    with pytest.raises(InvalidParameter):
        S.random_spd(random.Random(0), 2, max_condition=Fraction(1, 2))
    with pytest.raises(InvalidParameter):
        S.random_spd(random.Random(0), 2, lambda_min_range=(Fraction(0), Fraction(1)))
    with pytest.raises(InvalidParameter):
        S.random_vector(random.Random(0), 2, bound=0.5)  # a float is refused
