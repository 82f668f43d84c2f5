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

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping, Optional, Sequence

import mpmath
import sympy
import sympy as sp

from identities import prove_equal
from numerics.errors import InvalidParameter, NotProved
from numerics.precision import (
    EXTRA_DIGITS,
    identity_tolerance,
    mpf_exact,
    relative_error,
    workdps,
)
from proofs_check.entry import Check, Context, Outcome, Status

__all__ = [
    "Case",
    "Goal",
    "NotReal",
    "case_numeric_route",
    "evaluate_formula",
    "goal_symbolic_route",
    "numeric_route",
    "once",
    "rational_points",
    "replace",
    "symbolic_route",
    "sympy_floats",
    "sympy_matrix",
    "sympy_vector",
    "to_mpf",
    "to_mpmath",
]

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


_NUMERIC_REFERENCES: dict = {}


def _cached_reference(reference: Callable, point: Point, dps: int) -> dict:
    """``reference(point, dps)`` inside ``workdps(dps)``, computed once per point and precision.

    A reference never reads the claim, so the mutants reuse the values computed for the claim.
    """
    try:
        key = (reference, tuple(sorted(point.items())), dps)
        hash(key)
    except TypeError:  # unhashable point values: compute without caching
        with workdps(dps):
            return dict(reference(point, dps))
    if key not in _NUMERIC_REFERENCES:
        if len(_NUMERIC_REFERENCES) > 4096:
            _NUMERIC_REFERENCES.clear()
        with workdps(dps):
            _NUMERIC_REFERENCES[key] = dict(reference(point, dps))
    return _NUMERIC_REFERENCES[key]


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
            ref_high = _cached_reference(reference, point, dps + EXTRA_DIGITS)
            ref = _cached_reference(reference, point, dps)
            with workdps(dps):
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


# ============================================================================= matrix claims
#
# Claims whose formulas are functions of vector and matrix parameters (the Gaussian family):
# parameters travel as exact Cases, references are computed once per (case, precision) and
# reused for the mutants, errors are norm-wise.

@dataclass(frozen=True)
class Case:
    """Exact parameters of one numeric evaluation (hashable, so references can be reused)."""

    label: str
    params: tuple  # ((name, value), ...); values: Fraction or tuples of them

    def __getitem__(self, name: str):
        return dict(self.params)[name]

    def shown(self) -> dict:
        return {k: _show(v) for k, v in self.params}


def _show(v) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return str(v)



# ----------------------------------------------------------------------------- claims over matrix parameters

def sympy_vector(v: tuple) -> sp.Matrix:
    return sp.Matrix([sp.Rational(x.numerator, x.denominator) for x in v])


def sympy_matrix(m: tuple) -> sp.Matrix:
    return sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in m])


def sympy_floats(values, dps: int) -> sp.Matrix:
    """mpmath numbers (a list, or a list of lists) as a sympy Matrix of exact binary Floats."""
    rows = values if isinstance(values[0], list) else [[v] for v in values]
    return sp.Matrix([[sp.Float(v, dps + 10) for v in row] for row in rows])


class NotReal(Exception):
    pass


def to_mpf(e, dps: int) -> mpmath.mpf:
    e = sp.Integer(e) if isinstance(e, int) else e
    if e.is_Rational:
        return mpmath.mpf(int(e.p)) / int(e.q)
    v = e.evalf(dps + 10)
    if not v.is_Float:
        raise NotReal(f"the stated formula gives {sp.sstr(v)[:60]}, not a real number")
    return mpmath.mpf(v._mpf_)


def to_mpmath(value, dps: int):
    """A sympy scalar or Matrix as an mpf, or a list (column) or list of lists (matrix)."""
    if isinstance(value, sp.MatrixBase):
        if value.shape[1] == 1:
            return [to_mpf(v, dps) for v in value]
        return [[to_mpf(value[i, j], dps) for j in range(value.shape[1])]
                for i in range(value.shape[0])]
    return to_mpf(value, dps)


def _flat(value) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [mpmath.mpmathify(value)]


def _rel(stated, reference) -> mpmath.mpf:
    """Norm-wise error max|s - r| / max(1, max|r|): relative for references of size >= 1,
    absolute below (a mean or a moment that is exactly 0 is computed as quadrature noise, so a
    pure relative error would compare noise with noise)."""
    s, r = _flat(stated), _flat(reference)
    if len(s) != len(r):
        return mpmath.inf
    return max(abs(a - b) for a, b in zip(s, r)) / max(1, max(abs(x) for x in r))



_REFERENCES: dict = {}


