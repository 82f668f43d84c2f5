"""Tests of the public proof engine identities.proof.

Expected values come from the mathematics (hand derivations, exact evaluation with sympy
Rationals at the reported points), never from the engine's own output.
"""

from __future__ import annotations

import json
import time
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from identities import (
    FAIL,
    INCONCLUSIVE,
    PROVED,
    ProofResult,
    prove_equal,
    prove_nonnegative,
    prove_zero,
)
from numerics.errors import InvalidParameter

beta, abar_prev = sp.symbols("beta abar_prev")
UNIT = {beta: "unit_interval", abar_prev: "unit_interval"}
alpha = 1 - beta
abar = alpha * abar_prev
#: DDPM posterior variance as the inverse of the summed precisions (completing the square).
POSTERIOR_VARIANCE = 1 / (alpha / beta + 1 / (1 - abar_prev))
#: ... and in the closed form of the notes: beta_tilde = (1 - abar_prev) beta / (1 - abar).
BETA_TILDE = (1 - abar_prev) * beta / (1 - abar)

x = sp.Symbol("x", real=True)
V = sp.Function("V")
#: 1-D Fokker-Planck stationarity of exp(-V): (e^{-V} V')' + (e^{-V})'' = 0 for every V.
FOKKER_PLANCK = sp.diff(sp.exp(-V(x)) * sp.diff(V(x), x), x) + sp.diff(sp.exp(-V(x)), x, 2)
#: Mutant: exp(-2V) in the second term; zero only for special V.
FOKKER_PLANCK_MUTANT = (sp.diff(sp.exp(-V(x)) * sp.diff(V(x), x), x)
                        + sp.diff(sp.exp(-2 * V(x)), x, 2))


def rational(text: str) -> sp.Rational:
    """An exact value reported as 'p/q' (read with Fraction, never sympify)."""
    f = Fraction(text)
    return sp.Rational(f.numerator, f.denominator)


# ----------------------------------------------------------------------------- true identities

def test_posterior_variance_written_differently_is_proved():
    result = prove_equal(POSTERIOR_VARIANCE, BETA_TILDE, UNIT)
    assert result.status == PROVED and result.proved
    assert result.method in {"structural", "cancel", "expand", "log_exp_rules", "radsimp_ratsimp"}
    assert result.counterexample is None and result.residual is None
    assert result.methods_tried[-1][1] == "zero"


def test_completing_the_square_in_log_space_and_for_densities():
    m1, m2 = sp.symbols("m1 m2", real=True)
    s1, s2 = sp.symbols("s1 s2", positive=True)
    var = s1**2 * s2**2 / (s1**2 + s2**2)
    mean = (m1 * s2**2 + m2 * s1**2) / (s1**2 + s2**2)
    quad_lhs = -(x - m1) ** 2 / (2 * s1**2) - (x - m2) ** 2 / (2 * s2**2)
    quad_rhs = -(x - mean) ** 2 / (2 * var) - (m1 - m2) ** 2 / (2 * (s1**2 + s2**2))
    assert prove_equal(quad_lhs, quad_rhs).status == PROVED

    def density(y, m, v):
        return sp.exp(-(y - m) ** 2 / (2 * v)) / sp.sqrt(2 * sp.pi * v)

    product = density(x, m1, s1**2) * density(x, m2, s2**2)
    factored = density(m1, m2, s1**2 + s2**2) * density(x, mean, var)
    assert prove_equal(product, factored).status == PROVED
    # the same with the posterior variance doubled is false
    wrong = prove_equal(product, density(m1, m2, s1**2 + s2**2) * density(x, mean, 2 * var))
    assert wrong.status == FAIL


def test_log_of_product_needs_positivity():
    a, b = sp.symbols("a b")
    lhs, rhs = sp.log(a * b), sp.log(a) + sp.log(b)
    assert prove_equal(lhs, rhs, {a: "positive", b: "positive"}).status == PROVED
    # names as keys, and a symbol's own sympy assumptions, count the same way
    assert prove_equal(lhs, rhs, {"a": "positive", "b": ("positive",)}).status == PROVED
    ap, bp = sp.symbols("a b", positive=True)
    assert prove_equal(sp.log(ap * bp), sp.log(ap) + sp.log(bp)).status == PROVED
    # for reals it is false (a = b = -1 gives 0 vs 2*pi*i): must never be PROVED
    real = prove_equal(lhs, rhs, {a: "real", b: "real"}, budget=3.0)
    assert real.status != PROVED and real.residual


def test_fokker_planck_stationarity_with_an_undefined_potential():
    result = prove_zero(FOKKER_PLANCK)
    assert result.status == PROVED


def test_matrix_identities_are_proved_entrywise():
    a = sp.Symbol("a", positive=True)
    lhs = sp.Matrix([[a / (a + 1), 1], [sp.log(a**2), 0]])
    rhs = sp.Matrix([[1 - 1 / (a + 1), 1], [2 * sp.log(a), 0]])
    assert prove_equal(lhs, rhs).status == PROVED
    assert prove_zero(lhs - rhs).status == PROVED
    wrong = prove_equal(lhs, sp.Matrix([[1 - 1 / (a + 2), 1], [2 * sp.log(a), 0]]))
    assert wrong.status == FAIL and wrong.counterexample["entry"] == "(0, 0)"


