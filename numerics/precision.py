"""Precision: the one module of the suite that touches mpmath's working precision.

Rules (DESIGN.md, "Precision"):

* ``mpmath.mp.dps`` is never assigned anywhere else; code that needs digits takes ``dps`` as an
  explicit argument and enters :func:`workdps`, which restores the previous precision on exit,
  exceptions included.
* High-precision inputs come from ``str``, ``int``, :class:`fractions.Fraction` or sympy
  rationals (:func:`mpf_exact`); a binary float already carries rounding error and is accepted
  only where the float itself is the object under test (:func:`mpf_from_float`).
* Tolerances are functions of ``dps`` with a stated reason (:func:`identity_tolerance`).
"""

from __future__ import annotations

import math
import numbers
from contextlib import contextmanager
from fractions import Fraction
from typing import Callable, Iterator, TypeVar

import mpmath

from numerics.errors import InvalidParameter, PrecisionLoss

__all__ = [
    "DEFAULT_DPS",
    "GUARD_DIGITS",
    "MAX_DPS",
    "MIN_DPS",
    "check_dps",
    "current_dps",
    "identity_tolerance",
    "mpf_exact",
    "mpf_from_float",
    "relative_error",
    "at_two_precisions",
    "workdps",
    "flint_workdps",
    "flint_workprec",
    "exact_fraction",
]

#: Digits used when the caller does not say: the catalog's default (DESIGN.md).
DEFAULT_DPS = 50
#: Below 20 digits the pass rule 10^-(dps-10) would be looser than float64; refuse it.
MIN_DPS = 20
#: Above this, quadrature and matrix routes take minutes; a larger request is almost surely a typo.
MAX_DPS = 2000
#: Digits reserved for cancellation inside a route; the pass threshold is 10^-(dps - GUARD_DIGITS).
GUARD_DIGITS = 10
#: Extra digits of the second run in the two-precision agreement test.
EXTRA_DIGITS = 20

T = TypeVar("T")


def check_dps(dps: object, name: str = "dps") -> int:
    """Validate a requested number of decimal digits and return it as an ``int``."""
    if isinstance(dps, bool) or not isinstance(dps, numbers.Integral):
        raise InvalidParameter(name, dps, f"an integer number of digits in [{MIN_DPS}, {MAX_DPS}]")
    dps = int(dps)
    if not MIN_DPS <= dps <= MAX_DPS:
        raise InvalidParameter(name, dps, f"an integer number of digits in [{MIN_DPS}, {MAX_DPS}]")
    return dps


def current_dps() -> int:
    """mpmath's working precision in decimal digits (read only)."""
    return int(mpmath.mp.dps)


@contextmanager
def workdps(dps: int) -> Iterator[int]:
    """Run a block at ``dps`` decimal digits; the previous precision is restored on exit.

    This is a validated wrapper of :func:`mpmath.workdps`; it is the only way the suite
    changes precision.
    """
    dps = check_dps(dps)
    with mpmath.workdps(dps):
        yield dps


@contextmanager
def flint_workdps(dps: int) -> Iterator[int]:
    """Run a block with python-flint (Arb) at ``dps`` decimal digits, restored on exit.

    flint keeps its own global precision, separate from mpmath's; it too changes only here.
    """
    dps = check_dps(dps)
    import flint

    with flint.ctx.workdps(dps):
        yield dps


@contextmanager
def flint_workprec(bits: int) -> Iterator[int]:
    """Run a block with python-flint (Arb) at ``bits`` bits of precision, restored on exit
    (for adaptive routes that raise precision until a ball is narrow enough)."""
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 2 <= bits <= 200_000:
        raise InvalidParameter("bits", bits, "an integer number of bits in [2, 200000]")
    import flint

    with flint.ctx.workprec(int(bits)):
        yield int(bits)


def mpf_exact(value: object, name: str = "value") -> mpmath.mpf:
    """Build an mpf at the current precision from an exact description of a number.

    Accepts ``int``, ``str`` (decimal or ``"p/q"``), :class:`fractions.Fraction`, sympy
    ``Integer``/``Rational``/``Float`` and mpmath numbers.  A Python ``float`` is refused: it
    already carries binary rounding error (use :func:`mpf_from_float` where the float *is* the
    input under test).
    """
    if isinstance(value, bool):
        raise InvalidParameter(name, value, "a number given exactly (int, str, Fraction)")
    if isinstance(value, float):
        raise InvalidParameter(
            name, value, "an exact number (int, str or Fraction)",
            hint="a float already carries rounding error; pass it as a string such as '0.1'",
        )
    if isinstance(value, (int, mpmath.mpf)):
        return mpmath.mpf(value)
    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    if isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:
                num, den = text.split("/", 1)
                return mpmath.mpf(int(num)) / int(den)
            return mpmath.mpf(text)
        except (ValueError, ZeroDivisionError):
            raise InvalidParameter(name, value, "a decimal or 'p/q' string") from None
    # sympy numbers, without importing sympy at module import time
    p = getattr(value, "p", None)
    q = getattr(value, "q", None)
    if isinstance(p, int) and isinstance(q, int) and q != 0:
        return mpmath.mpf(p) / q
    if hasattr(value, "_mpf_") and type(value).__module__.startswith("sympy"):
        return mpmath.mpf(str(value))
    raise InvalidParameter(name, value, "an exact number (int, str, Fraction or sympy Rational)")


