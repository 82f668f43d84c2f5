"""Bounds: inequalities with named assumptions, tested for margin, sharpness, rate and teeth, and
proved where a decision procedure reaches.

A :class:`Bound` is ``lhs(params) <relation> rhs(params)`` under named assumptions (predicates on
a parameter dict).  ``lhs`` and ``rhs`` are functions ``(params, dps) -> mpmath number``; the lhs
is the *exact* quantity (a closed form on a Gaussian target, exact rationals on a finite space,
quadrature at ``dps`` digits).  From it come the catalog's checks (routes of
:data:`proofs_check.entry.ROUTES`):

property   the minimum of rhs - lhs (relative to max(|lhs|, |rhs|)) over drawn points that satisfy
           every assumption, with the worst point; FAIL with that counterexample when it is below
           -10^-(dps-10).  Runs on mutants too.
sharpness  lhs/rhs at each declared equality case (must be 1 to 10^-(dps-10)) and the largest
           lhs/rhs over the draws (must not exceed 1).
rate       the fitted log-log slope of a quantity (default: lhs) against one parameter, versus a
           declared order; pass within ``tolerance`` (0.1).  ``kind="exponential"`` fits log q
           against the parameter instead.
teeth      for each declared :class:`Teeth`: points that break exactly that one assumption yield
           a counterexample (declared only where the bound truly fails without it).
proof      a :class:`Reduction`: scalar inequalities ``expr >= 0`` (polynomial, rational, radical,
           or with log terms bounded by proved lemmas) which imply the bound on its whole domain;
           each is sent to :func:`identities.prove_nonnegative` (z3): all unsat -> PROVED; a
           confirmed model or a found violation -> FAIL with the counterexample; (b) else a
           :class:`BoxCertificate`: Arb branch and bound over boxes in 1-3 parameters -> CERTIFIED
           on those boxes.  Runs on mutants.

Mutants are Bounds with one piece replaced (a wrong constant or exponent in rhs, a dropped error
term): :meth:`Bound.mutant` builds them; a bound with a reduction needs the mutant's own
reduction (else the proof route would prove the original statement and accept the mutant).

Example: property-test AM-GM and register nothing::

    >>> import mpmath
    >>> from fractions import Fraction
    >>> from numerics.precision import mpf_exact, workdps
    >>> from proofs_check.bounds import Bound
    >>> from proofs_check.entry import Assumption, Context
    >>> def gm(p, dps):
    ...     with workdps(dps):
    ...         return mpmath.sqrt(mpf_exact(p["a"]) * mpf_exact(p["b"]))
    >>> def am(p, dps):
    ...     with workdps(dps):
    ...         return (mpf_exact(p["a"]) + mpf_exact(p["b"])) / 2
    >>> am_gm = Bound("demo.am_gm", gm, am,
    ...     assumptions=(Assumption("nonnegative", "a, b >= 0", lambda p: p["a"] >= 0 <= p["b"]),),
    ...     sampler=lambda rng: {"a": Fraction(rng.randint(0, 99), 7), "b": Fraction(rng.randint(0, 99), 7)},
    ...     equality=({"a": 2, "b": 2},))
    >>> print(mpmath.nstr(am_gm.evaluate({"a": 1, "b": 4}, 30).ratio, 5))
    0.8
    >>> [c.route for c in am_gm.checks()]
    ['property', 'sharpness']
    >>> am_gm.check(Context(dps=30))["property"].status.value
    'CONFIRMED'

``bound.entry(title=..., statement=..., source=Ref(...), mutants=(...))`` makes a catalog Entry;
``bound.assert_holds(params)`` is the one-liner for a hypothesis test body.
"""

from __future__ import annotations

import collections
import math
import random
import weakref
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Callable, Mapping, Optional, Sequence

import mpmath
import sympy as sp

from numerics.divergences import SPDMatrix
from numerics.precision import identity_tolerance, workdps
from proofs_check.entry import Check, Context, Entry, Mutant, Outcome, Ref, Status

