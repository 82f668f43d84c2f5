"""identities.proof: the public proof engine (identities by canonical forms).

Public names:

* :func:`prove_equal` ``(lhs, rhs, assumptions=None, *, conditions=(), budget=10.0, samples=24,
  dps=40, seed=0) -> ProofResult``: prove ``lhs == rhs`` by symbolic canonical forms, search
  for a verified counterexample, ``simplify`` last; all under one hard time budget.
* :func:`prove_zero` ``(expr, assumptions=None, **kw)``: ``prove_equal(expr, 0, ...)``.
* :func:`identities.inequality.prove_nonnegative` (z3, in its own module) shares the result
  type, assumption names and conventions defined here.
* :class:`ProofResult`, the statuses :data:`PROVED`, :data:`FAIL`, :data:`INCONCLUSIVE`, and
  :data:`ASSUMPTION_NAMES`.

Statuses are honest (DESIGN.md): PROVED only when a canonical form reduced lhs - rhs to
exactly 0 (or z3 answered unsat); FAIL only with a counterexample verified at two precisions
(or exactly); INCONCLUSIVE otherwise, with the reason in ``detail``.  On valid input nothing
raises and nothing hangs (sympy steps run under :func:`numerics.budget.run_with_budget`, which
interrupts only on POSIX in the main thread; z3 gets its own timeout).  Strings are never
parsed: build expressions from sympy objects.
"""

from __future__ import annotations

import copy
import math
import numbers
import random
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterable, Mapping, Optional

import mpmath
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.logic.boolalg import Boolean
from sympy.matrices import MatrixBase

from numerics.budget import run_with_budget
from numerics.errors import InvalidParameter
from numerics.precision import check_dps, workdps

__all__ = ["PROVED", "FAIL", "INCONCLUSIVE", "ASSUMPTION_NAMES", "ProofResult",
           "prove_equal", "prove_zero"]

PROVED, FAIL, INCONCLUSIVE = "PROVED", "FAIL", "INCONCLUSIVE"

#: Assumption names accepted in ``assumptions``; "unit_interval" means 0 < s < 1.
ASSUMPTION_NAMES = ("real", "positive", "nonnegative", "negative", "nonpositive", "nonzero",
                    "integer", "unit_interval")
_SYMPY_FLAGS = {name: {name: True} for name in ASSUMPTION_NAMES[:-1]}
_SYMPY_FLAGS["unit_interval"] = {"positive": True}  # s < 1 becomes a sampling condition
#: The same names as sympy relations (z3 constraints, exact checks of a z3 model).
_AS_RELATION = {"positive": lambda s: s > 0, "nonnegative": lambda s: s >= 0,
                "negative": lambda s: s < 0, "nonpositive": lambda s: s <= 0,
                "nonzero": lambda s: sp.Ne(s, 0), "unit_interval": lambda s: sp.And(s > 0, s < 1),
                "integer": lambda s: sp.Eq(s, sp.floor(s))}

#: Share of the budget the canonical forms leave to the counterexample search and simplify.
_RESERVE = 0.3
#: Share of the budget the counterexample search leaves to simplify.
_SIMPLIFY_RESERVE = 0.1
#: A step with less time than this is not started (sympy does nothing useful in 10 ms).
_MIN_STEP = 0.01
#: Residuals are truncated to this many characters (a summary, not a transcript) ...
_RESIDUAL_CHARS = 200
#: ... and printing one may take at most this long (sympy prints 10k-term sums for seconds).
_PRINT_SECONDS = 0.2