_EXACT = "an exact finite number (int, Fraction, decimal or 'p/q' string, sympy Rational)"


def exact_fraction(value: object, name: str = "value") -> Fraction:
    """``value`` as an exact :class:`fractions.Fraction`, for exact parameter inputs.

    Accepts integers (Python or numpy), Fractions, decimal or ``"p/q"`` strings, sympy
    Integer/Rational and finite mpmath numbers (a binary mpf is a dyadic rational).  Floats,
    NaN, infinities and other objects are refused with :class:`InvalidParameter`.
    """
    if isinstance(value, bool):
        raise InvalidParameter(name, value, _EXACT)
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, float):
        hint = ("NaN is not a number" if math.isnan(value) else
                "a float already carries rounding error; pass '0.1' or Fraction(1, 10)")
        raise InvalidParameter(name, value, _EXACT, hint=hint)
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise InvalidParameter(name, value, _EXACT) from None
    if isinstance(value, mpmath.mpf):
        if not mpmath.isfinite(value):
            raise InvalidParameter(name, value, _EXACT)
        man, exp = value.man_exp
        return Fraction(int(man)) * (Fraction(2) ** int(exp))
    p, q = getattr(value, "p", None), getattr(value, "q", None)
    if isinstance(p, int) and isinstance(q, int) and q != 0:  # sympy Integer / Rational
        return Fraction(p, q)
    raise InvalidParameter(name, value, _EXACT)


def mpf_from_float(value: float, name: str = "value") -> mpmath.mpf:
    """Convert a float *exactly* (every binary float is a dyadic rational) to an mpf."""
    if not isinstance(value, (float, int)) or isinstance(value, bool):
        raise InvalidParameter(name, value, "a float")
    if not math.isfinite(value):
        raise InvalidParameter(name, value, "a finite float")
    num, den = float(value).as_integer_ratio()
    return mpmath.mpf(num) / den


def identity_tolerance(dps: int) -> mpmath.mpf:
    """Pass threshold for a relative error at ``dps`` digits: 10^-(dps - 10).

    Reason: a numeric route (quadrature, matrix functions, sums of cancelling terms) may lose a
    few digits to cancellation and to its own error estimate; ten guard digits cover the routes
    of this suite while staying 10^40 below float64 at the default 50 digits.
    """
    dps = check_dps(dps)
    return mpmath.mpf(10) ** (-(dps - GUARD_DIGITS))


def relative_error(computed: object, reference: object) -> mpmath.mpf:
    """|computed - reference| / max(|reference|, tiny), at the current precision.

    When the reference is exactly zero the absolute error is returned (a relative error is
    undefined there); callers state which they compare.
    """
    c = mpmath.mpmathify(computed)
    r = mpmath.mpmathify(reference)
    diff = abs(c - r)
    scale = abs(r)
    if scale == 0:
        return diff
    return diff / scale


def at_two_precisions(fn: Callable[[int], T], dps: int) -> tuple[T, T]:
    """Evaluate ``fn(d)`` inside ``workdps(d)`` at ``dps`` and at ``dps + 20``.

    The second value validates the first: a result that changes in its leading digits when the
    precision grows was limited by rounding, not by mathematics (DESIGN.md numeric route).
    """
    dps = check_dps(dps)
    with workdps(dps):
        low = fn(dps)
    with workdps(dps + EXTRA_DIGITS):
        high = fn(dps + EXTRA_DIGITS)
    return low, high


def require_agreement(low: object, high: object, dps: int, what: str) -> mpmath.mpf:
    """Relative disagreement of two evaluations; raise :class:`PrecisionLoss` above tolerance."""
    with workdps(check_dps(dps) + EXTRA_DIGITS):
        gap = relative_error(low, high)
        if gap > identity_tolerance(dps):
            raise PrecisionLoss(
                f"{what}: results at {dps} and {dps + EXTRA_DIGITS} digits differ by "
                f"{mpmath.nstr(gap, 3)} (relative), more than 1e-{dps - GUARD_DIGITS}"
            )
        return gap