# ----------------------------------------------------------------------------- false identities

def test_swapped_index_posterior_variance_fails_with_a_true_counterexample():
    wrong = (1 - abar) * beta / (1 - abar_prev)
    result = prove_equal(POSTERIOR_VARIANCE, wrong, UNIT)
    assert result.status == FAIL and not result.proved
    point = {s: rational(result.counterexample["point"][s.name]) for s in (beta, abar_prev)}
    assert all(0 < v < 1 for v in point.values())  # respects unit_interval
    lhs_value = POSTERIOR_VARIANCE.subs(point)
    rhs_value = wrong.subs(point)
    assert lhs_value.is_Rational and rhs_value.is_Rational and lhs_value != rhs_value
    # the reported numeric values are those of the two sides
    assert float(result.counterexample["lhs"]) == pytest.approx(float(lhs_value), rel=1e-12)
    assert float(result.counterexample["rhs"]) == pytest.approx(float(rhs_value), rel=1e-12)
    # reproducible from the seed
    again = prove_equal(POSTERIOR_VARIANCE, wrong, UNIT)
    assert again.counterexample == result.counterexample


def test_fokker_planck_mutant_fails_with_an_instantiated_potential():
    result = prove_zero(FOKKER_PLANCK_MUTANT)
    assert result.status == FAIL
    cx = result.counterexample
    assert set(cx["point"]) == {"x"} and set(cx["functions"]) == {"V"}
    assert "x" in cx["functions"]["V"]  # a polynomial in the argument's name
    assert abs(float(cx["lhs"]) - float(cx["rhs"])) > 1e-6 * max(1, abs(float(cx["rhs"])))


def test_conditions_filter_samples_but_are_not_hypotheses():
    a, s = sp.symbols("a s")
    claim = sp.sqrt((1 - a - s) ** 2), 1 - a - s  # true exactly when s <= 1 - a
    unit = {a: "unit_interval", s: "unit_interval"}
    assert prove_equal(*claim, unit).status == FAIL
    filtered = prove_equal(*claim, unit, conditions=(s < 1 - a,), budget=3.0)
    assert filtered.status == INCONCLUSIVE  # no counterexample, and no proof either
    point_free = prove_equal(*claim, unit, conditions=s < 1 - a, budget=3.0)
    assert point_free.status == INCONCLUSIVE


# ----------------------------------------------------------------------------- budget

def test_hard_identity_is_inconclusive_within_its_budget():
    y = sp.Symbol("y", real=True)
    # (sin y + cos y)^2 = 1 + sin 2y, so this is identically zero; only trig rules close it.
    hard = sp.expand((sp.sin(y) + sp.cos(y)) ** 24) - (1 + sp.sin(2 * y)) ** 12
    assert abs(hard.subs(y, sp.Rational(3, 10)).evalf(50)) < 1e-40
    t0 = time.monotonic()
    result = prove_zero(hard, budget=1.0)
    wall = time.monotonic() - t0
    assert result.status == INCONCLUSIVE
    assert wall < 1.0 + 1.5
    outcomes = {name: outcome for name, outcome, _ in result.methods_tried}
    assert outcomes["cancel"] == "nonzero" and outcomes["expand"] == "nonzero"
    assert "budget" in outcomes.values()
    assert "budget exhausted" in result.detail and result.residual


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("lhs", ["x**2", 1.5, None, [1, 2], np.array([1.0]), x + sp.Float(0.5)])
def test_invalid_operands_raise_naming_the_parameter(lhs):
    with pytest.raises(InvalidParameter, match="lhs") as info:
        prove_equal(lhs, x)
    assert info.value.name == "lhs"


def test_invalid_assumptions_and_shapes_raise():
    a = sp.Symbol("a")
    with pytest.raises(InvalidParameter, match="assumptions.*unit_interval"):
        prove_equal(a, a, {a: "bounded"})
    with pytest.raises(InvalidParameter, match="assumptions.*free symbol"):
        prove_equal(a, a, {sp.Symbol("b"): "positive"})
    with pytest.raises(InvalidParameter, match="assumptions"):
        prove_equal(sp.Symbol("c", positive=True), 1, {"c": "negative"})
    with pytest.raises(InvalidParameter, match="rhs"):
        prove_equal(sp.Matrix([[a, 1]]), sp.Matrix([[a], [1]]))
    with pytest.raises(InvalidParameter, match="rhs"):
        prove_equal(sp.Matrix([[a, 1]]), a)
    with pytest.raises(InvalidParameter, match="conditions"):
        prove_equal(a, a, conditions=("a < 1",))
    with pytest.raises(InvalidParameter, match="budget"):
        prove_equal(a, a, budget=0)
    with pytest.raises(InvalidParameter, match="expr"):
        prove_nonnegative("x")


