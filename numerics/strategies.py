"""Parameter generators for property tests: hypothesis strategies and seeded samplers.

Every generator is written once as a *builder* ``build_x(src, ...)`` that draws through a small
source interface; it then exists twice:

* ``x(...)``: a hypothesis strategy (``@given(spd_matrices(dim=3))``), shrinking towards the
  simplest case (the identity matrix, the uniform law, the smallest step);
* ``random_x(rng, ...)``: the same law of parameters from a seeded :class:`random.Random`, used by
  the catalog's checks (reproducible, no hypothesis machinery at verify time).

Everything is exact: rationals as :class:`fractions.Fraction`, SPD matrices as
:class:`numerics.divergences.SPDMatrix` = Q diag(l) Q' with Q a product of rational Givens
rotations (so eigenvalues and eigenvectors are known exactly), probability vectors and
stochastic matrices with Fraction entries summing exactly to 1.

Defaults follow the Langevin chapter (catalog L1.x): dimension 1-5, eigenvalues in [1/20, 10]
times a condition number <= 100, ULA steps inside 0 < h <= alpha/(4 L^2).

The strategies need hypothesis (a test dependency, imported lazily); the seeded samplers do not.

Example::

    from hypothesis import given, settings
    from numerics.strategies import ula_settings

    @settings(deadline=None)
    @given(ula_settings())
    def test_my_bound(p):
        assert my_lhs(p) <= my_rhs(p)
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any, Callable

from numerics.divergences import SPDMatrix, exact_matmul, givens_rotation
from numerics.precision import exact_fraction
from numerics.errors import InvalidParameter

__all__ = [
    "build_dimension", "build_rational", "build_rotation", "build_spd", "build_vector",
    "build_probability_vector", "build_stochastic_matrix", "build_gaussian", "build_ula_setting",
    "build_dk_setting", "dimensions", "rationals", "rotations", "spd_matrices", "vectors",
    "probability_vectors", "stochastic_matrices", "gaussians", "step_sizes", "ula_settings", "dk_settings",
    "random_spd", "random_vector", "random_probability_vector", "random_stochastic_matrix",
    "random_gaussian", "random_ula_setting", "random_dk_setting", "RandomSource", "DrawSource",
    "build_vw_violation", "build_dk_step_violation", "random_vw_violation", "random_dk_step_violation",
    "shift_along", "ula_point", "VW_VIOLATIONS",
]

MAX_DIM = 5
MAX_CONDITION = 100
#: Default eigenvalue floor range (catalog L1.12: lambda in [0.05, 10]).
LAMBDA_MIN_RANGE = (Fraction(1, 20), Fraction(10))
#: Grid of a drawn rational in [lo, hi]: lo + (hi - lo) n / _GRID.
_GRID = 720


class RandomSource:
    """Draw from a seeded :class:`random.Random`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def boolean(self, p_true: float = 0.5) -> bool:
        return self.rng.random() < p_true

    def dirichlet(self, k: int, alpha: Fraction) -> tuple:
        """Dirichlet(alpha, ..., alpha) as exact Fractions: gamma variates, each rounded to a rational
        with denominator <= 10^9 (the law is the exact normalised vector of those rationals)."""
        w = [Fraction(self.rng.gammavariate(float(alpha), 1.0)).limit_denominator(10 ** 9) for _ in range(k)]
        w = [x if x > 0 else Fraction(1, 10 ** 9) for x in w]
        total = sum(w)
        return tuple(x / total for x in w)


class DrawSource:
    """Draw through hypothesis' ``draw`` (inside :func:`hypothesis.strategies.composite`)."""

    def __init__(self, draw: Callable) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        from hypothesis import strategies as st
        return self.draw(st.integers(lo, hi))

    def boolean(self, p_true: float = 0.5) -> bool:
        from hypothesis import strategies as st
        return self.draw(st.booleans())


def _check_range(lo, hi, name):
    lo, hi = exact_fraction(lo, f"{name} low"), exact_fraction(hi, f"{name} high")
    if hi < lo:
        raise InvalidParameter(name, (lo, hi), "an interval with low <= high")
    return lo, hi


