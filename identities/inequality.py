"""identities.inequality: prove polynomial, rational and radical inequalities with z3.

Public names:

* :func:`prove_nonnegative` ``(expr, assumptions=None, *, conditions=(), lemmas=(),
  timeout=10.0) -> ProofResult``: decide ``expr >= 0`` in nonlinear real arithmetic.

The negation is asserted and z3 asked for a model: unsat is a proof over the whole domain
(PROVED); a model is re-evaluated exactly and is a FAIL only when the violation is confirmed.
log/exp and other transcendental subterms are outside z3's fragment: they become unknown reals
bound by caller-proved ``lemmas`` (then a model may only mean "not provable from these
lemmas": INCONCLUSIVE), or, with no lemma, the result is INCONCLUSIVE "not translatable".
Assumptions, conditions and results share :mod:`identities.proof`'s conventions.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import Boolean

from identities.proof import (
    FAIL,
    INCONCLUSIVE,
    PROVED,
    ProofResult,
    _AS_RELATION,
    _as_operand,
    _check_seconds,
    _holds,
    _parse_assumptions,
    _parse_relations,
    _short,
)

__all__ = ["prove_nonnegative"]

#: Assumption names as constraints on a z3 variable.
_Z3_SIGNS = {
    "positive": lambda z3, v: v > 0,
    "nonnegative": lambda z3, v: v >= 0,
    "negative": lambda z3, v: v < 0,
    "nonpositive": lambda z3, v: v <= 0,
    "nonzero": lambda z3, v: v != 0,
    "unit_interval": lambda z3, v: z3.And(v > 0, v < 1),
}


class _NotTranslatable(Exception):
    pass


class _ToZ3:
    """sympy -> z3 real arithmetic: +, *, integer and rational powers, Abs.

    b**-n becomes a fresh w with w * b**n == 1; b**(p/q) uses a fresh r >= 0 with r**q == b.
    These side constraints restrict the claim to where the expression is defined and real.
    With ``opaque=None`` every other subterm becomes a fresh unknown real and is remembered in
    ``seen_opaque`` (used for lemmas); otherwise only subterms in ``opaque`` do, and any other
    one raises :class:`_NotTranslatable`.
    """

    def __init__(self, z3):
        self.z3, self.opaque = z3, None
        self.vars: dict = {}
        self.aux: dict = {}
        self.side: list = []
        self.seen_opaque: set = set()

    def fresh(self, key: tuple, side: Callable = lambda v: ()):
        """One auxiliary real per key; ``side(v)`` gives its defining constraints."""
        if key not in self.aux:
            v = self.aux[key] = self.z3.Real(f"{key[0]}!aux{len(self.aux)}")
            self.side.extend(side(v))
        return self.aux[key]

    def power(self, t, n: int):
        return t if n == 1 else t * self.power(t, n - 1)

    def __call__(self, e: sp.Expr):
        z3 = self.z3
        if e.is_Symbol:
            if e not in self.vars:
                self.vars[e] = z3.Real(f"{e.name}!{len(self.vars)}")
            return self.vars[e]
        if e.is_Rational:
            return z3.RealVal(f"{e.p}/{e.q}")
        if e.is_Add or e.is_Mul:
            terms = [self(a) for a in e.args]
            return z3.Sum(terms) if e.is_Add else z3.Product(terms)
        if e.is_Pow and e.exp.is_Rational:
            (p, q), base = (e.exp.p, e.exp.q), self(e.base)
            if q != 1:
                b = base
                base = self.fresh(("root", e.base, q), lambda r: (r >= 0, self.power(r, q) == b))
            if p < 0:
                b = base
                return self.fresh(("inv", e.base, q, -p), lambda w: (w * self.power(b, -p) == 1,))
            return self.power(base, p) if p else z3.RealVal(1)
        if isinstance(e, sp.Abs):
            t = self(e.args[0])
            return z3.If(t >= 0, t, -t)
        if self.opaque is None or e in self.opaque:
            self.seen_opaque.add(e)
            return self.fresh(("opaque", e))
        raise _NotTranslatable(e)

    def relation(self, r: Boolean):
        z3 = self.z3
        if r is sp.true or r is sp.false:
            return z3.BoolVal(bool(r))
        if isinstance(r, (sp.And, sp.Or)):
            parts = [self.relation(a) for a in r.args]
            return z3.And(parts) if isinstance(r, sp.And) else z3.Or(parts)
        if isinstance(r, sp.Not):
            return z3.Not(self.relation(r.args[0]))
        if isinstance(r, Relational) and r.rel_op in ("<", "<=", ">", ">=", "==", "!="):
            a, b = self(r.lhs), self(r.rhs)
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b,
                    "!=": a != b}[r.rel_op]
        raise _NotTranslatable(r)


def _model_point(z3, model, variables: dict) -> dict:
    """The model's values as exact rationals (algebraic numbers rounded to 40 digits)."""
    point = {}
    for sym, var in variables.items():
        v = model.eval(var, model_completion=True)
        v = v.approx(40) if z3.is_algebraic_value(v) else v
        point[sym] = sp.Rational(v.numerator_as_long(), v.denominator_as_long())
    return point


