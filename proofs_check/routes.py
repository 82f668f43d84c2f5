"""Reusable check routes for identity entries whose claim is a mapping of named formulas.

An identity entry's claim is ``{name: sympy expression}``: the formulas *as stated* in the
notes.  Two routes judge such a claim, and each must be able to fail:

* :func:`symbolic_route`: ``derive()`` returns the same names derived from definitions in
  ``identities/<topic>.py``; :func:`identities.prove_equal` must reduce each difference to 0.
* :func:`numeric_route`: ``reference(point, dps)`` computes the same names by a route that does
  not use the closed forms (quadrature, recursion, exact enumeration); the claimed formula is
  evaluated at the same point; pass when every relative error is below 10^-(dps-10) and the
  reference computed at dps and dps+20 digits agrees to the same tolerance.

A mutant is the claim with one formula replaced by a plausible wrong one; both routes see it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Mapping, Optional, Sequence

import mpmath
import sympy

from identities import prove_equal
from numerics.precision import (
    EXTRA_DIGITS,
    identity_tolerance,
    mpf_exact,
    relative_error,
    workdps,
)
from proofs_check.entry import Check, Context, Outcome, Status

__all__ = ["evaluate_formula", "numeric_route", "rational_points", "replace", "symbolic_route"]

Point = Mapping[str, Any]


def replace(claim: Mapping[str, Any], **formulas: Any) -> dict:
    """A copy of ``claim`` with some formulas replaced (the usual way to build a mutant)."""
    unknown = set(formulas) - set(claim)
    if unknown:
        raise KeyError(f"mutant replaces formulas the claim does not have: {sorted(unknown)}")
    out = dict(claim)
    out.update(formulas)
    return out


def symbolic_route(
    derive: Callable[[], Mapping[str, Any]],
    assumptions: Optional[Mapping[Any, Any]] = None,
    *,
    conditions: Sequence[Any] = (),
    budget: float = 30.0,
    description: str = "sympy: the stated formulas equal the derivation",
) -> Check:
    """A check proving ``claim[name] == derive()[name]`` for every name of the claim."""

    def run(claim: Mapping[str, Any], ctx: Context) -> Outcome:
        derived = derive()
        missing = [name for name in claim if name not in derived]
        if missing:
            return Outcome(Status.FAIL, f"no derivation for {', '.join(missing)}")
        share = max(budget * 0.8 / max(len(claim), 1), 0.5)
        proved, methods, inconclusive = [], [], []
        for name, stated in claim.items():
            result = prove_equal(derived[name], stated,
                                 _assumptions_for(assumptions, derived[name], stated),
                                 conditions=conditions, budget=share, seed=ctx.seed)
            if result.status == "FAIL":
                return Outcome(Status.FAIL, f"{name}: the stated formula differs from the derivation",
                               detail=str(result),
                               counterexample={"formula": name, **(result.counterexample or {})})
            if result.status == "PROVED":
                proved.append(name)
                methods.append(result.method or "?")
            else:
                inconclusive.append(f"{name}: {result}")
        if inconclusive:
            return Outcome(Status.INCONCLUSIVE,
                           f"{len(proved)} of {len(claim)} formulas proved",
                           detail="; ".join(inconclusive))
        used = ", ".join(sorted(set(methods)))
        return Outcome(Status.PROVED, f"{len(proved)} formula(s) reduced to 0 ({used})")

    return Check("symbolic", run, description=description, budget=budget)


def _assumptions_for(assumptions: Optional[Mapping[Any, Any]], *exprs: Any) -> Optional[dict]:
    """The assumptions on the symbols that occur in ``exprs`` (a topic declares them once for
    all its formulas; prove_equal refuses assumptions on symbols that do not occur)."""
    if not assumptions:
        return None
    present: set = set()
    for e in exprs:
        if isinstance(e, sympy.Basic):
            present |= e.free_symbols
    names = {s.name for s in present}
    return {k: v for k, v in assumptions.items()
            if (k in present if isinstance(k, sympy.Symbol) else k in names)}


_LAMBDA_CACHE: dict[tuple, Callable] = {}


def evaluate_formula(expr: Any, point: Point) -> mpmath.mpf:
    """Evaluate a sympy expression at an exact point, at the current mpmath precision."""
    if not isinstance(expr, sympy.Basic):
        return mpmath.mpmathify(expr)
    symbols = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    missing = [s.name for s in symbols if s.name not in point]
    if missing:
        raise KeyError(f"point gives no value for {', '.join(missing)}")
    key = (expr, symbols)
    fn = _LAMBDA_CACHE.get(key)
    if fn is None:
        fn = sympy.lambdify(symbols, expr, modules="mpmath")
        _LAMBDA_CACHE[key] = fn
    return mpmath.mpmathify(fn(*[mpf_exact(point[s.name], s.name) for s in symbols]))


def _show_point(point: Point) -> dict:
    return {k: str(v) for k, v in point.items()}


def numeric_route(
    reference: Callable[[Point, int], Mapping[str, Any]],
    points: Callable[[Context], Sequence[Point]],
    *,
    budget: float = 60.0,
    description: str = "mpmath: an independent route agrees with the stated formulas",
    evaluate: Optional[Callable[[Any, Point], Any]] = None,
) -> Check:
    """A check comparing the claim with an independent high-precision computation.

    ``reference(point, dps)`` is called inside ``workdps(dps)`` and returns mpmath numbers for
    (a subset of) the claim's names; ``points(ctx)`` gives exact parameter points (values as
    ``int``, ``str`` or :class:`fractions.Fraction`).  ``evaluate(formula, point)`` evaluates a
    claimed formula (default: :func:`evaluate_formula` for sympy expressions).
    """
    evaluate = evaluate or evaluate_formula

    def run(claim: Mapping[str, Any], ctx: Context) -> Outcome:
        dps = ctx.dps
        tol = identity_tolerance(dps)
        worst_err, worst = mpmath.mpf(0), None
        worst_gap = mpmath.mpf(0)
        pts = list(points(ctx))
        if not pts:
            return Outcome(Status.SKIP, "no points to evaluate")
        compared = 0
        for point in pts:
            with workdps(dps + EXTRA_DIGITS):
                ref_high = dict(reference(point, dps + EXTRA_DIGITS))
            with workdps(dps):
                ref = dict(reference(point, dps))
                for name, value in ref.items():
                    if name not in claim:
                        continue
                    stated = evaluate(claim[name], point)
                    err = relative_error(stated, value)
                    compared += 1
                    if err > worst_err or worst is None:
                        worst_err, worst = err, (name, point, stated, value)
            with workdps(dps + EXTRA_DIGITS):
                for name, value in ref.items():
                    gap = relative_error(value, ref_high[name])
                    worst_gap = max(worst_gap, gap)
        if compared == 0:
            return Outcome(Status.FAIL, "the reference computes none of the claim's formulas")
        metric = (f"max rel err {mpmath.nstr(worst_err, 2)} over {len(pts)} points "
                  f"(tol {mpmath.nstr(tol, 1)}); dps/dps+{EXTRA_DIGITS} gap {mpmath.nstr(worst_gap, 2)}")
        if worst_gap > tol:
            return Outcome(Status.INCONCLUSIVE, metric,
                           detail="the reference route did not agree with itself at two precisions")
        if worst_err > tol:
            name, point, stated, value = worst
            return Outcome(Status.FAIL, metric, value=float(worst_err),
                           counterexample={"formula": name, "point": _show_point(point),
                                           "stated": mpmath.nstr(stated, 20),
                                           "reference": mpmath.nstr(value, 20)})
        return Outcome(Status.CONFIRMED, metric, value=float(worst_err))

    return Check("numeric", run, description=description, budget=budget)


def rational_points(symbols_domains: Mapping[str, tuple[Fraction, Fraction]], count: int,
                    seed: int, edges: Sequence[Point] = ()) -> list[dict]:
    """Reproducible exact rational points, uniform in each (lo, hi), plus declared edge cases."""
    import random

    rng = random.Random(seed)
    out = [dict(p) for p in edges]
    for _ in range(count):
        point = {}
        for name, (lo, hi) in symbols_domains.items():
            lo, hi = Fraction(lo), Fraction(hi)
            u = Fraction(rng.randrange(1, 10**6), 10**6)
            point[name] = lo + (hi - lo) * u
        out.append(point)
    return out