def build_dimension(src, lo: int = 1, hi: int = MAX_DIM) -> int:
    if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
        raise InvalidParameter("dimension", (lo, hi), "integers 1 <= lo <= hi")
    return src.integer(lo, hi)


def build_rational(src, lo: Any, hi: Any, grid: int = _GRID) -> Fraction:
    """A rational on the grid lo + (hi - lo) n / grid, n = 0..grid (shrinks to lo)."""
    lo, hi = _check_range(lo, hi, "rational")
    return lo + (hi - lo) * Fraction(src.integer(0, grid), grid)


def build_rotation(src, d: int) -> tuple:
    """An exactly orthogonal d x d rational matrix: a product of Givens rotations."""
    q = tuple(tuple(Fraction(int(i == j)) for j in range(d)) for i in range(d))
    for i in range(d):
        for j in range(i + 1, d):
            num = src.integer(-6, 6)
            if num:
                q = exact_matmul(q, givens_rotation(d, i, j, Fraction(num, src.integer(1, 6))))
    return q


def build_spd(src, d: int | None = None, lambda_min_range=LAMBDA_MIN_RANGE,
              max_condition: Any = MAX_CONDITION, min_condition: Any = 1) -> SPDMatrix:
    """An SPD matrix with lambda_min in ``lambda_min_range`` and condition number <= max_condition.

    The eigenvalues are rational, lambda_min is attained, the rest lie in
    [lambda_min, kappa lambda_min] with kappa drawn in [1, max_condition] (log-spread by a cube).
    With ``min_condition`` > 1 (and d >= 2) the condition number is at least that.
    """
    d = build_dimension(src) if d is None else d
    lo, hi = _check_range(*lambda_min_range, "lambda_min_range")
    if lo <= 0:
        raise InvalidParameter("lambda_min_range", lambda_min_range, "positive eigenvalues")
    kmax = exact_fraction(max_condition, "max_condition")
    if kmax < 1:
        raise InvalidParameter("max_condition", max_condition, "a condition number >= 1")
    lam_min = build_rational(src, lo, hi)
    kappa = 1 + (kmax - 1) * Fraction(src.integer(0, 24), 24) ** 3
    rest = [lam_min * (1 + (kappa - 1) * Fraction(src.integer(0, 60), 60)) for _ in range(d - 1)]
    if d > 1 and src.boolean():
        rest[0] = lam_min * kappa  # attain the drawn condition number
    kmin = exact_fraction(min_condition, "min_condition")
    if d > 1 and kmin > 1:
        if not kmin <= kmax:
            raise InvalidParameter("min_condition", min_condition, f"a condition number <= max_condition={kmax}")
        rest[0] = max(rest[0], lam_min * kmin)
    eig = [lam_min] + rest
    perm = list(range(d))
    for i in range(d - 1, 0, -1):  # Fisher-Yates through the source
        k = src.integer(0, i)
        perm[i], perm[k] = perm[k], perm[i]
    return SPDMatrix(build_rotation(src, d), tuple(eig[p] for p in perm))


def build_vector(src, d: int, bound: Any = 3) -> tuple:
    b = exact_fraction(bound, "bound")
    return tuple(build_rational(src, -b, b) for _ in range(d))


def build_probability_vector(src, k: int | None = None, allow_zero: bool = False,
                             kmax: int = 6, concentration: Any = None) -> tuple:
    """A probability vector of exact Fractions on k states (2..kmax when k is None).

    With ``concentration`` alpha and a seeded source: a Dirichlet(alpha) draw (see
    :meth:`RandomSource.dirichlet`).  Otherwise integer weights in 0..60 (or 1..60) raised to a drawn
    power 1..3 (skewed laws) and normalised: Dirichlet-like, shrinking to the uniform law.
    """
    k = src.integer(2, kmax) if k is None else k
    if k < 1:
        raise InvalidParameter("k", k, "a number of states >= 1")
    if concentration is not None:
        a = exact_fraction(concentration, "concentration")
        if a <= 0:
            raise InvalidParameter("concentration", concentration, "a positive Dirichlet parameter")
        if hasattr(src, "dirichlet"):
            return src.dirichlet(k, a)
    skew = src.integer(1, 3)
    w = [src.integer(0 if allow_zero else 1, 60) ** skew for _ in range(k)]
    if sum(w) == 0:
        w[0] = 1
    total = sum(w)
    return tuple(Fraction(x, total) for x in w)