__all__ = ["Bound", "BoxCertificate", "Evaluation", "Rate", "Reduced", "Reduction", "Teeth", "fit_order",
           "show_params"]

Params = Mapping[str, Any]
RELATIONS = ("<=", ">=")


# ----------------------------------------------------------------------------- pieces

@dataclass(frozen=True)
class Evaluation:
    """lhs and rhs at one point: ``margin`` = rhs - lhs (for <=), ``relative`` = margin /
    max(|lhs|, |rhs|), ``ratio`` = lhs/rhs (for <=; rhs/lhs for >=), 1 at equality."""

    lhs: Any
    rhs: Any
    margin: Any
    relative: Any
    ratio: Any


@dataclass(frozen=True)
class Rate:
    """A declared order: ``quantity`` ~ C * ``parameter`` ** ``order`` along ``family(ctx)``
    (points in which only ``parameter`` varies).  ``quantity`` is "lhs", "rhs" or a function
    ``(params, dps) -> number``.  ``kind="exponential"``: log(quantity) ~ order * parameter.
    ``report(rows, dps) -> (text, dict)`` may add a sentence and JSON data (e.g. a calibration)."""

    parameter: str
    order: Any
    family: Callable[[Context], Sequence[Params]]
    quantity: Any = "lhs"
    kind: str = "power"
    tolerance: float = 0.1
    description: str = ""
    report: Optional[Callable[[list, int], tuple]] = None


@dataclass(frozen=True)
class Reduced:
    """One scalar inequality ``expr >= 0`` under ``conditions`` (sympy relations).

    ``lemmas`` are ``(lemma, argument)`` pairs: a proved lemma object (``.relation``,
    ``.prove()``, ``.instance(argument)``, e.g. :class:`identities.langevin.MonotoneLemma`)
    instantiated at ``argument``.  ``search(rng) -> {symbol: Fraction}`` proposes domain points
    used to confirm a counterexample when z3 can only say "not provable from the lemmas".
    """

    name: str
    expr: Any
    conditions: tuple = ()
    lemmas: tuple = ()
    search: Optional[Callable[[random.Random], Mapping]] = None


@dataclass(frozen=True)
class Reduction:
    """Scalar statements that together imply the bound; ``derivation`` says why (shown in reports)."""

    statements: tuple
    derivation: str

    @classmethod
    def from_table(cls, table: Mapping[str, tuple], derivation: str,
                   search: Optional[Mapping[str, Callable]] = None) -> "Reduction":
        """From ``{name: (expr, conditions, lemmas)}`` (the format of identities.langevin)."""
        search = search or {}
        return cls(tuple(Reduced(n, e, tuple(c), tuple(l), search.get(n)) for n, (e, c, l) in table.items()),
                   derivation)


@dataclass(frozen=True)
class Teeth:
    """Dropping ``assumption`` breaks the bound: ``sampler(rng)`` draws points violating exactly
    that assumption (and satisfying the others); ``edges`` are fixed such points."""

    assumption: str
    sampler: Optional[Callable[[random.Random], Params]] = None
    edges: tuple = ()
    draws: int = 6


@dataclass(frozen=True)
class BoxCertificate:
    """rhs - lhs > 0 on every point of ``boxes`` ({name: (lo, hi)} with exact ends), certified by
    branch and bound in Arb: ``margin(balls)`` encloses rhs - lhs when each parameter is a python-flint
    ``arb`` ball (it must also accept one parameter as an ``arb_series`` of length 2: the route uses the
    mean-value form m(centre) + sum_i dm/dx_i(box) (x_i - centre_i)).  A degenerate interval (lo == hi)
    is passed as the exact Fraction lo.  A box whose centre has a certainly negative margin is a
    counterexample (FAIL)."""

    boxes: tuple
    margin: Callable[[Mapping[str, Any]], Any]
    description: str = ""
    max_boxes: int = 20000


