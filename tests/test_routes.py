"""proofs_check.routes: the generic symbolic and numeric routes for identity claims."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy as sp

from proofs_check.entry import Context, Status
from proofs_check.routes import numeric_route, rational_points, replace, symbolic_route

beta, abar_prev = sp.symbols("beta abar_prev")
ALPHA = 1 - beta
# beta_tilde as stated in the notes, and the posterior precision 1/(alpha/beta + 1/(1-abar_prev))
CLAIM = {"beta_tilde": (1 - abar_prev) * beta / (1 - ALPHA * abar_prev), "one": beta / beta}
WRONG = replace(CLAIM, beta_tilde=(1 - ALPHA * abar_prev) * beta / (1 - abar_prev))
UNIT = {beta: "unit_interval", abar_prev: "unit_interval"}


def derive():
    return {"beta_tilde": 1 / (ALPHA / beta + 1 / (1 - abar_prev)), "one": sp.Integer(1)}


def test_symbolic_route_proves_each_formula_with_only_its_own_assumptions():
    # "one" has no symbols left after cancelling: the route must not pass it the assumptions
    outcome = symbolic_route(derive, UNIT).run(CLAIM, Context())
    assert outcome.status is Status.PROVED


def test_symbolic_route_fails_a_wrong_formula_with_its_counterexample():
    outcome = symbolic_route(derive, UNIT).run(WRONG, Context())
    assert outcome.status is Status.FAIL
    assert outcome.counterexample["formula"] == "beta_tilde"


def reference(point, dps):
    # an independent route: the posterior variance as 1 / (posterior precision), by quadrature
    # of the Gaussian product is overkill here; the precision form is a different formula.
    b = mpmath.mpf(point["beta"].numerator) / point["beta"].denominator
    p = mpmath.mpf(point["abar_prev"].numerator) / point["abar_prev"].denominator
    return {"beta_tilde": 1 / ((1 - b) / b + 1 / (1 - p))}


def points(ctx):
    return rational_points({"beta": (Fraction(1, 1000), Fraction(99, 100)),
                            "abar_prev": (Fraction(1, 100), Fraction(999, 1000))}, 6, ctx.seed)


def test_numeric_route_confirms_the_true_claim_and_fails_the_wrong_one():
    route = numeric_route(reference, points)
    good = route.run(CLAIM, Context(dps=40))
    assert good.status is Status.CONFIRMED and good.value < 1e-30
    bad = route.run(WRONG, Context(dps=40))
    assert bad.status is Status.FAIL
    assert bad.counterexample["formula"] == "beta_tilde"
    assert set(bad.counterexample["point"]) == {"beta", "abar_prev"}


def test_numeric_route_flags_a_reference_that_disagrees_with_itself():
    def precision_limited(point, dps):  # a float-accurate "reference": not good enough
        return {"beta_tilde": mpmath.mpf(float(reference(point, dps)["beta_tilde"]))}

    outcome = numeric_route(precision_limited, points).run(CLAIM, Context(dps=40))
    assert outcome.status is not Status.CONFIRMED


def test_rational_points_are_reproducible_and_inside_their_domains():
    first = rational_points({"x": (Fraction(1, 3), Fraction(2, 3))}, 5, seed=7)
    assert first == rational_points({"x": (Fraction(1, 3), Fraction(2, 3))}, 5, seed=7)
    assert all(Fraction(1, 3) < p["x"] < Fraction(2, 3) for p in first)