def build_stochastic_matrix(src, n: int, m: int | None = None, allow_zero: bool = False) -> tuple:
    m = n if m is None else m
    return tuple(build_probability_vector(src, m, allow_zero) for _ in range(n))


def build_gaussian(src, d: int, mean_bound: Any = 3, lambda_min_range=(Fraction(1, 10), Fraction(10)),
                   max_condition: Any = MAX_CONDITION) -> dict:
    """A starting law N(m, S): exact mean in [-mean_bound, mean_bound]^d and SPD covariance."""
    return {"mean": build_vector(src, d, mean_bound),
            "cov": build_spd(src, d, lambda_min_range, max_condition)}


def build_ula_setting(src, d: int | None = None, max_condition: Any = MAX_CONDITION,
                      step_fraction=(Fraction(0), Fraction(1))) -> dict:
    """A Gaussian target N(mu, A^{-1}) with alpha = lambda_min(A), L = lambda_max(A) (sometimes
    a smaller alpha / larger L), a step h in (0, alpha/(4 L^2)] and a starting law N(m0, S0)."""
    A = build_spd(src, d, max_condition=max_condition)
    d = A.dim
    alpha, L = A.lambda_min, A.lambda_max
    if src.boolean(0.25):
        alpha = alpha * Fraction(src.integer(1, 4), 4)
    if src.boolean(0.25):
        L = L * Fraction(src.integer(4, 8), 4)
    lo, hi = step_fraction
    frac = build_rational(src, lo, hi)
    h = alpha / (4 * L * L) * (frac if frac > 0 else Fraction(1, _GRID))
    start = build_gaussian(src, d)
    return {"d": d, "A": A, "mu": build_vector(src, d, 2), "alpha": alpha, "L": L, "h": h,
            "m0": start["mean"], "S0": start["cov"]}


def build_dk_setting(src, d: int | None = None, max_condition: Any = MAX_CONDITION) -> dict:
    """A Gaussian target N(0, A^{-1}) with m <= lambda_min(A), M >= lambda_max(A) (sometimes strictly),
    a step 0 < h <= 2/(m + M), a number of steps K and a starting law N(m0, S0) (sometimes pi itself):
    the setting of the Dalalyan-Karagulyan W2 bound."""
    A = build_spd(src, d, max_condition=max_condition)
    d = A.dim
    m = A.lambda_min * (1 if src.boolean(0.6) else Fraction(src.integer(2, 4), 4))
    M = A.lambda_max * (1 if src.boolean(0.6) else Fraction(src.integer(4, 8), 4))
    h = 2 / (m + M) * Fraction(src.integer(1, 60), 60)
    zero = (Fraction(0),) * d
    start = {"m0": zero, "S0": A.inverse()} if src.boolean(0.2) else {
        "m0": build_vector(src, d, 3), "S0": build_spd(src, d, (Fraction(1, 10), Fraction(3)))}
    K = (0, 1, 5, 20, 80)[src.integer(0, 4)]
    return {"d": d, "A": A, "mu": zero, "m": m, "M": M, "h": h, "K": K, **start}


def ula_point(A: SPDMatrix, alpha, L, h, m0=None, S0=None, k=None) -> dict:
    """A ULA parameter point {d, A, mu = 0, alpha, L, h, m0, S0[, k]} (start at N(0, A^{-1}) by default)."""
    zero = (Fraction(0),) * A.dim
    out = {"d": A.dim, "A": A, "mu": zero, "alpha": alpha, "L": L, "h": h,
           "m0": zero if m0 is None else m0, "S0": A.inverse() if S0 is None else S0}
    if k is not None:
        out["k"] = k
    return out