def _reference(fn: Callable, case: Case, dps: int) -> dict:
    """fn(case, dps) at dps digits, computed once: references do not depend on the claim."""
    key = (fn.__module__, fn.__qualname__, case, dps)
    if key not in _REFERENCES:
        if len(_REFERENCES) > 512:
            _REFERENCES.clear()
        with workdps(dps):
            _REFERENCES[key] = fn(case, dps)
    return _REFERENCES[key]


def case_numeric_route(cases: Callable[[Context], list], reference: Callable, stated: Callable,
             description: str, budget: float = 30.0) -> Check:
    """Compare ``stated(claim, case, ref, dps)`` with ``reference(case, dps)`` name by name.

    Pass rule (routes.numeric_route): every norm-wise relative error below 10^-(dps-10) and the
    reference at dps and dps + 20 digits agreeing to the same tolerance.
    """
    def run(claim, ctx: Context) -> Outcome:
        dps = ctx.dps
        tol = identity_tolerance(dps)
        worst_err, worst, gap, compared = mpmath.mpf(0), None, mpmath.mpf(0), 0
        all_cases = cases(ctx)
        for case in all_cases:
            ref = _reference(reference, case, dps)
            high = _reference(reference, case, dps + EXTRA_DIGITS)
            with workdps(dps):
                try:
                    values = stated(claim, case, ref, dps)
                except (NotReal, InvalidParameter, ZeroDivisionError) as exc:
                    return Outcome(Status.FAIL, f"{case.label}: the stated formula cannot be "
                                   "evaluated", detail=str(exc),
                                   counterexample={"case": case.label, "point": case.shown()})
                for name, value in values.items():
                    if name not in ref:
                        continue
                    err = _rel(value, ref[name])
                    compared += 1
                    if worst is None or err > worst_err:
                        worst_err, worst = err, (name, case, value, ref[name])
            with workdps(dps + EXTRA_DIGITS):
                for name in ref:
                    gap = max(gap, _rel(ref[name], high[name]))
        if not compared:
            return Outcome(Status.FAIL, "the reference computes none of the claim's formulas")
        metric = (f"max rel err {mpmath.nstr(worst_err, 2)} over {len(all_cases)} cases "
                  f"(tol {mpmath.nstr(tol, 1)}); dps/dps+{EXTRA_DIGITS} gap {mpmath.nstr(gap, 2)}")
        if gap > tol:
            return Outcome(Status.INCONCLUSIVE, metric,
                           detail="the reference did not agree with itself at two precisions")
        if worst_err > tol:
            name, case, value, refv = worst
            return Outcome(Status.FAIL, metric, value=float(worst_err), counterexample={
                "formula": name, "case": case.label, "point": case.shown(),
                "stated": [mpmath.nstr(v, 20) for v in _flat(value)],
                "reference": [mpmath.nstr(v, 20) for v in _flat(refv)]})
        return Outcome(Status.CONFIRMED, metric, value=float(worst_err))

    return Check("numeric", run, description=description, budget=budget)


Goal = tuple  # (label, thunk returning (derived, stated))


def goal_symbolic_route(goals: Callable[[dict], list], description: str, budget: float = 40.0) -> Check:
    """Prove every goal ``derived == stated`` with :func:`identities.prove_equal`."""
    def run(claim, ctx: Context) -> Outcome:
        items = goals(claim)
        share = max(budget * 0.8 / max(len(items), 1), 0.5)
        methods, open_ = set(), []
        for label, thunk in items:
            try:
                derived, stated = thunk()
            except NotProved as exc:
                open_.append(f"{label}: derivation did not close ({exc})")
                continue
            result = prove_equal(derived, stated, budget=share, seed=ctx.seed)
            if result.status == "FAIL":
                return Outcome(Status.FAIL, f"{label}: the stated formula differs from the "
                               "derivation", detail=str(result),
                               counterexample={"goal": label, **(result.counterexample or {})})
            if result.status == "PROVED":
                methods.add(result.method or "?")
            else:
                open_.append(f"{label}: {result}")
        if open_:
            return Outcome(Status.INCONCLUSIVE, f"{len(items) - len(open_)} of {len(items)} "
                           "goals proved", detail="; ".join(open_))
        return Outcome(Status.PROVED, f"{len(items)} goals reduced to 0 "
                       f"({', '.join(sorted(methods))})")

    return Check("symbolic", run, description=description, budget=budget)


def once(fn):
    """A zero-argument function evaluated at most once (goals share one derivation)."""
    memo = []
    return lambda: memo[0] if memo else memo.append(fn()) or memo[0]
