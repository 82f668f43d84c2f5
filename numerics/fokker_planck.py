"""Fokker-Planck and continuity residuals by numerical differentiation at high precision.

The independent route for :mod:`identities.fokker_planck`: every derivative is taken by
``mpmath.diff`` (finite differences at raised precision, which converge to the analytic
derivative as the precision grows), never by sympy, so a formula is judged by evaluating it,
not by the algebra that produced it.

Main functions (callables take the coordinates, then t when there is time dependence):

* :func:`fokker_planck_residual`: d_t p + sum_i d_i(f_i p) - (1/2) sum_i d_i^2 (g^2 p) for
  dX = f dt + g dW with scalar (possibly state-dependent) g, and its scale (the sum of the
  absolute values of its terms), so a caller can judge |residual| / scale.
* :func:`continuity_residual`: d_t p + sum_i d_i(p v_i), with its scale.
* :func:`gradient`: the gradient of a scalar function by ``mpmath.diff`` (at the current
  precision when used inside the callables above).
* :data:`POTENTIALS`: concrete non-polynomial potentials (1, 2 and 3 dimensions) for
  stationarity checks; :func:`linear_vp_schedule` and :func:`vp_mixture_density`: the VP SDE
  with beta(t) = beta_min + (beta_max - beta_min) t and the law of X_t for mixture data.

References: Pavliotis 2014, ch. 4; Song et al. 2021; catalog L1.4, M5.2, M5.3, L2.6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import mpmath

from numerics.errors import InvalidParameter
from numerics.precision import check_dps, exact_fraction, mpf_exact, workdps

__all__ = [
    "POTENTIALS",
    "Residual",
    "continuity_residual",
    "fokker_planck_residual",
    "gradient",
    "linear_vp_schedule",
    "vp_mixture_density",
]

#: Digits added while differentiating: mpmath.diff raises precision itself, these guard the
#: sums of terms that cancel in a residual.
_GUARD = 10


@dataclass(frozen=True)
class Residual:
    """A residual and its scale (sum of |terms|); ``relative`` = |value| / scale."""

    value: mpmath.mpf
    scale: mpmath.mpf

    @property
    def relative(self) -> mpmath.mpf:
        return abs(self.value) / self.scale if self.scale != 0 else abs(self.value)


def _point(x: Sequence, t: object) -> tuple[list, Optional[mpmath.mpf]]:
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__") or len(x) == 0:
        raise InvalidParameter("x", x, "a non-empty sequence of exact coordinates")
    xs = [v if isinstance(v, mpmath.mpf) else mpf_exact(v, f"x[{i}]") for i, v in enumerate(x)]
    tt = None if t is None else (t if isinstance(t, mpmath.mpf) else mpf_exact(t, "t"))
    return xs, tt


def _callable(fn: object, name: str) -> Callable:
    if not callable(fn):
        raise InvalidParameter(name, fn, "a callable of the coordinates (then t)")
    return fn


def _partial(fn: Callable, args: list, index: int, order: int) -> mpmath.mpf:
    orders = [0] * len(args)
    orders[index] = order
    return mpmath.diff(fn, tuple(args), tuple(orders))


def gradient(fn: Callable, x: Sequence, *, dps: Optional[int] = None) -> list:
    """[d_i fn(x)] by ``mpmath.diff`` (``fn`` takes the coordinates).

    With ``dps`` the work runs at dps + guard digits and returns at ``dps``; with
    ``dps=None`` it runs at the *current* precision, which is what a callable handed to
    :func:`fokker_planck_residual` must do (mpmath.diff raises the precision around it, and a
    fixed inner precision would undo that).
    """
    fn = _callable(fn, "fn")
    if dps is None:
        xs, _ = _point(x, None)
        return [_partial(fn, xs, i, 1) for i in range(len(xs))]
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        xs, _ = _point(x, None)
        out = [_partial(fn, xs, i, 1) for i in range(len(xs))]
    with workdps(dps):
        return [+g for g in out]


def fokker_planck_residual(density: Callable, drift: Callable, diffusion_sq: Callable,
                           x: Sequence, t: object = None, *, dps: int,
                           reverse_time: bool = False) -> Residual:
    """d_t p + div(f p) - (1/2) Laplacian(g^2 p) at (x, t), all derivatives numerical.

    ``density(*x[, t])`` -> p; ``drift(*x[, t])`` -> sequence of d components;
    ``diffusion_sq(*x[, t])`` -> g^2 (noise g dW, g scalar).  ``t=None``: stationary.
    ``reverse_time``: d_t p enters with a minus sign (SDE in tau = T - t).
    """
    density, drift = _callable(density, "density"), _callable(drift, "drift")
    diffusion_sq = _callable(diffusion_sq, "diffusion_sq")
    if not isinstance(reverse_time, bool):
        raise InvalidParameter("reverse_time", reverse_time, "True or False")
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        xs, tt = _point(x, t)
        args = xs + ([tt] if tt is not None else [])
        d = len(xs)
        terms = []
        if tt is not None:
            terms.append((-1 if reverse_time else 1) * _partial(density, args, d, 1))
        for i in range(d):
            flux = lambda *a, i=i: drift(*a)[i] * density(*a)  # noqa: E731
            terms.append(_partial(flux, args, i, 1))
        spread = lambda *a: diffusion_sq(*a) * density(*a)  # noqa: E731
        for i in range(d):
            terms.append(-_partial(spread, args, i, 2) / 2)
        value, scale = mpmath.fsum(terms), mpmath.fsum(abs(v) for v in terms)
    with workdps(dps):
        return Residual(+value, +scale)


def continuity_residual(density: Callable, velocity: Callable, x: Sequence, t: object = None,
                        *, dps: int) -> Residual:
    """d_t p + div(p v) at (x, t), all derivatives numerical (``velocity`` -> d components)."""
    density, velocity = _callable(density, "density"), _callable(velocity, "velocity")
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        xs, tt = _point(x, t)
        args = xs + ([tt] if tt is not None else [])
        terms = [] if tt is None else [_partial(density, args, len(xs), 1)]
        for i in range(len(xs)):
            flux = lambda *a, i=i: density(*a) * velocity(*a)[i]  # noqa: E731
            terms.append(_partial(flux, args, i, 1))
        value, scale = mpmath.fsum(terms), mpmath.fsum(abs(v) for v in terms)
    with workdps(dps):
        return Residual(+value, +scale)


# ----------------------------------------------------------------------------- test problems

def _double_well_1d(x):
    return x**4 / 4 - x**2 / 2 + mpmath.sin(x) / 3


def _ripple_2d(x, y):
    return (x**2 + y**2) ** 2 / 4 - x * y / 2 + mpmath.sin(x) * mpmath.cos(y) / 3


def _tilted_3d(x, y, z):
    return (x**2 + y**2 + z**2) / 2 + mpmath.cos(x + 2 * y) / 5 + mpmath.log(1 + z**2) / 3 + x * z / 4


#: Non-polynomial potentials V(x) of dimension 1, 2, 3 (name -> (dimension, V)).
POTENTIALS = {
    "double_well_1d": (1, _double_well_1d),
    "ripple_2d": (2, _ripple_2d),
    "tilted_3d": (3, _tilted_3d),
}


def linear_vp_schedule(beta_min: object = "1/10", beta_max: object = 20):
    """(beta, B) for beta(t) = beta_min + (beta_max - beta_min) t, B(t) = int_0^t beta.

    The defaults are those of Song et al. 2021 (VP SDE on t in [0, 1]).
    """
    bmin, bmax = exact_fraction(beta_min, "beta_min"), exact_fraction(beta_max, "beta_max")
    if not 0 < bmin <= bmax:
        raise InvalidParameter("beta_max", beta_max, f"a number >= beta_min = {beta_min} > 0")

    def beta(t):
        return mpf_exact(bmin) + mpf_exact(bmax - bmin) * t

    def integral(t):
        return mpf_exact(bmin) * t + mpf_exact(bmax - bmin) * t * t / 2

    return beta, integral


def vp_mixture_density(weights: Sequence, means: Sequence, variances: Sequence, x, t,
                       integral: Callable) -> mpmath.mpf:
    """p_t(x) for the VP SDE from sum_i w_i N(mu_i, v_i): with a = exp(-B(t)/2), each
    component becomes N(a mu_i, a^2 v_i + 1 - a^2) (current mpmath precision)."""
    a = mpmath.exp(-integral(t) / 2)
    total = mpmath.mpf(0)
    for w, mu, v in zip(weights, means, variances):
        var = a * a * mpf_exact(v) + 1 - a * a
        total += mpf_exact(w) * mpmath.npdf(x, a * mpf_exact(mu), mpmath.sqrt(var))
    return total