def test_fraction_and_int_operands_are_exact():
    assert prove_equal(Fraction(1, 3) + Fraction(1, 6), Fraction(1, 2)).status == PROVED
    assert prove_equal(sp.Integer(2) ** 10, 1024).status == PROVED
    assert prove_equal(Fraction(1, 3), 0).status == FAIL


# ----------------------------------------------------------------------------- inequalities

def test_am_gm_is_proved():
    a, b = sp.symbols("a b")
    result = prove_nonnegative((a + b) / 2 - sp.sqrt(a * b), {a: "positive", b: "positive"})
    assert result.status == PROVED and result.method == "z3"


def test_beta_tilde_at_most_beta_is_proved():
    beta_tilde = (1 - abar_prev) * beta / (1 - abar_prev * (1 - beta))
    assert prove_nonnegative(beta - beta_tilde, UNIT).status == PROVED
    # the reverse claim is false on the whole open square
    assert prove_nonnegative(beta_tilde - beta, UNIT).status == FAIL


def test_false_bound_fails_with_a_counterexample_we_check():
    result = prove_nonnegative(x**2 - 2 * x)
    assert result.status == FAIL
    at = rational(result.counterexample["point"]["x"])
    assert at**2 - 2 * at < 0  # the claim is violated there (exactly: only 0 < x < 2 qualify)


def test_log_is_not_translatable_unless_a_lemma_bounds_it():
    a = sp.Symbol("a")
    result = prove_nonnegative(a - 1 - sp.log(a), {a: "positive"})
    assert result.status == INCONCLUSIVE and "not translatable" in result.detail
    assert "log(a)" in result.detail
    # with the separately proved lemma log(a) <= a - 1 the bound follows
    lemma = sp.log(a) <= a - 1
    assert prove_nonnegative(a - 1 - sp.log(a), {a: "positive"}, lemmas=[lemma]).proved
    # a model that is only "not provable from the lemma" is not reported as FAIL:
    # (2a - 1 - log(a) >= 0 is true: its minimum, at a = 1/2, is log 2; but log(a) <= 2a is
    # too weak to show it, so z3 finds a model and the engine must not call it FAIL)
    weak = prove_nonnegative(2 * a - 1 - sp.log(a), {a: "positive"}, lemmas=[sp.log(a) <= 2 * a])
    assert weak.status == INCONCLUSIVE and "lemmas" in weak.detail


def test_a_failing_method_is_recorded_and_the_engine_moves_on(monkeypatch):
    import identities.proof as proof

    def broken(e):
        raise RuntimeError("simulated bug in a canonical form")

    monkeypatch.setattr(proof, "_radsimp", broken)
    y = sp.Symbol("y", real=True)
    result = prove_equal(sp.sin(y) ** 2 + sp.cos(y) ** 2 + y / (y + 1), 1 + y / (y + 1))
    outcomes = {name: outcome for name, outcome, _ in result.methods_tried}
    assert outcomes["radsimp_ratsimp"].startswith("error: RuntimeError")
    assert result.status == PROVED and result.method == "simplify"


# ----------------------------------------------------------------------------- the result

def test_results_serialise_to_json_and_print_one_line():
    a = sp.Symbol("a", positive=True)
    results = [
        prove_equal(POSTERIOR_VARIANCE, BETA_TILDE, UNIT),
        prove_equal(POSTERIOR_VARIANCE, (1 - abar) * beta / (1 - abar_prev), UNIT),
        prove_zero(FOKKER_PLANCK_MUTANT),
        prove_nonnegative(x**2 - 2 * x),
        prove_nonnegative(sp.exp(a)),
    ]
    for result in results:
        assert isinstance(result, ProofResult)
        data = json.loads(json.dumps(result.to_dict()))
        assert data["status"] == result.status
        assert all(isinstance(row[0], str) and isinstance(row[2], float)
                   for row in data["methods_tried"])
        line = str(result)
        assert "\n" not in line and line.startswith(result.status)
    with pytest.raises(AttributeError):
        results[0].status = FAIL  # frozen


def test_sympy_assumptions_on_symbols_constrain_z3():
    # x - 1/x + 1 >= 0 fails for x in (0, (sqrt(5)-1)/2), but x^2 + x >= 0 holds for x > 0 only
    # because of the sign: the symbol's own positivity must reach the solver.
    xp = sp.Symbol("xp", positive=True)
    assert prove_nonnegative(xp**2 + xp).status == PROVED
    assert prove_nonnegative(xp**3 - xp**2 + xp).status == PROVED  # x(x^2 - x + 1) >= 0, x > 0
    xr = sp.Symbol("xr", real=True)
    assert prove_nonnegative(xr**3 - xr**2 + xr).status == FAIL     # negative for x < 0


def test_conditions_may_constrain_symbols_outside_the_claim():
    a, b = sp.symbols("a b", real=True)
    # a >= 0 follows from a >= b and b >= 0, though b does not occur in the claim
    assert prove_nonnegative(a, conditions=[a >= b, b >= 0]).status == PROVED
