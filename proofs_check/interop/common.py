"""The result model, tolerances and report rendering shared by every interop adapter.

A reference check compares one quantity computed by a target codebase (a table, a method's
output, a sampler's step) with its exact value (mpmath at ``dps`` digits, or an exact integer
list) and produces one :class:`Result`:

``check``        the reference check id (``RC-01`` ... ``RC-25``, reference_targets.md section 9)
``quantity``     what is compared (``alphas_cumprod``, ``step x_prev``, ...)
``where``        the scheduler / configuration / method
``max_rel_err``  the largest relative error (absolute error divided by max(|exact|, floor))
``max_ulps``     the largest error in units in the last place of the target's dtype
``worst``        the index or point where the error is largest *relative to its tolerance*
``tolerance``    the fail threshold (relative) at that point
``status``       PASS, WARN (a documented convention, section 8) or FAIL (a real departure)
``explanation``  one line: how the tolerance was derived, and for a FAIL what departs

Tolerances come from error analysis of the target's working precision, never from observed
values: a quantity computed in a dtype with unit roundoff u by k rounded operations, from
inputs with relative error e and with condition number kappa, is within (kappa*e + k)*u of the
exact value to first order.  Bounds are kept per index (``bound_u``, in units of u) so that a
cumulative product of t+1 rounded factors gets (2t+2)u at index t, not a single global figure.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import mpmath
import numpy as np

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
STATUSES = (PASS, WARN, FAIL)

#: Unit roundoff (half the machine epsilon) of each dtype a target may compute in.
UNIT_ROUNDOFF = {
    "float16": 2.0 ** -11,
    "bfloat16": 2.0 ** -8,
    "float32": 2.0 ** -24,
    "float64": 2.0 ** -53,
}
U32 = UNIT_ROUNDOFF["float32"]
U64 = UNIT_ROUNDOFF["float64"]


def unit_roundoff(dtype: str) -> float:
    from numerics.errors import InvalidParameter

    if dtype not in UNIT_ROUNDOFF:
        raise InvalidParameter("dtype", dtype, "one of " + ", ".join(sorted(UNIT_ROUNDOFF)))
    return UNIT_ROUNDOFF[dtype]


def ulp(values: np.ndarray, dtype: str) -> np.ndarray:
    """The spacing of ``dtype`` at |values| (the smallest normal's spacing at 0)."""
    np_dtype = np.float32 if dtype in ("float32", "float16", "bfloat16") else np.float64
    mags = np.abs(np.asarray(values, dtype=np.float64))
    tiny = float(np.finfo(np_dtype).tiny)
    mags = np.maximum(mags, tiny)
    if dtype in ("float16", "bfloat16"):
        # spacing = 2^(exponent - mantissa bits)
        bits = 10 if dtype == "float16" else 7
        return np.ldexp(1.0, np.floor(np.log2(mags)).astype(int) - bits)
    with np.errstate(over="ignore"):
        return np.spacing(mags.astype(np_dtype)).astype(np.float64)


# --------------------------------------------------------------------------------- exact values
@dataclass(frozen=True)
class Exact:
    """Exact reference values held as double-double pairs (hi + lo), enough for any float64
    comparison: |got - exact| is formed as (got - hi) - lo, exact when got is near hi."""

    hi: np.ndarray
    lo: np.ndarray

    @classmethod
    def from_mp(cls, values: Iterable, dps: int = 50) -> "Exact":
        from numerics.precision import workdps

        vals = list(values)
        hi = np.empty(len(vals))
        lo = np.empty(len(vals))
        with workdps(max(int(dps), 34)):
            for i, v in enumerate(vals):
                v = mpmath.mpf(v)
                if mpmath.isinf(v) or mpmath.isnan(v):
                    hi[i], lo[i] = float(v), 0.0
                    continue
                h = float(v)
                hi[i] = h
                lo[i] = float(v - mpmath.mpf(h))
        return cls(hi, lo)

    @classmethod
    def from_float(cls, values) -> "Exact":
        """Values that are exact floats already (integers, dyadic rationals)."""
        arr = np.asarray(values, dtype=np.float64).ravel()
        return cls(arr, np.zeros_like(arr))

    def __len__(self) -> int:
        return len(self.hi)

    def __getitem__(self, key) -> "Exact":
        return Exact(np.atleast_1d(self.hi[key]), np.atleast_1d(self.lo[key]))


def _as_exact(exact, dps: int = 50) -> Exact:
    if isinstance(exact, Exact):
        return exact
    seq = list(exact) if not isinstance(exact, np.ndarray) else exact.ravel().tolist()
    if seq and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seq):
        return Exact.from_float(seq)
    return Exact.from_mp(seq, dps)


def to_float64(got) -> np.ndarray:
    """Any array-like (numpy, torch tensor, list) as a flat float64 numpy array (exact widening)."""
    if hasattr(got, "detach"):  # torch tensor, without importing torch
        got = got.detach().cpu().double().numpy()
    return np.asarray(got, dtype=np.float64).ravel()