def shift_along(A: SPDMatrix, eigenvalue: Fraction, c: Any) -> tuple:
    """c times the eigenvector of ``eigenvalue`` (exact): a mean shift along one mode of A."""
    v = A.eigenvector(A.eigenvalues.index(eigenvalue))
    return tuple(exact_fraction(c, "c") * x for x in v)


VW_VIOLATIONS = ("step", "step_to_stability", "lsi", "smooth")


def build_vw_violation(src, drop: str, k: int | None = None) -> dict:
    """A ULA setting (as :func:`build_ula_setting`, target mean 0) that breaks exactly the one VW
    assumption ``drop``, chosen where the VW bounds then truly fail on Gaussian targets:

    * ``step``: 1-D, h lam in [1.7, 1.95] (above alpha/(4L^2), still stable), mean shift >= 60;
    * ``step_to_stability``: h just below 2/lambda_max, started at pi_h (the stationary bias ~ 1/(2 - h lambda));
    * ``lsi``: alpha = L = lambda_max > lambda_min (condition >= 10), h = alpha/(4L^2), mean shift 100 along
      the lambda_min mode (which contracts far slower than e^{-alpha h});
    * ``smooth``: alpha = L = lambda_min < lambda_max (condition >= 10), h = 1/(4 lambda_min): the lambda_max
      mode is unstable.
    """
    if drop == "step":
        lam = Fraction(src.integer(1, 40), 4)
        A = SPDMatrix.diagonal((lam,))
        return ula_point(A, lam, lam, Fraction(src.integer(34, 39), 20) / lam, m0=(Fraction(60 + src.integer(0, 20)),), k=k)
    if drop == "step_to_stability":
        A = build_spd(src, src.integer(1, 3), max_condition=10)
        h = 2 / A.lambda_max * (1 - Fraction(1, 200 * A.dim * (int(A.condition_number) + 1)))
        stationary = A.map_exact(lambda x: 1 / (x * (1 - h * x / 2)))
        return ula_point(A, A.lambda_min, A.lambda_max, h, S0=stationary, k=k)
    if drop in ("lsi", "smooth"):
        A = build_spd(src, src.integer(2, 4), min_condition=10)
        if drop == "lsi":
            return ula_point(A, A.lambda_max, A.lambda_max, 1 / (4 * A.lambda_max),
                             m0=shift_along(A, A.lambda_min, 100), k=k)
        return ula_point(A, A.lambda_min, A.lambda_min, 1 / (4 * A.lambda_min), m0=shift_along(A, A.lambda_max, 1), k=k)
    raise InvalidParameter("drop", drop, f"one of {VW_VIOLATIONS}")


def build_dk_step_violation(src) -> dict:
    """A Dalalyan-Karagulyan setting with 2/(m + M) < h < 2/M (condition 4-6), K = 10 and a mean shift
    1000 along the lambda_max mode, which then contracts by |1 - hM| > 1 - hm."""
    d = src.integer(2, 3)
    m = Fraction(src.integer(1, 20), 4)
    M = m * src.integer(4, 6)
    eig = (m, M) + tuple(m * Fraction(src.integer(4, 12), 4) for _ in range(d - 2))
    A = SPDMatrix(build_rotation(src, d), eig)
    return {"d": d, "A": A, "mu": (Fraction(0),) * d, "m": m, "M": M, "h": (2 / (m + M) + 2 / M) / 2, "K": 10,
            "m0": shift_along(A, M, 1000), "S0": A.inverse()}


# ----------------------------------------------------------------------------- hypothesis strategies

def _strategy(builder):
    # hypothesis is a test dependency: imported only when a strategy is requested
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw, *args, **kwargs):
        return builder(DrawSource(draw), *args, **kwargs)
    return strategy


def dimensions(lo: int = 1, hi: int = MAX_DIM):
    """Dimensions lo..hi (default 1-5)."""
    return _strategy(build_dimension)(lo, hi)