def fit_order(xs: Sequence[Any], ys: Sequence[Any], kind: str = "power") -> mpmath.mpf:
    """Least-squares slope of log y against log x (``power``) or against x (``exponential``)."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("fit_order needs at least two (x, y) pairs of equal count")
    if any(not y > 0 for y in ys):
        raise ValueError("fit_order needs positive quantities")
    X = [mpmath.log(mpmath.mpmathify(x)) if kind == "power" else mpmath.mpmathify(x) for x in xs]
    Y = [mpmath.log(mpmath.mpmathify(y)) for y in ys]
    mx, my = mpmath.fsum(X) / len(X), mpmath.fsum(Y) / len(Y)
    den = mpmath.fsum((x - mx) ** 2 for x in X)
    if den == 0:
        raise ValueError("fit_order needs at least two distinct parameter values")
    return mpmath.fsum((x - mx) * (y - my) for x, y in zip(X, Y)) / den


def _show_value(v: Any) -> Any:
    if isinstance(v, SPDMatrix):
        return {"eigenvalues": [str(x) for x in v.eigenvalues],
                "rotation": [[str(x) for x in row] for row in v.rotation]}
    if isinstance(v, (list, tuple)):
        return [_show_value(x) for x in v]
    if isinstance(v, mpmath.mpf):
        return mpmath.nstr(v, 20)
    if isinstance(v, (int, str)) and not isinstance(v, bool):
        return v
    return str(v)


def show_params(params: Params) -> dict:
    """A JSON-ready rendering of a parameter point (exact values as strings)."""
    return {str(k): _show_value(v) for k, v in params.items()}


def _brief(params: Params, limit: int = 160) -> str:
    parts = []
    for k, v in params.items():
        if isinstance(v, SPDMatrix):
            text = "eig(" + ", ".join(mpmath.nstr(mpmath.mpf(x.numerator) / x.denominator, 3)
                                      for x in v.eigenvalues) + ")"
        elif isinstance(v, Fraction):
            text = mpmath.nstr(mpmath.mpf(v.numerator) / v.denominator, 4)
        elif isinstance(v, (tuple, list)):
            text = "[" + ",".join(mpmath.nstr(mpmath.mpf(x.numerator) / x.denominator, 3)
                                  if isinstance(x, Fraction) else "." for x in v[:6]) + "]"
        else:
            text = str(v)
        parts.append(f"{k}={text}")
    out = " ".join(parts)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _freeze(v: Any) -> Any:
    if isinstance(v, Mapping):
        return tuple(sorted((str(k), _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v


_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# ----------------------------------------------------------------------------- the bound

@dataclass(frozen=True, eq=False)
class Bound:
    """``lhs(params, dps) <relation> rhs(params, dps)`` for every params satisfying ``assumptions``.

    ``sampler(rng)`` draws a point inside the assumptions (``draws`` of them, times the context's
    effort); ``edges`` and ``equality`` are fixed points always evaluated (``equality`` are the
    declared equality cases).  ``rate``, ``reduction`` and ``teeth`` add routes.  ``show`` turns a
    point into JSON (default :func:`show_params`).
    """

    id: str
    lhs: Callable[[Params, int], Any]
    rhs: Callable[[Params, int], Any]
    relation: str = "<="
    assumptions: tuple = ()
    sampler: Optional[Callable[[random.Random], Params]] = None
    draws: int = 12
    edges: tuple = ()
    equality: tuple = ()
    rate: Optional[Rate] = None
    reduction: Optional[Reduction] = None
    teeth: tuple = ()
    show: Callable[[Params], dict] = show_params
    certificate: Optional[BoxCertificate] = None
    budget: float = 30.0

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"relation={self.relation!r} is invalid: expected one of {RELATIONS}")
        names = [a.name for a in self.assumptions]
        if len(set(names)) != len(names):
            raise ValueError(f"assumption names must be unique: {names}")
        for t in self.teeth:
            if t.assumption not in names:
                raise ValueError(f"teeth drop {t.assumption!r}, which is not an assumption ({names})")

    # ------------------------------------------------------------------ evaluation
    def violated(self, params: Params) -> list[str]:
        """Names of the assumptions that ``params`` breaks."""
        return [a.name for a in self.assumptions if not a.holds(params)]

    def evaluate(self, params: Params, dps: int) -> Evaluation:
        """lhs, rhs, margin, relative margin and ratio at ``dps`` digits (cached per point)."""
        store = _CACHE.setdefault(self, {})
        key = (_freeze(params), dps)
        if key in store:
            return store[key]
        lhs, rhs = self.lhs(params, dps), self.rhs(params, dps)
        with workdps(dps):
            lhs, rhs = mpmath.mpmathify(lhs), mpmath.mpmathify(rhs)
            big, small = (rhs, lhs) if self.relation == "<=" else (lhs, rhs)
            if not all(isinstance(x, mpmath.mpf) and not mpmath.isnan(x) for x in (big, small)):
                raise ValueError(f"{self.id}: lhs or rhs is not a real number at {_brief(params)}: {lhs}, {rhs}")
            if big == small:  # includes +inf <= +inf (e.g. KL = log(1 + chi^2) = inf)
                margin, relative, ratio = mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(1)
            else:
                margin = big - small
                scale = max(abs(lhs), abs(rhs))
                relative = margin / scale if mpmath.isfinite(scale) else mpmath.sign(margin)
                if big == 0:
                    ratio = mpmath.inf if small > 0 else mpmath.mpf(0)
                else:
                    ratio = small / big if mpmath.isfinite(big) else mpmath.mpf(0)
        ev = Evaluation(lhs, rhs, margin, relative, ratio)
        if len(store) < 4096:
            store[key] = ev
        return ev

    def assert_holds(self, params: Params, dps: int = 50) -> Evaluation:
        """Assert the assumptions hold and the bound holds at ``params`` (for hypothesis bodies)."""
        broken = self.violated(params)
        assert not broken, f"{self.id}: the point breaks the assumptions {broken}: {_brief(params)}"
        ev = self.evaluate(params, dps)
        tol = identity_tolerance(dps)
        assert ev.relative >= -tol, (
            f"{self.id} fails: lhs={mpmath.nstr(ev.lhs, 15)} {self.relation} rhs={mpmath.nstr(ev.rhs, 15)} "
            f"is false (relative margin {mpmath.nstr(ev.relative, 3)}) at {self.show(params)}")
        return ev

    def points(self, ctx: Context) -> list:
        """The fixed points (edges, equality cases) and the drawn ones for this context."""
        n = 0 if self.sampler is None else max(1, math.ceil(self.draws * ctx.effort))
        rng = random.Random(f"{self.id}:{ctx.seed}")
        return list(self.edges) + list(self.equality) + [self.sampler(rng) for _ in range(n)]

    # ------------------------------------------------------------------ mutants, checks, entry
    def mutant(self, name: str, description: str, **changes: Any) -> Mutant:
        """A :class:`Mutant` whose claim is this bound with ``changes`` (e.g. ``rhs=...``)."""
        for piece in ("reduction", "certificate"):
            if getattr(self, piece) is not None and piece not in changes:
                raise ValueError(f"{self.id}: a mutant of a bound with a {piece} must give its own {piece} "
                                 "(else the proof route proves the original and accepts it)")
        return Mutant(name, description, replace(self, **changes))

    def checks(self) -> tuple:
        out = [Check("property", _property_route, "margin rhs - lhs over drawn points inside the assumptions",
                     self.budget),
               Check("sharpness", _sharpness_route, "lhs/rhs at the equality case and the largest over the draws",
                     self.budget, on_mutants=False)]
        if self.rate is not None:
            out.append(Check("rate", _rate_route, self.rate.description or
                             f"fitted order in {self.rate.parameter} vs the declared {self.rate.order}",
                             self.budget, on_mutants=False))
        if self.teeth:
            out.append(Check("teeth", _teeth_route, "dropping one assumption yields a counterexample: "
                             + ", ".join(t.assumption for t in self.teeth), self.budget, on_mutants=False))
        if self.reduction is not None:
            out.append(Check("proof", _proof_route, "z3 on the scalar reduction over the whole domain",
                             self.budget))
        if self.certificate is not None:
            out.append(Check("proof", _certify_route, self.certificate.description or
                             "Arb branch and bound: rhs - lhs > 0 on the stated boxes", self.budget))
        return tuple(out)

    def check(self, ctx: Optional[Context] = None) -> dict:
        """Run every route on this bound (without the runner): {route: Outcome}."""
        ctx = ctx or Context()
        return {c.route: c.run(self, ctx) for c in self.checks()}

    def entry(self, *, title: str, statement: str, source: Ref, kind: str = "estimate",
              mutants: Sequence[Mutant] = (), notes: str = "", extra_checks: Sequence[Check] = ()) -> Entry:
        return Entry(id=self.id, title=title, kind=kind, statement=statement, source=source, claim=self,
                     checks=self.checks() + tuple(extra_checks), mutants=tuple(mutants),
                     assumptions=tuple(self.assumptions), notes=notes)


# ----------------------------------------------------------------------------- routes

def _cx(bound: Bound, p: Params, ev: Evaluation) -> dict:
    return {"point": bound.show(p), "lhs": mpmath.nstr(ev.lhs, 25), "rhs": mpmath.nstr(ev.rhs, 25),
            "relation": bound.relation, "relative_margin": mpmath.nstr(ev.relative, 6)}


def _property_route(bound: Bound, ctx: Context) -> Outcome:
    tol = identity_tolerance(ctx.dps)
    pts = bound.points(ctx)
    if not pts:
        return Outcome(Status.SKIP, "no sampler and no fixed points")
    for p in pts:
        broken = bound.violated(p)
        if broken:
            return Outcome(Status.FAIL, f"a drawn point breaks the assumptions {broken} (a sampler defect)",
                           counterexample={"point": bound.show(p), "violated": broken})
    worst_p, worst = None, None
    for p in pts:
        ev = bound.evaluate(p, ctx.dps)
        if worst is None or ev.relative < worst.relative:
            worst_p, worst = p, ev
    metric = (f"min relative margin {mpmath.nstr(worst.relative, 3)} over {len(pts)} points "
              f"(tol {mpmath.nstr(tol, 1)}) at {_brief(worst_p)}")
    if worst.relative < -tol:
        return Outcome(Status.FAIL, metric, value=float(worst.relative), counterexample=_cx(bound, worst_p, worst))
    return Outcome(Status.CONFIRMED, metric, value=float(worst.relative))


def _sharpness_route(bound: Bound, ctx: Context) -> Outcome:
    tol = identity_tolerance(ctx.dps)
    eq_gaps = []
    for p in bound.equality:
        ev = bound.evaluate(p, ctx.dps)
        with workdps(ctx.dps):
            gap = abs(ev.ratio - 1)
        eq_gaps.append(gap)
        if gap > tol:
            return Outcome(Status.FAIL, f"declared equality case not attained: lhs/rhs = {mpmath.nstr(ev.ratio, 15)}",
                           counterexample=_cx(bound, p, ev))
    best_p, best, zeros = None, None, 0
    pts = [p for p in bound.points(ctx) if not bound.violated(p)]  # the property route reports the others
    for p in pts:
        ev = bound.evaluate(p, ctx.dps)
        if p in bound.equality:
            continue
        if ev.lhs == 0 and ev.rhs == 0:  # 0 <= 0 says nothing about tightness
            zeros += 1
            continue
        if best is None or ev.ratio > best.ratio:
            best_p, best = p, ev
    parts = []
    if eq_gaps:
        parts.append(f"lhs/rhs = 1 at {len(eq_gaps)} equality case(s) (|gap| <= {mpmath.nstr(max(eq_gaps), 2)})")
    if best is not None:
        parts.append(f"largest lhs/rhs elsewhere {mpmath.nstr(best.ratio, 6)} at {_brief(best_p)}")
        if best.ratio > 1 + tol:
            return Outcome(Status.FAIL, "; ".join(parts), value=float(best.ratio), counterexample=_cx(bound, best_p, best))
    if zeros:
        parts.append(f"lhs = rhs = 0 at {zeros} of {len(pts)} points" + (" (an exact identity there)"
                                                                           if zeros == len(pts) else ""))
    value = 1.0 if eq_gaps or zeros == len(pts) else (float(best.ratio) if best is not None else None)
    return Outcome(Status.CONFIRMED, "; ".join(parts) or "nothing to compare", value=value)


def _rate_route(bound: Bound, ctx: Context) -> Outcome:
    rate = bound.rate
    pts = list(rate.family(ctx))
    rows = []
    with workdps(ctx.dps):
        for p in pts:
            if rate.quantity in ("lhs", "rhs"):
                ev = bound.evaluate(p, ctx.dps)
                q = ev.lhs if rate.quantity == "lhs" else ev.rhs
                row = {"param": p[rate.parameter], "quantity": q, "lhs": ev.lhs, "rhs": ev.rhs, "ratio": ev.ratio}
            else:
                row = {"param": p[rate.parameter], "quantity": mpmath.mpmathify(rate.quantity(p, ctx.dps))}
            rows.append(row)
        slope = fit_order([r["param"] if not isinstance(r["param"], Fraction) else
                           mpmath.mpf(r["param"].numerator) / r["param"].denominator for r in rows],
                          [r["quantity"] for r in rows], rate.kind)
    order = float(rate.order)
    what = "log-log slope" if rate.kind == "power" else "slope of log"
    metric = (f"{what} of {rate.quantity if isinstance(rate.quantity, str) else 'quantity'} in "
              f"{rate.parameter}: {mpmath.nstr(slope, 4)} vs declared {rate.order} (tol {rate.tolerance})")
    extra: dict = {"parameter": rate.parameter, "declared_order": str(rate.order),
                   "fitted_order": float(slope),
                   "table": [{k: (str(v) if isinstance(v, Fraction) else mpmath.nstr(v, 12)) for k, v in r.items()}
                             for r in rows]}
    if rate.report is not None:
        text, more = rate.report(rows, ctx.dps)
        metric += f"; {text}"
        extra.update(more)
    status = Status.CONFIRMED if abs(float(slope) - order) <= rate.tolerance else Status.FAIL
    return Outcome(status, metric, value=float(slope), extra=extra,
                   counterexample=None if status is Status.CONFIRMED else
                   {"fitted_order": float(slope), "declared_order": str(rate.order)})


def _teeth_route(bound: Bound, ctx: Context) -> Outcome:
    tol = identity_tolerance(ctx.dps)
    found, extra = [], {}
    for t in bound.teeth:
        rng = random.Random(f"{bound.id}:teeth:{t.assumption}:{ctx.seed}")
        n = 0 if t.sampler is None else max(1, math.ceil(t.draws * ctx.effort))
        pts = list(t.edges) + [t.sampler(rng) for _ in range(n)]
        worst_p, worst = None, None
        for p in pts:
            broken = bound.violated(p)
            if broken != [t.assumption]:
                return Outcome(Status.FAIL, f"teeth sampler for {t.assumption!r} drew a point breaking {broken}",
                               counterexample={"point": bound.show(p), "violated": broken})
            ev = bound.evaluate(p, ctx.dps)
            if worst is None or ev.relative < worst.relative:
                worst_p, worst = p, ev
        if worst is None or worst.relative >= -tol:
            return Outcome(Status.FAIL, f"without {t.assumption!r} no counterexample in {len(pts)} points: "
                           "the assumption's teeth are not shown")
        found.append(f"without {t.assumption}: lhs/rhs={mpmath.nstr(worst.ratio, 4)} at {_brief(worst_p, 100)}")
        extra[t.assumption] = _cx(bound, worst_p, worst)
    return Outcome(Status.CONFIRMED, "; ".join(found), extra={"counterexamples": extra})


_LEMMA_CACHE: dict = {}


def _prove_lemma(lemma, timeout: float):
    key = (lemma.name, str(lemma.relation))
    if key not in _LEMMA_CACHE:
        _LEMMA_CACHE[key] = lemma.prove(timeout=timeout)
    return _LEMMA_CACHE[key]


def _mention(expr: sp.Expr, conditions: Sequence) -> sp.Expr:
    """``expr`` plus 0*s for symbols that only the conditions mention (prove_nonnegative requires
    the conditions' symbols to appear in the expression)."""
    missing = set().union(*(c.free_symbols for c in conditions)) - expr.free_symbols if conditions else set()
    if not missing:
        return expr
    zeros = [sp.Mul(sp.Integer(0), s, evaluate=False) for s in sorted(missing, key=sp.default_sort_key)]
    return sp.Add(expr, *zeros, evaluate=False)


def _default_search(rng: random.Random, symbols: Sequence[sp.Symbol]) -> dict:
    out = {}
    for s in symbols:
        mag = sp.Rational(2) ** rng.randint(-10, 6) * sp.Rational(rng.randint(1, 64), 32)
        out[s] = mag if rng.random() < 0.75 else -mag
    return out


def _search_counterexample(st: Reduced, seed: int, tries: int = 3000) -> Optional[dict]:
    rng = random.Random(f"{st.name}:{seed}")
    symbols = sorted(st.expr.free_symbols.union(*(c.free_symbols for c in st.conditions)), key=sp.default_sort_key)
    fn = sp.lambdify(symbols, st.expr, modules="mpmath")
    for _ in range(tries):
        point = st.search(rng) if st.search else _default_search(rng, symbols)
        point = {s: sp.Rational(v.numerator, v.denominator) if isinstance(v, Fraction) else sp.Rational(v)
                 for s, v in point.items()}
        if any(c.subs(point) is not sp.true for c in st.conditions):
            continue
        args = [mpmath.mpf(point[s].p) / point[s].q for s in symbols]
        values = []
        for d in (40, 60):
            with workdps(d):
                try:
                    values.append(mpmath.mpmathify(fn(*args)))
                except (ValueError, ZeroDivisionError):
                    values.append(mpmath.mpf(0))
        # below -1e-25 at 40 and 60 digits: far beyond rounding at either precision, so a true violation
        if all(mpmath.isfinite(v) and v < -mpmath.mpf(10) ** -25 for v in values):
            return {"point": {str(s): str(point[s]) for s in symbols}, "value": mpmath.nstr(values[0], 12),
                    "statement": st.name}
    return None


def _proof_route(bound: Bound, ctx: Context) -> Outcome:
    from identities import prove_nonnegative

    red = bound.reduction
    share = max(bound.budget * 0.8 / max(len(red.statements), 1), 1.0)
    lemma_names, proved, pending = [], [], []
    for st in red.statements:
        for lemma, _ in st.lemmas:
            res = _prove_lemma(lemma, min(share, 10.0))
            if not res.proved:
                return Outcome(Status.INCONCLUSIVE, f"lemma {lemma.name} not proved: {res}")
            if lemma.name not in lemma_names:
                lemma_names.append(lemma.name)
        lemmas = [lemma.instance(arg) for lemma, arg in st.lemmas]
        res = prove_nonnegative(_mention(st.expr, st.conditions), None, conditions=st.conditions,
                                lemmas=lemmas, timeout=min(share, 20.0))
        if res.status == "FAIL":
            return Outcome(Status.FAIL, f"z3: {st.name} is false (confirmed model)", detail=red.derivation,
                           counterexample={"statement": st.name, **(res.counterexample or {})})
        if res.status != "PROVED":
            cx = _search_counterexample(st, ctx.seed)
            if cx is not None:
                return Outcome(Status.FAIL, f"{st.name} is false at a searched point (z3: {res.detail[:80]})",
                               detail=red.derivation, counterexample=cx)
            pending.append(f"{st.name}: {res.detail}")
        else:
            proved.append(st.name)
    lem = f" with proved lemma(s) {', '.join(lemma_names)}" if lemma_names else ""
    if pending:
        return Outcome(Status.INCONCLUSIVE, f"{len(proved)} of {len(red.statements)} reduced inequalities proved",
                       detail="; ".join(pending))
    return Outcome(Status.PROVED, f"z3 proved {len(proved)} reduced inequalit{'y' if len(proved) == 1 else 'ies'}"
                   f" ({', '.join(proved)}){lem} over the whole domain", detail=red.derivation)


def _certify_route(bound: Bound, ctx: Context) -> Outcome:
    """Bisect each box until the mean-value enclosure of rhs - lhs is > 0 (30 digits suffice: the
    margins are O(1) relative); a certainly negative centre is a counterexample."""
    from flint import arb, arb_series, fmpq

    from numerics.precision import flint_workdps

    cert = bound.certificate

    def ball(lo, hi):
        return arb(fmpq(lo.numerator, lo.denominator)).union(arb(fmpq(hi.numerator, hi.denominator)))

    count = 0
    with flint_workdps(30):
        for box in cert.boxes:
            box0 = {k: (Fraction(lo), Fraction(hi)) for k, (lo, hi) in box.items()}
            stack = collections.deque([box0])  # breadth first: a violation anywhere is met early
            while stack:
                cur = stack.popleft()
                count += 1
                if count > cert.max_boxes:
                    return Outcome(Status.INCONCLUSIVE, f"more than {cert.max_boxes} boxes needed")
                centre = {k: (lo + hi) / 2 for k, (lo, hi) in cur.items()}
                fixed = {k: lo for k, (lo, hi) in cur.items() if lo == hi}
                m0 = cert.margin({**{k: arb(fmpq(v.numerator, v.denominator)) for k, v in centre.items()}, **fixed})
                if m0 < 0:
                    return Outcome(Status.FAIL, f"rhs - lhs < 0 at a box centre (certified {mpmath.nstr(mpmath.mpf(m0.mid().str(15, radius=False)), 6)})",
                                   counterexample={"point": {k: str(v) for k, v in centre.items()},
                                                   "margin": m0.str(10)})
                balls = {**{k: ball(lo, hi) for k, (lo, hi) in cur.items()}, **fixed}
                enclosure = m0
                for k, (lo, hi) in cur.items():
                    if lo == hi:
                        continue
                    series = cert.margin({**balls, k: arb_series([balls[k], 1])})
                    slope = series.coeffs()[1] if len(series.coeffs()) > 1 else arb(0)
                    enclosure += slope * (balls[k] - arb(fmpq(centre[k].numerator, centre[k].denominator)))
                if enclosure > 0:
                    continue
                k = max((k for k in cur if cur[k][1] > cur[k][0]),
                        key=lambda k: (cur[k][1] - cur[k][0]) / (box0[k][1] - box0[k][0]))
                lo, hi = cur[k]
                mid = (lo + hi) / 2
                stack += [{**cur, k: (lo, mid)}, {**cur, k: (mid, hi)}]
    shown = "; ".join(", ".join(f"{k} = {lo}" if lo == hi else f"{k} in [{lo}, {hi}]" for k, (lo, hi) in b.items())
                      for b in cert.boxes)
    return Outcome(Status.CERTIFIED, f"rhs - lhs > 0 certified by Arb on {shown} ({count} boxes, mean-value form)")