# --------------------------------------------------------------------------------- results
@dataclass
class Result:
    check: str
    quantity: str
    where: str
    max_rel_err: Optional[float]
    max_ulps: Optional[float]
    worst: object
    tolerance: Optional[float]
    status: str
    explanation: str

    def to_dict(self) -> dict:
        def clean(x):
            if isinstance(x, float) and not math.isfinite(x):
                return str(x)
            if isinstance(x, (np.floating, np.integer)):
                return clean(x.item())
            return x

        return {
            "check": self.check, "quantity": self.quantity, "where": self.where,
            "max_rel_err": clean(self.max_rel_err), "max_ulps": clean(self.max_ulps),
            "worst": clean(self.worst), "tolerance": clean(self.tolerance),
            "status": self.status, "explanation": self.explanation,
        }


def _fmt(x: Optional[float], digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def compare(check: str, quantity: str, where: str, got, exact, *, dtype: str, bound_u,
            how: str, floor: float = 0.0, labels: Optional[Sequence] = None,
            dps: int = 50) -> Result:
    """Compare ``got`` (computed in ``dtype``) with ``exact`` elementwise.

    ``bound_u``: the first-order error bound in units of the dtype's unit roundoff (scalar or
    one per element); ``how``: one line saying how that bound was derived.  The relative error
    divides by max(|exact|, floor): a floor makes entries whose exact value is 0 (or tiny)
    measured against the quantity's natural scale.  PASS when every element is within its
    bound, FAIL otherwise (the explanation then names the worst element and its departure).
    """
    g = to_float64(got)
    ex = _as_exact(exact, dps)
    if g.shape != ex.hi.shape:
        return Result(check, quantity, where, None, None, None, None, FAIL,
                      f"shape mismatch: the target gave {g.size} values, the exact table has "
                      f"{ex.hi.size}")
    u = unit_roundoff(dtype)
    bound = np.broadcast_to(np.asarray(bound_u, dtype=np.float64), g.shape)
    tol = bound * u
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.abs((g - ex.hi) - ex.lo)
        scale = np.maximum(np.abs(ex.hi), floor)
        rel = np.where(scale > 0, abs_err / np.where(scale > 0, scale, 1.0), abs_err)
        ulps = abs_err / ulp(np.maximum(np.abs(ex.hi), floor), dtype)
        bad_value = ~np.isfinite(g) & np.isfinite(ex.hi)
        same_inf = ~np.isfinite(ex.hi) & (g == ex.hi)
        rel = np.where(same_inf, 0.0, np.where(bad_value, np.inf, rel))
        ulps = np.where(same_inf, 0.0, np.where(bad_value, np.inf, ulps))
        ratio = np.where(tol > 0, rel / np.where(tol > 0, tol, 1.0), np.where(rel > 0, np.inf, 0))
    ratio = np.nan_to_num(ratio, nan=np.inf)
    if g.size == 0:
        return Result(check, quantity, where, 0.0, 0.0, None, 0.0, PASS, how + " (empty table)")
    i = int(np.argmax(ratio))
    label = labels[i] if labels is not None else i
    n_bad = int(np.sum(ratio > 1))
    status = PASS if n_bad == 0 else FAIL
    text = how
    if status == FAIL:
        text = (f"{n_bad} of {g.size} values exceed the bound; worst at {label}: got "
                f"{g[i]:.9g}, exact {ex.hi[i]:.9g} ({_fmt(float(ulps[i]))} ulp, "
                f"{_fmt(float(ratio[i]))}x the tolerance); tolerance: {how}")
    return Result(check, quantity, where, float(np.max(rel)), float(np.max(ulps)), label,
                  float(tol[i]), status, text)


def compare_convention(check: str, quantity: str, where: str, got, exact, faithful, *,
                       dtype: str, bound_u, how: str, convention: str, floor: float = 0.0,
                       labels: Optional[Sequence] = None, dps: int = 50) -> list[Result]:
    """Two rows: the exact comparison and the impl-faithful one (reference_targets section 8).

    The exact row is PASS when it passes, WARN when only the documented convention explains the
    difference (the faithful row passes), FAIL otherwise.
    """
    exact_row = compare(check, quantity, where, got, exact, dtype=dtype, bound_u=bound_u,
                        how=how, floor=floor, labels=labels, dps=dps)
    faithful_row = compare(check, quantity + " [impl-faithful]", where, got, faithful,
                           dtype=dtype, bound_u=bound_u, how=how + "; against " + convention,
                           floor=floor, labels=labels, dps=dps)
    if exact_row.status == FAIL and faithful_row.status == PASS:
        exact_row.status = WARN
        exact_row.explanation = (f"convention, not an error: {convention}; departs from the exact "
                                 f"value by {_fmt(exact_row.max_rel_err)} (relative) at "
                                 f"{exact_row.worst}, matches the convention within tolerance")
    return [exact_row, faithful_row]


def exact_list(check: str, quantity: str, where: str, got, want, how: str) -> Result:
    """Integer tables (timesteps, indices): equality, tolerance 0."""
    g = [int(v) for v in to_float64(got)] if len(to_float64(got)) else []
    w = [int(v) for v in want]
    if g == w:
        return Result(check, quantity, where, 0.0, 0.0, None, 0.0, PASS, how)
    if len(g) != len(w):
        msg = f"length {len(g)}, expected {len(w)}: got {_short(g)}, expected {_short(w)}"
        worst = None
    else:
        worst = next(i for i, (a, b) in enumerate(zip(g, w)) if a != b)
        msg = f"entry {worst} is {g[worst]}, expected {w[worst]}: got {_short(g)}, expected {_short(w)}"
    return Result(check, quantity, where, None, None, worst, 0.0, FAIL, msg + "; " + how)


def _short(seq: Sequence, n: int = 8) -> str:
    seq = list(seq)
    if len(seq) <= n:
        return "[" + ", ".join(map(str, seq)) + "]"
    return "[" + ", ".join(map(str, seq[: n // 2])) + ", ..., " + ", ".join(map(str, seq[-n // 2:])) + "]"


def prop(check: str, quantity: str, where: str, ok: bool, how: str, *, value=None,
         tolerance=None, worst=None, status_if_bad: str = FAIL) -> Result:
    """A property (an identity, an order, a sign) that holds or not."""
    return Result(check, quantity, where, value, None, worst, tolerance,
                  PASS if ok else status_if_bad, how)


def error_result(check: str, quantity: str, where: str, exc: BaseException) -> Result:
    """A target method that raised on valid input: a departure, reported, not a crash."""
    return Result(check, quantity, where, None, None, None, None, FAIL,
                  f"raised {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}")


# --------------------------------------------------------------------------------- report
@dataclass
class Report:
    target: str
    version: str
    results: list = field(default_factory=list)
    seconds: float = 0.0
    loaded_from: str = ""

    def summary(self) -> dict:
        counts = {s: sum(r.status == s for r in self.results) for s in STATUSES}
        return {**counts, "total": len(self.results), "seconds": round(self.seconds, 2),
                "loaded_from": self.loaded_from}

    @property
    def failed(self) -> bool:
        return any(r.status == FAIL for r in self.results)

    def to_dict(self) -> dict:
        return {"target": self.target, "version": self.version,
                "results": [r.to_dict() for r in self.results], "summary": self.summary()}

    def render(self, fmt: str = "text") -> str:
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2) + "\n"
        if fmt == "md":
            return render_markdown(self)
        return render_text(self)


def _summary_line(rep: Report) -> str:
    s = rep.summary()
    return (f"{rep.target} {rep.version}: {s['total']} checks, {s[PASS]} PASS, {s[WARN]} WARN, "
            f"{s[FAIL]} FAIL in {s['seconds']:.1f}s" + (f" (from {rep.loaded_from})" if rep.loaded_from else ""))


def render_text(rep: Report) -> str:
    lines = []
    for r in rep.results:
        lines.append(f"{r.status:<4} {r.check:<5} {r.quantity} @ {r.where}: rel {_fmt(r.max_rel_err)}, "
                     f"{_fmt(r.max_ulps)} ulp, worst {r.worst}, tol {_fmt(r.tolerance)}")
        lines.append(f"       {r.explanation}")
    lines.append(_summary_line(rep))
    return "\n".join(lines) + "\n"


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(rep: Report) -> str:
    lines = [f"# diffusion-proofs check {rep.target} ({rep.version})", "",
             "| status | check | quantity | where | max rel err | max ulps | worst | tolerance | explanation |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rep.results:
        lines.append("| " + " | ".join(_md(x) for x in (
            r.status, r.check, r.quantity, r.where, _fmt(r.max_rel_err), _fmt(r.max_ulps),
            r.worst, _fmt(r.tolerance), r.explanation)) + " |")
    lines += ["", _summary_line(rep)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------- run context
class RunContext:
    """What every adapter's ``check`` receives: precision, seed, and a progress line on stderr
    once the run has lasted more than ``after`` seconds (never when quiet)."""

    def __init__(self, dps: int = 50, seed: int = 0, quiet: bool = True, after: float = 2.0):
        import time

        from numerics.precision import check_dps

        self.dps = check_dps(dps)
        self.seed = int(seed)
        self.quiet = quiet
        self.after = after
        self._t0 = time.monotonic()
        self.rng = np.random.default_rng(self.seed)

    def elapsed(self) -> float:
        import time

        return time.monotonic() - self._t0

    def progress(self, message: str) -> None:
        import sys

        if self.quiet or self.elapsed() < self.after:
            return
        sys.stderr.write(f"[{self.elapsed():5.1f}s] {message}\n")
        sys.stderr.flush()