@dataclass(frozen=True)
class ProofResult:
    """Outcome of a proof attempt.

    ``methods_tried``: ``(name, outcome, seconds)`` with outcome ``'zero'``, ``'nonzero'``,
    ``'budget'`` or ``'error: ...'``; the counterexample search reports ``'counterexample'`` or
    ``'none found'``.  ``counterexample`` (FAIL only), all strings: ``point`` (symbol name ->
    exact value such as ``'3/7'``), ``lhs``/``rhs`` (numeric values; ``value`` for
    inequalities), ``functions`` (undefined function -> the polynomial put in its place) and,
    for matrices, ``entry``.  ``residual``: the smallest form of lhs - rhs reached, when not
    proved.  ``detail``: how the verdict was reached, or why it is INCONCLUSIVE.
    """

    status: str
    method: Optional[str]
    methods_tried: tuple
    counterexample: Optional[dict]
    residual: Optional[str]
    seconds: float
    budget: float
    detail: str = ""

    @property
    def proved(self) -> bool:
        """True exactly when the status is PROVED."""
        return self.status == PROVED

    def __str__(self) -> str:
        head = self.status + (f" by {self.method}" if self.method else "")
        if self.counterexample:
            head += " at " + (", ".join(f"{k}={v}" for k, v in self.counterexample["point"].items())
                              or "the given constants")
        elif self.detail and self.status != PROVED:
            head += f": {self.detail}"
        return f"{head} ({self.seconds:.3f} s of {self.budget:g} s)"

    def to_dict(self) -> dict:
        """A JSON-ready dict (the counterexample holds strings only, by construction)."""
        return {"status": self.status, "method": self.method,
                "methods_tried": [[n, o, float(s)] for n, o, s in self.methods_tried],
                "counterexample": copy.deepcopy(self.counterexample), "residual": self.residual,
                "seconds": float(self.seconds), "budget": float(self.budget),
                "detail": self.detail}


# ----------------------------------------------------------------------------- input checks

_OPERANDS = "a sympy expression, an int, a fractions.Fraction or a sympy Matrix"


def _as_operand(value: object, name: str, matrix_ok: bool = True):
    """``value`` as a sympy Expr or ImmutableMatrix; anything textual or inexact is refused."""
    valid = _OPERANDS if matrix_ok else "a scalar sympy expression, an int or a Fraction"
    if isinstance(value, (bool, str, bytes, float, complex)):
        hint = {float: "a float destroys exact zero tests; use sympy.Rational",
                str: "strings are never parsed; build the expression from sympy objects"}
        raise InvalidParameter(name, value, valid, hint.get(type(value), ""))
    if isinstance(value, numbers.Integral):
        out = sp.Integer(int(value))
    elif isinstance(value, Fraction):
        out = sp.Rational(value.numerator, value.denominator)
    elif isinstance(value, MatrixBase) and matrix_ok:
        out = sp.ImmutableMatrix(value)
    elif isinstance(value, sp.Expr) and not isinstance(value, MatrixBase):
        out = value
    else:
        raise InvalidParameter(name, value, valid)
    _refuse_floats(out, name)
    return out


def _refuse_floats(expr: sp.Basic, name: str) -> None:
    if expr.atoms(sp.Float):
        raise InvalidParameter(name, expr, "an expression with exact numbers only",
                               "a Float inside it destroys exact zero tests; use sympy.Rational")


def _parse_assumptions(assumptions: object, symbols: set) -> dict:
    """Map each assumed free symbol (given as a Symbol or its name) to a tuple of names."""
    valid = f"names among {', '.join(ASSUMPTION_NAMES)}"
    if assumptions is None:
        return {}
    if not isinstance(assumptions, Mapping):
        raise InvalidParameter("assumptions", assumptions, f"a mapping from symbols to {valid}")
    by_name: dict = {}
    for s in symbols:
        by_name.setdefault(s.name, []).append(s)
    out: dict = {}
    for key, spec in assumptions.items():
        if isinstance(key, str) and len(by_name.get(key, ())) == 1:
            key = by_name[key][0]
        if not (isinstance(key, sp.Symbol) and key in symbols):
            shown = ", ".join(sorted(by_name)) or "none"
            raise InvalidParameter("assumptions", key,
                                   f"a free symbol of the expressions (here: {shown})")
        names = (spec,) if isinstance(spec, str) else spec
        try:
            names = tuple(names)
        except TypeError:
            raise InvalidParameter("assumptions", spec, valid) from None
        if not names or any(not isinstance(n, str) or n not in ASSUMPTION_NAMES for n in names):
            raise InvalidParameter("assumptions", spec, valid)
        out[key] = tuple(dict.fromkeys(out.get(key, ()) + names))
    return out


def _parse_relations(value: object, name: str, symbols: Optional[set]) -> tuple:
    """Validate sympy Relationals (or And/Or/Not of them); with ``symbols``, only among those."""
    valid = "a sympy Relational (e.g. s < 1 - a) or an iterable of them"
    try:
        items = (value,) if isinstance(value, Boolean) else tuple(value)
    except TypeError:
        raise InvalidParameter(name, value, valid) from None
    for item in items:
        if not isinstance(item, Boolean) or isinstance(item, sp.Symbol):
            raise InvalidParameter(name, item, valid)
        _refuse_floats(item, name)
        if symbols is not None and not item.free_symbols <= symbols:
            raise InvalidParameter(name, item, "relations among the symbols of the expressions")
    return items


