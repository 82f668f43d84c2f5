"""Gaussian-weighted integration at N digits: mpmath with an error estimate, Arb certified.

Two routes for E[f(X)], X ~ N(mean, var), in one dimension:

* :func:`gaussian_expectation` — mpmath tanh-sinh quadrature after the substitution
  x = mean + sqrt(var) z, on the real line split at 0 and at caller-supplied breakpoints (peaks
  and kinks of f, in z units).  Returns the value *and* mpmath's error estimate; an estimate is
  not a bound, so results built on it are CONFIRMED, never CERTIFIED.
* :func:`certified_gaussian_expectation` — python-flint's rigorous ``acb.integral`` on the
  window |z| <= L plus a rigorous bound on the two tails, given the growth bound
  |f(mean + sqrt(var) z)| <= C exp(k |z|) that the caller states.  The result is a ball that
  contains the true value: CERTIFIED.

:func:`integrate_line` integrates an arbitrary integrand over the real line (mixture densities,
products of Gaussians) with the same splitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import mpmath

from numerics.errors import InvalidParameter, PrecisionLoss
from numerics.precision import check_dps, flint_workdps, mpf_exact, workdps

__all__ = [
    "Enclosure",
    "QuadResult",
    "certified_gaussian_expectation",
    "gaussian_expectation",
    "integrate_line",
]


@dataclass(frozen=True)
class QuadResult:
    """A quadrature value with mpmath's error estimate (not a rigorous bound)."""

    value: mpmath.mpf
    error: mpmath.mpf


@dataclass(frozen=True)
class Enclosure:
    """A rigorous interval [lo, hi] (mpmath numbers) guaranteed to contain the true value."""

    lo: mpmath.mpf
    hi: mpmath.mpf

    def contains(self, x) -> bool:
        return self.lo <= x <= self.hi

    @property
    def radius(self) -> mpmath.mpf:
        return (self.hi - self.lo) / 2

    @property
    def mid(self) -> mpmath.mpf:
        return (self.hi + self.lo) / 2


def arb_to_enclosure(ball, dps: int) -> Enclosure:
    """Convert a flint ``arb`` to an :class:`Enclosure` at ``dps`` digits, rounding outward.

    Call it inside :func:`numerics.precision.flint_workdps` (outside, flint rounds the
    endpoints at its default 53 bits).  Each endpoint is printed with dps + 10 digits and then
    widened by 10^-(dps+5) of its size, which covers the decimal conversion.
    """
    digits = dps + 10
    with workdps(digits):
        lo = mpmath.mpf(ball.lower().str(digits, radius=False))
        hi = mpmath.mpf(ball.upper().str(digits, radius=False))
        slack = mpmath.mpf(10) ** (-(dps + 5))
        return Enclosure(lo - slack * max(abs(lo), 1), hi + slack * max(abs(hi), 1))


def _positive(name: str, value) -> mpmath.mpf:
    x = value if isinstance(value, mpmath.mpf) else mpf_exact(value, name)
    if not x > 0:
        raise InvalidParameter(name, value, "a positive number")
    return x


def integrate_line(f: Callable, dps: int, breakpoints: Sequence = (),
                   accuracy_digits: int | None = None) -> QuadResult:
    """∫ f(x) dx over the real line at ``dps`` digits, split at 0 and ``breakpoints``.

    Raises :class:`PrecisionLoss` when mpmath's own error estimate exceeds
    10^-(accuracy_digits) relative to the value (default: dps - 10 digits), so a caller never
    receives a number that the quadrature itself does not vouch for.
    """
    dps = check_dps(dps)
    want = dps - 10 if accuracy_digits is None else accuracy_digits
    with workdps(dps):
        cuts = sorted({mpmath.mpf(0), *(mpmath.mpmathify(b) for b in breakpoints)})
        nodes = [-mpmath.inf, *cuts, mpmath.inf]
        value, error = mpmath.quad(f, nodes, error=True, maxdegree=10)
        scale = max(abs(value), mpmath.mpf(1) if value == 0 else abs(value))
        if error > scale * mpmath.mpf(10) ** (-want):
            raise PrecisionLoss(
                f"quadrature error estimate {mpmath.nstr(error, 3)} exceeds 1e-{want} "
                f"relative to {mpmath.nstr(value, 10)} at {dps} digits")
        return QuadResult(+value, +error)


def gaussian_expectation(f: Callable, mean, var, dps: int, breakpoints: Sequence = (),
                         accuracy_digits: int | None = None) -> QuadResult:
    """E[f(X)] for X ~ N(mean, var) by quadrature in z = (x - mean)/sqrt(var).

    ``mean`` and ``var`` are exact (str, int, Fraction) or mpmath numbers; ``breakpoints`` are
    extra split points in z units.
    """
    dps = check_dps(dps)
    with workdps(dps):
        m = mean if isinstance(mean, mpmath.mpf) else mpf_exact(mean, "mean")
        s = mpmath.sqrt(_positive("var", var))
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)

        def weighted(z):
            return f(m + s * z) * mpmath.exp(-z * z / 2) * norm

        return integrate_line(weighted, dps, breakpoints, accuracy_digits)


def certified_gaussian_expectation(f_arb: Callable, mean, var, growth_c, growth_k,
                                   dps: int, window: int = 0):
    """A rigorous :class:`Enclosure` of E[f(X)], X ~ N(mean, var).

    ``f_arb(x, analytic)`` evaluates f at an ``acb`` ball using flint functions and honours
    the ``analytic`` flag for branch-cut functions (see ``acb.integral``).  The caller states
    the growth bound |f(mean + sqrt(var) z)| <= growth_c * exp(growth_k |z|) for all real z;
    the tails beyond |z| > L are then bounded by
    2 growth_c exp(k^2/2) Q(L - k), with Q the normal upper tail, which is added to the ball's
    radius.  ``window`` overrides L (default: large enough for the tail to be below 10^-(dps+5)).
    """
    dps = check_dps(dps)
    from flint import acb, arb

    c = _positive("growth_c", growth_c)
    with flint_workdps(dps + 10):
        m = arb(mpmath.nstr(mpf_exact(mean, "mean") if not isinstance(mean, mpmath.mpf) else mean,
                            dps + 15))
        with workdps(dps + 15):
            v = _positive("var", var)
            v_text = mpmath.nstr(v, dps + 15)
        s = arb(v_text).sqrt()
        k = arb(str(growth_k))
        if not k >= 0:
            raise InvalidParameter("growth_k", growth_k, "a non-negative rate")
        big_l = int(window) if window else int(mpmath.ceil(
            mpmath.sqrt(2 * (dps + 5) * mpmath.log(10)) + 2 * float(growth_k) + 2))
        norm = 1 / (2 * arb.pi()).sqrt()

        def integrand(z, analytic):
            return f_arb(acb(m) + acb(s) * z, analytic) * (-(z * z) / 2).exp() * norm

        inner = acb.integral(integrand, -big_l, big_l)
        if not inner.imag.contains(0) or not inner.real.is_finite():
            raise PrecisionLoss("certified integral did not converge to a finite real ball")
        # Gaussian tail with exponential growth: int_L^inf e^{kz} phi(z) dz = e^{k^2/2} Q(L-k)
        tail = 2 * arb(str(c)) * (k * k / 2).exp() * ((arb(big_l) - k) / arb(2).sqrt()).erfc() / 2
        return arb_to_enclosure(inner.real + arb(0, tail.upper()), dps)