def rationals(lo: Any, hi: Any, grid: int = _GRID):
    """Exact rationals on a grid of [lo, hi]."""
    return _strategy(build_rational)(lo, hi, grid)


def rotations(d: int):
    """Exactly orthogonal rational d x d matrices."""
    return _strategy(build_rotation)(d)


def spd_matrices(dim: int | None = None, lambda_min_range=LAMBDA_MIN_RANGE,
                 max_condition: Any = MAX_CONDITION, min_condition: Any = 1):
    """:class:`SPDMatrix` with exact spectrum, dimension 1-5 unless given, condition <= 100."""
    return _strategy(build_spd)(dim, lambda_min_range, max_condition, min_condition)


def vectors(d: int, bound: Any = 3):
    return _strategy(build_vector)(d, bound)


def probability_vectors(k: int | None = None, allow_zero: bool = False, kmax: int = 6):
    """Exact probability vectors on k states (2..kmax when k is None)."""
    return _strategy(build_probability_vector)(k, allow_zero, kmax)


def stochastic_matrices(n: int, m: int | None = None, allow_zero: bool = False):
    """Exact n x m row-stochastic matrices."""
    return _strategy(build_stochastic_matrix)(n, m, allow_zero)


def gaussians(d: int, mean_bound: Any = 3, lambda_min_range=(Fraction(1, 10), Fraction(10)),
              max_condition: Any = MAX_CONDITION):
    """Starting laws {"mean": tuple, "cov": SPDMatrix}."""
    return _strategy(build_gaussian)(d, mean_bound, lambda_min_range, max_condition)


def dk_settings(d: int | None = None, max_condition: Any = MAX_CONDITION):
    """Dicts {d, A, mu, m, M, h, K, m0, S0} inside the assumptions of the Dalalyan-Karagulyan bound."""
    return _strategy(build_dk_setting)(d, max_condition)


def step_sizes(alpha: Any, L: Any):
    """ULA steps in (0, alpha/(4 L^2)]."""
    hmax = exact_fraction(alpha, "alpha") / (4 * exact_fraction(L, "L") ** 2)
    return rationals(0, hmax).map(lambda h: h if h > 0 else hmax / _GRID)


def ula_settings(d: int | None = None, max_condition: Any = MAX_CONDITION,
                 step_fraction=(Fraction(0), Fraction(1))):
    """Dicts {d, A, mu, alpha, L, h, m0, S0} inside the assumptions of the VW lemma."""
    return _strategy(build_ula_setting)(d, max_condition, step_fraction)


# ----------------------------------------------------------------------------- seeded samplers

def random_spd(rng: random.Random, d: int | None = None, **kw) -> SPDMatrix:
    return build_spd(RandomSource(rng), d, **kw)


def random_vector(rng: random.Random, d: int, bound: Any = 3) -> tuple:
    return build_vector(RandomSource(rng), d, bound)


def random_probability_vector(rng: random.Random, k: int | None = None, allow_zero: bool = False,
                              kmax: int = 6, concentration: Any = None) -> tuple:
    return build_probability_vector(RandomSource(rng), k, allow_zero, kmax, concentration)


def random_stochastic_matrix(rng: random.Random, n: int, m: int | None = None,
                             allow_zero: bool = False) -> tuple:
    return build_stochastic_matrix(RandomSource(rng), n, m, allow_zero)


def random_gaussian(rng: random.Random, d: int, **kw) -> dict:
    return build_gaussian(RandomSource(rng), d, **kw)


def random_ula_setting(rng: random.Random, d: int | None = None, **kw) -> dict:
    return build_ula_setting(RandomSource(rng), d, **kw)


def random_dk_setting(rng: random.Random, d: int | None = None, **kw) -> dict:
    return build_dk_setting(RandomSource(rng), d, **kw)


def random_vw_violation(rng: random.Random, drop: str, k: int | None = None) -> dict:
    return build_vw_violation(RandomSource(rng), drop, k)


def random_dk_step_violation(rng: random.Random) -> dict:
    return build_dk_step_violation(RandomSource(rng))