def _fresh(sym: sp.Symbol, names: Iterable[str]) -> sp.Symbol:
    """A Dummy with the symbol's own sympy assumptions plus the declared ones."""
    flags = {k: v for k, v in sym.assumptions0.items() if v is not None}
    for n in names:
        flags.update(_SYMPY_FLAGS[n])
    try:
        return sp.Dummy(sym.name, **flags)
    except Exception:  # sympy's InconsistentAssumptions
        raise InvalidParameter("assumptions", {sym.name: tuple(names)},
                               "assumptions consistent with the symbol's own sympy assumptions",
                               f"{sym.name} already has {sym.assumptions0}") from None


def _check_seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value > 0):
        raise InvalidParameter(name, value, "a positive, finite number of seconds")
    return float(value)


def _check_int(value: object, name: str, low: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (
            low is not None and value < low):
        raise InvalidParameter(name, value, "an integer" + (f" >= {low}" if low is not None else ""))
    return int(value)


# ----------------------------------------------------------------------------- canonical forms

def _cancel(e):
    return sp.cancel(sp.together(e))


def _normalise_exp(e):
    """Combine exponentials and bring every exponent to its cancelled canonical form."""
    e = sp.powsimp(e, combine="exp")
    return e.replace(lambda t: isinstance(t, sp.exp),
                     lambda t: sp.exp(_cancel(sp.expand(t.args[0]))))


def _log_exp(e, lhs, rhs):
    """Log and power rules valid under the declared signs (never ``force=True``).

    ``expand_log``/``powdenest`` consult the symbols' assumptions themselves.  For products
    (Gaussian densities) the ratio is also normalised: lhs/rhs == 1 as meromorphic functions
    proves lhs == rhs wherever both are defined, the sense in which ``cancel`` proves rational
    identities.
    """
    f = sp.powdenest(sp.expand_log(sp.expand(e), deep=True, factor=True))
    f = _cancel(sp.expand(_normalise_exp(f)))
    if f != 0 and lhs != 0 and rhs != 0:
        ratio = _cancel(_normalise_exp(sp.powdenest(sp.powsimp(lhs / rhs))))
        if _cancel(ratio - 1) == 0:
            return sp.Integer(0)
    return f


def _radsimp(e):
    e = sp.radsimp(_cancel(e))
    return e if e == 0 else sp.ratsimp(e)


#: Cheap canonical forms, cheapest first; each maps (lhs - rhs, lhs, rhs) to a form.
_CHEAP = (("structural", lambda e, l, r: e),
          ("cancel", lambda e, l, r: _cancel(e)),
          ("expand", lambda e, l, r: _cancel(sp.expand(e))),
          ("log_exp_rules", _log_exp),
          ("radsimp_ratsimp", lambda e, l, r: _radsimp(e)))


def _preview(e: sp.Expr) -> str:
    """str(e), shortened to its first terms when e is a long sum."""
    if e.is_Add and len(e.args) > 12:
        return " + ".join(str(a) for a in e.args[:6]) + f" + ... ({len(e.args)} terms)"
    return str(e)


def _short(text: str) -> str:
    return text if len(text) <= _RESIDUAL_CHARS else text[: _RESIDUAL_CHARS - 3] + "..."


def _over_q(e: sp.Basic) -> bool:
    """True for a rational function with rational coefficients (where cancel decides zero)."""
    return all(n.is_Add or n.is_Mul or n.is_Symbol or n.is_Rational
               or (n.is_Pow and n.exp.is_Integer) for n in sp.preorder_traversal(e))


def _size(e: sp.Basic) -> int:
    return sum(1 for _ in sp.preorder_traversal(e))


# ----------------------------------------------------------------------------- the engine

class _Engine:
    """One run of :func:`prove_equal` over the entries (one, or a matrix's) of lhs - rhs."""

    def __init__(self, pairs, conditions, unit, back, budget, samples, dps, seed, start):
        self.pairs = pairs            # {index: (lhs, rhs)} in the fresh symbols
        self.conditions = conditions  # sampling filters, in the fresh symbols
        self.unit = unit              # fresh symbols restricted to (0, 1)
        self.back = back              # fresh symbol -> the user's symbol
        self.budget, self.samples, self.dps, self.seed = budget, samples, dps, seed
        self.start = start
        self.tried: list = []
        self.diff: dict = {}          # index -> lhs - rhs, formed inside the first budgeted step
        self.best: dict = {}          # index -> smallest form of lhs - rhs reached
        self.closed_by: dict = {}     # index -> name of the method that reached 0
        self.found: dict = {}         # filled by the search: "cx" and/or "note"
        self.decided = False          # True once cancel showed a nonzero rational function

    def remaining(self) -> float:
        return self.budget - (time.monotonic() - self.start)

    def open(self) -> list:
        return sorted(set(self.pairs) - set(self.closed_by), key=str)

    def step(self, name: str, work: Callable[[], str], seconds: float) -> None:
        """Run one budgeted step; record its outcome (an exception is an outcome too)."""
        if seconds < _MIN_STEP:
            self.tried.append((name, "budget", 0.0))
            return
        t0 = time.monotonic()
        try:
            out = run_with_budget(work, seconds)
            outcome = out.value if out.finished else "budget"
        except Exception as exc:
            outcome = f"error: {type(exc).__name__}: {str(exc)[:120]}"
        self.tried.append((name, outcome, time.monotonic() - t0))

    def apply(self, name: str, method: Callable) -> Callable[[], str]:
        """Work that applies a form to every open entry, closing those that reach exactly 0."""
        def work() -> str:
            rational = True
            for i in self.open():
                l, r = self.pairs[i]
                if i not in self.diff:
                    self.diff[i] = self.best[i] = l - r
                form = method(self.diff[i], l, r)
                if form == 0:
                    self.closed_by[i] = name
                elif _size(form) < _size(self.best[i]):
                    self.best[i] = form
                rational = rational and _over_q(form)
            # cancel decides rational functions: a nonzero rational form is not zero
            self.decided = self.decided or (name == "cancel" and rational)
            return "nonzero" if self.open() else "zero"
        return work

    def run(self) -> ProofResult:
        """Canonical forms, then the counterexample search, then simplify; stop at a verdict."""
        steps = [(n, self.apply(n, m), _RESERVE) for n, m in _CHEAP]
        steps.append(("counterexample_search", self.search, _SIMPLIFY_RESERVE))
        steps.append(("simplify", self.apply("simplify", lambda e, l, r: sp.simplify(e)), 0.0))
        for name, work, reserve in steps:
            if self.decided and name != "counterexample_search":
                continue  # no other form can reach 0; only a counterexample is left to find
            self.step(name, work, self.remaining() - reserve * self.budget)
            if not self.open():
                return self.result(PROVED, f"lhs - rhs reduced to exactly 0 by {self.method()}")
            if "cx" in self.found:
                return self.result(FAIL, "counterexample verified at two precisions")
        reason = ("cancel showed a nonzero rational function but no counterexample was found"
                  if self.decided else
                  "all methods tried without reaching 0 and no counterexample found")
        if "note" in self.found:
            reason += f" ({self.found['note']})"
        hit = [n for n, o, _ in self.tried if o == "budget"]
        prefix = f"budget exhausted at {hit[0]}; " if hit else ""
        return self.result(INCONCLUSIVE, prefix + reason)

    def method(self) -> str:
        return "+".join(dict.fromkeys(self.closed_by[i] for i in sorted(self.pairs, key=str)))

    def result(self, status: str, detail: str) -> ProofResult:
        residual = None
        if status != PROVED:  # printing a huge form can take seconds: bounded like the steps
            forms = [self.best[i].xreplace(self.back) for i in self.open()[:3] if i in self.best]
            shown = run_with_budget(lambda: "; ".join(_preview(f) for f in forms), _PRINT_SECONDS)
            residual = _short(shown.value if shown.finished else "(too large to print)")
        return ProofResult(status, self.method() if status == PROVED else None, tuple(self.tried),
                           self.found.get("cx"), residual, time.monotonic() - self.start,
                           self.budget, detail)

    # -------------------------------------------------------------- counterexample search

    def draw(self, rng: random.Random, symbol: sp.Symbol) -> sp.Rational:
        """An exact rational respecting the symbol's sign, integrality and unit interval."""
        if symbol in self.unit:
            m = rng.randint(2, 30)
            return sp.Rational(rng.randint(1, m - 1), m)
        if symbol.is_integer:
            v = sp.Integer(rng.randint(1, 7))
        else:  # magnitudes spread over [1/7, 7] with denominators up to 12
            m = rng.randint(1, 12)
            v = sp.Rational(rng.randint(-(-m // 7), 7 * m), m)
        if (symbol.is_nonnegative or symbol.is_nonpositive) and not symbol.is_nonzero \
                and rng.random() < 0.125:
            return sp.Integer(0)
        if symbol.is_nonpositive or (not symbol.is_nonnegative and rng.random() < 0.5):
            return -v
        return v

    def instantiate(self, rng: random.Random, funcs: list) -> tuple:
        """A random polynomial of degree 2 or 3 with small rational coefficients per function."""
        lambdas, shown = {}, {}
        for f, names in funcs:
            xs = [sp.Dummy(n) for n in names]
            monos = sorted(sp.itermonomials(xs, rng.choice((2, 3))), key=sp.default_sort_key)
            poly = sum((sp.Rational(rng.randint(-6, 6), rng.randint(1, 4)) * m
                        for m in monos if rng.random() < 0.7), sp.Integer(0))
            if not poly.free_symbols:
                poly += xs[0] ** 2 / 3 - xs[0]
            lambdas[f] = sp.Lambda(tuple(xs), poly)
            shown[str(f)] = str(poly.xreplace({x: sp.Symbol(n) for x, n in zip(xs, names)}))
        return lambdas, shown

    def search(self) -> str:
        """Look for a point where the sides differ, verified at ``dps`` and ``dps + 20`` digits."""
        rng, open_ = random.Random(self.seed), self.open()
        exprs = [e for i in open_ for e in self.pairs[i]]
        symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=sp.default_sort_key)
        funcs: dict = {}
        applied = set().union(*(e.atoms(AppliedUndef) for e in exprs))
        for a in sorted(applied, key=sp.default_sort_key):
            names = [str(self.back.get(x, x)) if x.is_Symbol else f"x{k + 1}"
                     for k, x in enumerate(a.args)]
            funcs.setdefault(a.func, names if len(set(names)) == len(names)
                             else [f"x{k + 1}" for k in range(len(a.args))])
        compiled, shown = {}, {}
        for k in range(self.samples):
            if k % 4 == 0 and (funcs or not compiled):  # fresh functions every 4 points
                lambdas, shown = self.instantiate(rng, list(funcs.items()))
                compiled = {i: [_compile(_plug(e, lambdas), symbols) for e in self.pairs[i]]
                            for i in open_}
            for _ in range(100):
                point = {s: self.draw(rng, s) for s in symbols}
                if all(_holds(c, point) for c in self.conditions):
                    break
            else:
                self.found["note"] = "the conditions rejected every sample point"
                return "none found"
            args = [point[s] for s in symbols]
            for i in open_:
                low = _gap(*compiled[i], args, self.dps)
                if low is None or _gap(*compiled[i], args, self.dps + 20) is None:
                    continue
                cx = {"point": {str(self.back.get(s, s)): str(point[s]) for s in symbols},
                      "lhs": low[0], "rhs": low[1], "functions": shown}
                if len(self.pairs) > 1:
                    cx["entry"] = str(i)
                self.found["cx"] = cx
                return "counterexample"
        self.found["note"] = f"{self.samples} sample points, none a counterexample"
        return "none found"


def _plug(expr: sp.Expr, lambdas: dict) -> sp.Expr:
    """Replace undefined functions by the given Lambdas and evaluate the derivatives."""
    if not lambdas:
        return expr
    return expr.replace(lambda t: isinstance(t, AppliedUndef) and t.func in lambdas,
                        lambda t: lambdas[t.func](*t.args)).doit()


def _compile(expr: sp.Expr, symbols: list) -> Callable:
    """An mpmath evaluator (lambdify prints the expression tree; no user text is evaluated)."""
    try:
        return sp.lambdify(symbols, expr, modules="mpmath")
    except Exception:
        return lambda *vals: expr.xreplace(dict(zip(symbols, vals))).evalf(n=mpmath.mp.dps)


def _holds(condition: Boolean, point: dict) -> bool:
    try:
        return condition.xreplace(point) is sp.true
    except Exception:
        return False


def _real_value(fn: Callable, args: list) -> Optional[mpmath.mpf]:
    """``fn`` at exact rational args at the current precision; None if undefined or not real."""
    try:
        v = mpmath.mpmathify(fn(*[mpmath.mpf(a.p) / a.q for a in args]))
    except Exception:
        return None
    if isinstance(v, mpmath.mpc):
        if v.imag != 0:
            return None
        v = v.real
    return v if mpmath.isfinite(v) else None


def _gap(lf: Callable, rf: Callable, args: list, dps: int) -> Optional[tuple]:
    """(lhs, rhs) as short strings when the sides differ at ``dps`` digits, else None."""
    with workdps(dps):
        l, r = _real_value(lf, args), _real_value(rf, args)
        if l is None or r is None:
            return None
        # 10^-(dps//2) relative: half the digits guard against cancellation inside each side;
        # a true discrepancy is of order one, and the caller repeats the test at dps + 20.
        if abs(l - r) > mpmath.mpf(10) ** (-(dps // 2)) * max(1, abs(l), abs(r)):
            return mpmath.nstr(l, 15), mpmath.nstr(r, 15)
    return None


# ----------------------------------------------------------------------------- public: equality

def prove_equal(lhs, rhs, assumptions=None, *, conditions=(), budget=10.0, samples=24, dps=40,
                seed=0) -> ProofResult:
    """Prove ``lhs == rhs`` for all values of the symbols allowed by ``assumptions``.

    ``lhs``/``rhs``: sympy expressions, ints, Fractions, or sympy Matrices of one shape (every
    entry must be proved).  ``assumptions`` maps a free symbol (or its name) to one or more of
    :data:`ASSUMPTION_NAMES`; the symbols' own sympy assumptions count as well.
    ``conditions`` (sympy Relationals such as ``s < 1 - a``) only filter the counterexample
    search; they are *not* hypotheses of the proof.  Canonical forms are tried cheapest first
    (structural, cancel, expand, log/exp rules under the declared signs, radsimp/ratsimp), then
    ``samples`` random exact points are evaluated with mpmath at ``dps`` digits (undefined
    functions replaced by random polynomials; reproducible from ``seed``), then ``simplify``;
    all within ``budget`` seconds.  When ``cancel`` leaves a nonzero rational function with
    rational coefficients (it decides those), only the counterexample search follows.
    """
    start = time.monotonic()
    left, right = _as_operand(lhs, "lhs"), _as_operand(rhs, "rhs")
    if isinstance(left, MatrixBase) or isinstance(right, MatrixBase):
        if getattr(left, "shape", None) != getattr(right, "shape", None):
            raise InvalidParameter("rhs", rhs, "a sympy Matrix of the same shape as lhs "
                                   f"({getattr(left, 'shape', 'a scalar')})")
        pairs = {(i, j): (left[i, j], right[i, j])
                 for i in range(left.shape[0]) for j in range(left.shape[1])}
    else:
        pairs = {0: (left, right)}
    symbols = left.free_symbols | right.free_symbols
    declared = _parse_assumptions(assumptions, symbols)
    conds = _parse_relations(conditions, "conditions", symbols)
    budget = _check_seconds(budget, "budget")
    samples, seed = _check_int(samples, "samples", 0), _check_int(seed, "seed")
    dps = check_dps(dps)
    fresh = {s: _fresh(s, names) for s, names in declared.items()}
    unit = {fresh[s] for s, names in declared.items() if "unit_interval" in names}
    pairs = {i: (l.xreplace(fresh), r.xreplace(fresh)) for i, (l, r) in pairs.items()}
    conds = tuple(c.xreplace(fresh) for c in conds) + tuple(u < 1 for u in unit)
    back = {v: k for k, v in fresh.items()}
    return _Engine(pairs, conds, unit, back, budget, samples, dps, seed, start).run()


def prove_zero(expr, assumptions=None, **kw) -> ProofResult:
    """Prove ``expr == 0`` (a zero matrix of its shape for a Matrix); see :func:`prove_equal`."""
    zero = sp.zeros(*expr.shape) if isinstance(expr, MatrixBase) else 0
    return prove_equal(expr, zero, assumptions, **kw)