def _confirm_negative(expr: sp.Expr, point: dict) -> Optional[str]:
    """The value of ``expr`` at ``point`` if it is surely < 0 (exactly, or at 60 and 80 digits)."""
    value = expr.xreplace(point)
    if value.is_Rational:
        return str(value) if value < 0 else None
    # A model rounded to 40 digits moves a smooth expression by ~1e-40: demand below -1e-30.
    values = [value.evalf(n) for n in (60, 80)]
    if all(v.is_real and v.is_finite and v < -sp.Rational(1, 10**30) for v in values):
        return str(values[0].evalf(15))
    return None


def prove_nonnegative(expr, assumptions=None, *, conditions=(), lemmas=(),
                      timeout=10.0) -> ProofResult:
    """Prove ``expr >= 0`` wherever it is defined and real, by z3's nonlinear real arithmetic.

    Every symbol is a real unknown restricted by ``assumptions`` (as in :func:`prove_equal`)
    and by its own sympy assumptions; ``conditions`` are hypotheses here.  ``lemmas`` are
    relations the caller proved separately (e.g. ``log(r) <= r - 1``): the subterms they
    mention, such as ``log(r)``, become unknown reals bound only by the lemmas.  unsat of
    NOT(expr >= 0) gives PROVED; a model is re-evaluated exactly (or at 60 and 80 digits) and
    gives FAIL only when the violation is confirmed, otherwise INCONCLUSIVE (with lemmas a
    model may only mean "not provable from them").  A subterm outside the fragment (log, exp,
    ...) that no lemma mentions gives INCONCLUSIVE with the reason "not translatable: ...".
    """
    start = time.monotonic()
    e = _as_operand(expr, "expr", matrix_ok=False)
    symbols = set(e.free_symbols)
    # conditions are hypotheses here, so they may constrain symbols the claim does not mention
    conds = _parse_relations(conditions, "conditions", None)
    lems = _parse_relations(lemmas, "lemmas", None)
    symbols = symbols.union(*(r.free_symbols for r in lems + conds))
    declared = _parse_assumptions(assumptions, symbols)
    timeout = _check_seconds(timeout, "timeout")
    import z3  # lazily: only this function needs it

    def done(status, outcome, detail, cx=None):
        seconds = time.monotonic() - start
        return ProofResult(status, None if status == INCONCLUSIVE else "z3",
                           (("z3", outcome, seconds),), cx,
                           None if status == PROVED else _short(str(e)),
                           seconds, timeout, detail)

    to_z3 = _ToZ3(z3)
    try:
        facts = [to_z3.relation(r) for r in lems]
        to_z3.opaque = set(to_z3.seen_opaque)
        facts += [to_z3.relation(r) for r in conds]
        claim = to_z3(e)
        for s in sorted(symbols, key=sp.default_sort_key):
            names = set(declared.get(s, ())) | {n for n in _Z3_SIGNS if getattr(s, f"is_{n}", 0)}
            # Built on the z3 variable directly: as a sympy relation, s > 0 for a symbol
            # declared positive evaluates to True and would never constrain the solver.
            v = to_z3(s)
            facts += [_Z3_SIGNS[n](z3, v) for n in sorted(names) if n in _Z3_SIGNS]
            facts += [z3.IsInt(v)] if "integer" in names or s.is_integer else []
    except _NotTranslatable as exc:
        return done(INCONCLUSIVE, f"error: not translatable: {exc.args[0]}",
                    f"not translatable: {exc.args[0]} (outside polynomial, rational and radical "
                    "arithmetic; a lemma that mentions it makes it an unknown real)")
    except Exception as exc:
        return done(INCONCLUSIVE, f"error: {type(exc).__name__}", f"translation failed: {exc}")
    solver = z3.Solver()
    solver.set("timeout", max(1, int(timeout * 1000)))
    solver.add(*facts, *to_z3.side, z3.Not(claim >= 0))
    answer = solver.check()
    if answer == z3.unsat:
        return done(PROVED, "zero", "z3: the negation is unsatisfiable")
    if answer != z3.sat:
        return done(INCONCLUSIVE, "budget" if time.monotonic() - start >= timeout else "unknown",
                    f"z3 answered unknown ({solver.reason_unknown()})")
    point = _model_point(z3, solver.model(), {s: to_z3.vars[s] for s in symbols})
    shown = {str(s): str(v) for s, v in sorted(point.items(), key=lambda kv: str(kv[0]))}
    try:
        inside = all(_holds(c, point) for c in conds) and all(
            _holds(_AS_RELATION[n](s), point) for s, ns in declared.items() for n in ns
            if n in _AS_RELATION)
        value = _confirm_negative(e, point) if inside else None
    except Exception:
        value = None
    if value is not None:
        return done(FAIL, "counterexample", "z3 model confirmed by exact evaluation",
                    {"point": shown, "value": value})
    why = "not provable from the lemmas" if lems else "not confirmed by exact evaluation"
    return done(INCONCLUSIVE, "nonzero", f"z3 found a model ({why}): {shown}")
