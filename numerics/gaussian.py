"""Gaussian family: exact evaluators and independent high-precision routes.

Main contents
-------------
* Validation at the public boundary: :func:`exact_vector`, :func:`exact_matrix`,
  :func:`exact_spd` turn user input into exact :class:`fractions.Fraction` arrays, or raise
  :class:`~numerics.errors.InvalidParameter` naming the parameter (NaN, floats, wrong shapes,
  asymmetric or non positive-definite covariances are refused).
* :func:`kl_gaussian`: the closed form of KL(N(m_p, S_p) || N(m_q, S_q)) evaluated with exact
  rational linear algebra; only the final logarithm is rounded, so equal laws give exactly 0.
  It is the closed form and is never used by a numeric route of the catalog.
* :func:`lattice_integrals`: the trapezoidal rule on a lattice, in Arb ball arithmetic
  (python-flint), for analytic integrands with Gaussian decay.  Its error is aliasing plus
  truncation, both below 10^-(dps+5) by the choice of step and window made here.
* :func:`hermite_expectation`: tensor Gauss-Hermite cubature for E f(m + L z), z ~ N(0, I);
  exact for polynomials of degree < 2n in each coordinate.
* Independent references used by ``proofs_check/catalog/gaussian.py``, one per statement:
  :func:`kernel_moments` (M2.1), :func:`quadratic_form_expectation` (M2.2),
  :func:`affine_image_moments` / :func:`expectations_under` (M2.3),
  :func:`product_moments` (M2.4), :func:`kl_by_quadrature`, :func:`kl_by_cubature`,
  :func:`kl_enclosure_1d` (M2.5), :func:`conditional_moments` (LB.2), :func:`stein_sides` (LB.1).
  Every density in them is a kernel exp(-q/2) divided by its own quadrature integral
  (self-normalised), so no reference reuses the normalising constant of M2.1.

Arb precision is set only through :func:`numerics.precision.flint_workdps` and mpmath precision
only through :func:`numerics.precision.workdps` (callers enter it); both restore on exit.

References: Maleki & Pourmoazemi 2025 (arXiv 2511.11746), Sec. 2; Trefethen & Weideman,
"The exponentially convergent trapezoidal rule", SIAM Review 56 (2014); Stein 1981.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Callable, Sequence

import flint
import mpmath
from flint import arb

from numerics.errors import InvalidParameter
from numerics.precision import DEFAULT_DPS, check_dps, exact_fraction, flint_workdps, workdps

__all__ = [
    "affine_image_moments",
    "arb_value",
    "conditional_moments",
    "exact_matrix",
    "exact_fraction",
    "exact_spd",
    "exact_vector",
    "expectations_under",
    "hermite_expectation",
    "kernel_moments",
    "kl_by_cubature",
    "kl_by_quadrature",
    "kl_enclosure_1d",
    "kl_gaussian",
    "lattice_integrals",
    "product_moments",
    "quadratic_form_expectation",
    "relative_radius",
    "stein_sides",
    "TEST_FUNCTIONS",
]

Vec = tuple
Mat = tuple

#: Digits beyond ``dps`` that the lattice rule aims for (aliasing and truncation each below
#: 10^-(dps+5)); the pass rule is 10^-(dps-10), so 15 digits are left for cancellation in
#: moments and for the polynomial factors of the integrands.
LATTICE_EXTRA_DIGITS = 5
#: Guard digits of the Arb working precision over ``dps`` (sums of ~10^4 rounded terms).
ARB_GUARD_DIGITS = 10


# ----------------------------------------------------------------------------- validation

def _rows(value: object, name: str, valid: str) -> list:
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy arrays, sympy matrices
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidParameter(name, value, valid)
    return list(value)


def exact_vector(value: object, name: str, dim: int | None = None) -> Vec:
    """A vector of exact numbers (list, tuple, numpy array, sympy column) as Fractions."""
    valid = f"a vector of {dim if dim else 'd >= 1'} exact numbers"
    rows = _rows(value, name, valid)
    if rows and all(isinstance(r, list) and len(r) == 1 for r in rows):
        rows = [r[0] for r in rows]  # a column matrix
    if not rows or any(isinstance(r, (list, tuple)) for r in rows) or (dim and len(rows) != dim):
        raise InvalidParameter(name, value, valid,
                               hint=f"got {len(rows)} entries" if rows else "got no entries")
    return tuple(exact_fraction(v, f"{name}[{i}]") for i, v in enumerate(rows))


def exact_matrix(value: object, name: str, shape: tuple[int, int] | None = None) -> Mat:
    """A rectangular matrix of exact numbers as a tuple of tuples of Fractions."""
    valid = (f"a {shape[0]}x{shape[1]} matrix" if shape else "a rectangular matrix") + \
        " of exact numbers"
    rows = [_rows(r, name, valid) for r in _rows(value, name, valid)]
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows) or \
            (shape and (len(rows), len(rows[0])) != tuple(shape)):
        raise InvalidParameter(name, value, valid)
    return tuple(tuple(exact_fraction(v, f"{name}[{i}][{j}]") for j, v in enumerate(r))
                 for i, r in enumerate(rows))


def exact_spd(value: object, name: str, dim: int | None = None) -> Mat:
    """A symmetric positive-definite matrix (exactly: symmetric entries, positive pivots)."""
    valid = f"a symmetric positive-definite {dim or 'd'}x{dim or 'd'} matrix of exact numbers"
    m = exact_matrix(value, name)
    d = len(m)
    if len(m[0]) != d or (dim is not None and d != dim):
        raise InvalidParameter(name, value, valid, hint=f"got shape {d}x{len(m[0])}")
    if any(m[i][j] != m[j][i] for i in range(d) for j in range(i)):
        raise InvalidParameter(name, value, valid, hint="the matrix is not symmetric")
    if min(_pivots(m)) <= 0:
        raise InvalidParameter(name, value, valid, hint="the matrix is not positive definite")
    return m


def _pivots(m: Mat) -> list[Fraction]:
    """Pivots of Gaussian elimination without row exchange (all > 0 iff a symmetric m is PD)."""
    a = [list(r) for r in m]
    d = len(a)
    out = []
    for k in range(d):
        p = a[k][k]
        out.append(p)
        if p == 0:
            return out
        for i in range(k + 1, d):
            f = a[i][k] / p
            for j in range(k, d):
                a[i][j] -= f * a[k][j]
    return out


def _det(m: Mat) -> Fraction:
    return math.prod(_pivots(m), start=Fraction(1))


def _solve(m: Mat, b: Sequence[Fraction]) -> list[Fraction]:
    """Exact solution of m x = b for a positive-definite m (no pivoting needed)."""
    d = len(m)
    a = [list(m[i]) + [b[i]] for i in range(d)]
    for k in range(d):
        for i in range(k + 1, d):
            f = a[i][k] / a[k][k]
            for j in range(k, d + 1):
                a[i][j] -= f * a[k][j]
    x = [Fraction(0)] * d
    for i in reversed(range(d)):
        x[i] = (a[i][d] - sum(a[i][j] * x[j] for j in range(i + 1, d))) / a[i][i]
    return x


def _inverse(m: Mat) -> Mat:
    d = len(m)
    cols = [_solve(m, [Fraction(int(i == j)) for i in range(d)]) for j in range(d)]
    return tuple(tuple(cols[j][i] for j in range(d)) for i in range(d))


def _is_array(value: object) -> bool:
    return isinstance(value, (list, tuple)) or (hasattr(value, "tolist")
                                                and not isinstance(value, (str, bytes)))


def _gaussian_args(mean, cov, mname: str, cname: str) -> tuple[Vec, Mat]:
    """Validate a (mean, covariance) pair; scalars mean d = 1 (cov is then the variance)."""
    if not _is_array(mean):
        mean = [mean]
        if not _is_array(cov):
            cov = [[cov]]
    m = exact_vector(mean, mname)
    s = exact_spd(cov, cname, len(m))
    return m, s


# ----------------------------------------------------------------------------- closed form

def kl_gaussian(mean_p, cov_p, mean_q, cov_q, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """KL(N(mean_p, cov_p) || N(mean_q, cov_q)) by the closed form (Maleki & Pourmoazemi,
    Prop 2.13): [tr(S_q^-1 S_p) + dm^T S_q^-1 dm - d + log(det S_q / det S_p)] / 2.

    Inputs are exact (int, Fraction, str, sympy Rational, mpf; in 1-D a mean and a variance
    may be scalars).  With r = det S_p / det S_q, the value is [R + (r - 1) - log1p(r - 1)] / 2
    where R = tr(S_q^-1 S_p) - d - (r - 1) + dm^T S_q^-1 dm and r - 1 are exact rationals: only
    log1p is rounded, and the working precision grows until the cancellation in
    (r - 1) - log1p(r - 1) (near-equal laws) costs none of the ``dps`` digits.  Equal laws give
    exactly 0.
    """
    dps = check_dps(dps)
    mp_, sp_ = _gaussian_args(mean_p, cov_p, "mean_p", "cov_p")
    mq_, sq_ = _gaussian_args(mean_q, cov_q, "mean_q", "cov_q")
    if len(mq_) != len(mp_):
        raise InvalidParameter("mean_q", mean_q, f"a vector of dimension {len(mp_)} (as mean_p)")
    d = len(mp_)
    inv_q = _inverse(sq_)
    dm = [mq_[i] - mp_[i] for i in range(d)]
    u = _det(sp_) / _det(sq_) - 1
    rational = sum(inv_q[i][k] * sp_[k][i] for i in range(d) for k in range(d)) - d - u + \
        sum(dm[i] * inv_q[i][j] * dm[j] for i in range(d) for j in range(d))
    if u == 0:
        with workdps(dps):
            return mpmath.mpf(rational.numerator) / rational.denominator / 2
    extra = 10
    while True:
        with workdps(dps + extra):
            uu = mpmath.mpf(u.numerator) / u.denominator
            value = (mpmath.mpf(rational.numerator) / rational.denominator
                     + uu - mpmath.log1p(uu)) / 2
            # digits lost to cancellation: log10 of (size of the terms) / (size of the result)
            lost = int(mpmath.ceil(mpmath.log10(abs(uu) / value))) if value > 0 else dps
        if lost + 5 <= extra or extra > 4 * dps:
            with workdps(dps):
                return +value
        extra = lost + 10


# ----------------------------------------------------------------------------- Arb helpers

def _arb_dps(dps: int):
    """Arb working precision for a route run at ``dps`` digits (restored on exit)."""
    return flint_workdps(check_dps(dps) + ARB_GUARD_DIGITS)


def _arb(x) -> arb:
    if isinstance(x, arb):
        return x
    if isinstance(x, Fraction):
        return arb(x.numerator) / x.denominator
    if isinstance(x, int):
        return arb(x)
    if isinstance(x, mpmath.mpf):
        man, exp = x.man_exp
        return arb(int(man)) * arb(2) ** int(exp)
    raise TypeError(f"cannot convert {type(x).__name__} to arb")


def _to_mpf(x: arb) -> mpmath.mpf:
    """The midpoint of an Arb ball as an mpf (exact: both are binary floating point)."""
    man, exp = x.mid().man_exp()
    return mpmath.mpf((int(man), int(exp)))


def _quad_form(p: Sequence[Sequence[arb]], v: Sequence[arb]) -> arb:
    d = len(v)
    return sum((p[i][j] * v[i] * v[j] for i in range(d) for j in range(d)), arb(0))


def _kernel(mean: Vec, cov: Mat) -> Callable[[Sequence[arb]], arb]:
    """x -> exp(-(x - mean)^T cov^-1 (x - mean) / 2), the unnormalised Gaussian kernel."""
    inv = _inverse(cov)
    d = len(mean)
    m = [_arb(v) for v in mean]
    # -q/2 = sum_i a_ii u_i^2 + sum_{i<j} a_ij u_i u_j with a_ii = -P_ii/2, a_ij = -P_ij
    diag = [_arb(-inv[i][i] / 2) for i in range(d)]
    off = [(i, j, _arb(-inv[i][j])) for i in range(d) for j in range(i + 1, d)]
    if d == 1:
        m0, a0 = m[0], diag[0]

        def k1(x):
            u = x[0] - m0
            return (a0 * u * u).exp()
        return k1
    if d == 2:
        m0, m1, a0, a1, b = m[0], m[1], diag[0], diag[1], off[0][2]

        def k2(x):
            u0, u1 = x[0] - m0, x[1] - m1
            return ((a0 * u0 + b * u1) * u0 + a1 * u1 * u1).exp()
        return k2

    def k(x):
        u = [x[i] - m[i] for i in range(d)]
        e = sum((diag[i] * u[i] * u[i] for i in range(d)), arb(0))
        return (e + sum((a * u[i] * u[j] for i, j, a in off), arb(0))).exp()
    return k


def _lattice_points(q: Sequence[Sequence[arb]], r2: arb, counts: list[int]):
    """Integer vectors j with j^T q j <= r2 inside the box |j_i| <= counts_i (2-D rows are
    solved for their end points, rounded outwards)."""
    d = len(counts)
    if d == 1:
        return ((j,) for j in range(-counts[0], counts[0] + 1))
    if d == 2:
        a, b, c = q[0][0], q[0][1], q[1][1]

        def rows():
            for j0 in range(-counts[0], counts[0] + 1):
                disc = (b * b - a * c) * j0 * j0 + c * r2
                if disc < 0:
                    continue
                root = disc.sqrt()
                lo = ((-b * j0 - root) / c).floor().unique_fmpz()
                hi = ((-b * j0 + root) / c).ceil().unique_fmpz()
                for j1 in range(int(lo), int(hi) + 1):
                    yield (j0, j1)
        return rows()
    return (j for j in itertools.product(*[range(-n, n + 1) for n in counts])
            if _quad_form(q, [arb(k) for k in j]) <= r2)


def _min_correlation_eigenvalue(shape: Mat) -> arb:
    """lambda_min of the correlation matrix of ``shape`` (exact for d <= 2; for d >= 3 the lower
    bound 1 / tr(corr^-1))."""
    d = len(shape)
    if d == 1:
        return arb(1)
    if d == 2:
        rho = abs(_arb(shape[0][1])) / (_arb(shape[0][0]) * _arb(shape[1][1])).sqrt()
        return 1 - rho
    inv = _inverse(shape)
    return 1 / sum((_arb(inv[i][i]) * _arb(shape[i][i]) for i in range(d)), arb(0))


def lattice_integrals(integrand: Callable[[list], list], center: Sequence, cov_env: Mat,
                      dps: int, *, margin: float = 0.0, shape: Mat | None = None,
                      frequency: float = 0.0, extra_digits: float = 0.0) -> list[mpmath.mpf]:
    """Integrals over R^d of the components of ``integrand`` by the trapezoidal rule.

    ``integrand(x)`` takes a list of Arb numbers and returns a list of Arb numbers.  The rule
    is prod(h) sum_j f(center + (h_i j_i)) over the lattice points inside the ellipse
    (x - c)^T cov_env^-1 (x - c) <= R^2.  Requirements on the integrand: analytic, bounded by
    a polynomial times the envelope exp(-(x-c)^T cov_env^-1 (x-c)/2) shifted by at most
    ``margin`` envelope units, no narrower than a Gaussian of covariance ``shape`` (default
    ``cov_env``) and oscillating with angular frequency at most ``frequency``.

    Error: the steps are h_i = tau sqrt(shape_ii).  Poisson summation bounds the aliasing
    error by exp(-2 pi^2 min_k |shape^{1/2} H^-1 k - shift|^2) with k over the nonzero integer
    vectors; with D = dps + 5 + extra_digits and lambda = lambda_min(corr(shape)),
    tau = sqrt(lambda) / (sqrt(D ln 10 / (2 pi^2)) + sqrt(tr shape) frequency / (2 pi)) puts it
    below 10^-D.  R = sqrt(2 D ln 10) + margin keeps the truncated mass below 10^-D times the
    polynomial factor.  Callers add ``extra_digits`` where the integral is much smaller than
    the envelope's mass (oscillating integrands).
    """
    dps = check_dps(dps)
    d = len(center)
    shape = cov_env if shape is None else shape
    with _arb_dps(dps):
        digits = dps + LATTICE_EXTRA_DIGITS + _arb(Fraction(extra_digits))
        ln10 = arb(10).log()
        two_pi = 2 * arb.pi()
        tau = _min_correlation_eigenvalue(shape).sqrt() / (
            (digits * ln10 * 2).sqrt() / two_pi
            + _arb(sum(shape[i][i] for i in range(d))).sqrt() * _arb(Fraction(frequency)) / two_pi)
        h = [tau * _arb(shape[i][i]).sqrt() for i in range(d)]
        radius = (2 * digits * ln10).sqrt() + _arb(Fraction(margin))
        inv = _inverse(cov_env)
        q = [[_arb(inv[i][j]) * h[i] * h[j] for j in range(d)] for i in range(d)]
        c = [_arb(v) for v in center]
        counts = [int((radius * _arb(cov_env[i][i]).sqrt() / h[i]).ceil().unique_fmpz())
                  for i in range(d)]
        totals = None
        for j in _lattice_points(q, radius * radius, counts):
            values = integrand([c[i] + h[i] * j[i] for i in range(d)])
            if totals is None:
                totals = values
            else:
                for i, v in enumerate(values):
                    totals[i] += v
        scale = math.prod(h, start=arb(1))
        return [_to_mpf(t * scale) for t in totals]


# ----------------------------------------------------------------------------- cubature

def hermite_expectation(fn: Callable[[list], list], mean: Sequence, root: Sequence[Sequence],
                        n: int = 3) -> list[mpmath.mpf]:
    """E fn(mean + root z), z ~ N(0, I), by the n-point Gauss-Hermite rule in each coordinate.

    At the current mpmath precision.  Exact (up to rounding) when fn(mean + root z) is a
    polynomial of degree < 2n in each coordinate of z.
    """
    nodes, weights = mpmath.gauss_quadrature(n, "hermite")  # weight exp(-t^2)
    scale = mpmath.sqrt(2)
    norm = mpmath.sqrt(mpmath.pi)
    d = len(mean)
    m = [mpmath.mpf(v) if not isinstance(v, Fraction) else mpmath.mpf(v.numerator) / v.denominator
         for v in mean]
    totals = None
    for idx in itertools.product(range(n), repeat=d):
        z = [scale * nodes[k] for k in idx]
        w = math.prod((weights[k] / norm for k in idx), start=mpmath.mpf(1))
        x = [m[i] + mpmath.fsum(root[i][k] * z[k] for k in range(d)) for i in range(d)]
        values = [w * v for v in fn(x)]
        totals = values if totals is None else [t + v for t, v in zip(totals, values)]
    return totals


def _mp(x: Fraction) -> mpmath.mpf:
    return mpmath.mpf(x.numerator) / x.denominator


def _mp_matrix(m: Mat) -> mpmath.matrix:
    return mpmath.matrix([[_mp(v) for v in row] for row in m])


# ----------------------------------------------------------------------------- references

def kernel_moments(mean: Vec, cov: Mat, dps: int) -> dict:
    """Mass, mean and covariance of the kernel exp(-(x-m)^T S^-1 (x-m)/2), by the lattice rule.

    Returns ``{"mass", "mean", "covariance"}`` (mean and covariance of the kernel normalised by
    its own quadrature mass); ``mass`` is what the normalising constant must equal.
    """
    with _arb_dps(dps):
        d = len(mean)
        kern = _kernel(mean, cov)
        m = [_arb(v) for v in mean]

        def f(x):
            k = kern(x)
            u = [x[i] - m[i] for i in range(d)]
            return [k] + [u[i] * k for i in range(d)] + \
                [u[i] * u[j] * k for i in range(d) for j in range(d)]
        values = lattice_integrals(f, mean, cov, dps)
        mass = values[0]
        first = [values[1 + i] / mass for i in range(d)]
        second = values[1 + d:]
        return {"mass": mass,
                "mean": [_mp(mean[i]) + first[i] for i in range(d)],
                "covariance": [[second[i * d + j] / mass - first[i] * first[j] for j in range(d)]
                               for i in range(d)]}


def quadratic_form_expectation(a: Mat, mean: Vec, cov: Mat, dps: int, method: str = "lattice"):
    """E[(x - m)^T A (x - m)] for x ~ N(m, S): by the lattice rule on the self-normalised
    density (``method="lattice"``) or by Gauss-Hermite cubature in whitened coordinates
    (``"hermite"``, exact for this quadratic integrand)."""
    d = len(mean)
    if method == "hermite":
        root = mpmath.cholesky(_mp_matrix(cov))
        am = _mp_matrix(a)
        m = [_mp(v) for v in mean]

        def g(x):
            u = [x[i] - m[i] for i in range(d)]
            return [mpmath.fsum(u[i] * am[i, j] * u[j] for i in range(d) for j in range(d))]
        return hermite_expectation(g, mean, [[root[i, j] for j in range(d)] for i in range(d)])[0]
    with _arb_dps(dps):
        kern = _kernel(mean, cov)
        m = [_arb(v) for v in mean]
        aa = [[_arb(v) for v in row] for row in a]

        def f(x):
            k = kern(x)
            u = [x[i] - m[i] for i in range(d)]
            return [k, _quad_form(aa, u) * k]
        mass, value = lattice_integrals(f, mean, cov, dps)
        return value / mass


#: Test functions of the reparameterisation check (2-D), evaluated by :func:`_test_values`.
TEST_FUNCTIONS = {
    "exp": "exp(x1/2 - x2/3)",
    "poly": "x1^2 x2 - x2^3 + 2 x1 x2 - x1 + 3",
}
_EXP_C = (Fraction(1, 2), Fraction(-1, 3))


def _test_values(x) -> list:
    x1, x2 = x
    return [(_arb(_EXP_C[0]) * x1 + _arb(_EXP_C[1]) * x2).exp(),
            x1 * x1 * x2 - x2 ** 3 + 2 * x1 * x2 - x1 + 3]


def affine_image_moments(mu: Vec, a: Mat, dps: int) -> dict:
    """Mean, covariance and E f of x = mu + A z, z ~ N(0, I_2), by the lattice rule over z.

    ``f`` runs over :data:`TEST_FUNCTIONS`; z's density is its kernel over its quadrature mass.
    """
    with _arb_dps(dps):
        d = len(mu)
        zero, eye = (Fraction(0),) * d, tuple(tuple(Fraction(int(i == j)) for j in range(d))
                                             for i in range(d))
        kern = _kernel(zero, eye)
        muv = [_arb(v) for v in mu]
        aa = [[_arb(v) for v in row] for row in a]
        # exp(c.x) shifts the mass by A^T c: a margin of |A^T c| + 1 envelope units covers it
        shift = math.sqrt(sum(float(sum(a[k][i] * _EXP_C[k] for k in range(d))) ** 2
                              for i in range(d)))

        def f(z):
            k = kern(z)
            x = [muv[i] + sum((aa[i][j] * z[j] for j in range(d)), arb(0)) for i in range(d)]
            return [k] + [x[i] * k for i in range(d)] + \
                [x[i] * x[j] * k for i in range(d) for j in range(d)] + \
                [v * k for v in _test_values(x)]
        values = lattice_integrals(f, zero, eye, dps, margin=shift + 1)
        mass = values[0]
        mean = [values[1 + i] / mass for i in range(d)]
        second = values[1 + d:1 + d + d * d]
        cov = [[second[i * d + j] / mass - mean[i] * mean[j] for j in range(d)] for i in range(d)]
        tests = {name: v / mass for name, v in zip(TEST_FUNCTIONS, values[1 + d + d * d:])}
        return {"mean": mean, "covariance": cov, **{f"E_{k}": v for k, v in tests.items()}}


def expectations_under(mean: Vec, cov: Mat, dps: int) -> dict:
    """E f(x) for x ~ N(mean, cov) (2-D), f in :data:`TEST_FUNCTIONS`, by the lattice rule over
    x on the kernel exp(-(x-m)^T S^-1 (x-m)/2) divided by its quadrature mass."""
    with _arb_dps(dps):
        kern = _kernel(mean, cov)
        d = len(mean)
        shift = math.sqrt(sum(float(cov[i][j] * _EXP_C[i] * _EXP_C[j])
                              for i in range(d) for j in range(d)))

        def f(x):
            k = kern(x)
            return [k] + [v * k for v in _test_values(x)]
        values = lattice_integrals(f, mean, cov, dps, margin=shift + 1)
        return {f"E_{k}": v / values[0] for k, v in zip(TEST_FUNCTIONS, values[1:])}


def product_moments(mean_p: Vec, cov_p: Mat, mean_q: Vec, cov_q: Mat, dps: int) -> dict:
    """Integral, mean and covariance of x -> N(x; m_p, S_p) N(x; m_q, S_q) by the lattice rule.

    Each density is its kernel over its own quadrature mass.  Returns ``{"normaliser", "mean",
    "covariance"}`` (the mean and covariance of the product normalised to mass 1).
    """
    with _arb_dps(dps):
        d = len(mean_p)
        kp, kq = _kernel(mean_p, cov_p), _kernel(mean_q, cov_q)
        zp = lattice_integrals(lambda x: [kp(x)], mean_p, cov_p, dps)[0]
        zq = lattice_integrals(lambda x: [kq(x)], mean_q, cov_q, dps)[0]
        # window: the product is below each kernel, so the tighter one (smaller det) is an
        # envelope; the product's mass sits between the means, within their Mahalanobis gap
        env_m, env_s, other = (mean_p, cov_p, mean_q) if _det(cov_p) <= _det(cov_q) else \
            (mean_q, cov_q, mean_p)
        dm = [other[i] - env_m[i] for i in range(d)]
        gap = math.sqrt(float(sum(dm[i] * v for i, v in enumerate(_solve(env_s, dm)))))
        inv_p, inv_q = _inverse(cov_p), _inverse(cov_q)
        # the product's curvature is Lam_p + Lam_q (read off its exponent): it sets the steps
        shape = _inverse(tuple(tuple(inv_p[i][j] + inv_q[i][j] for j in range(d))
                               for i in range(d)))

        def f(x):
            k = kp(x) * kq(x)
            return [k] + [x[i] * k for i in range(d)] + \
                [x[i] * x[j] * k for i in range(d) for j in range(d)]
        values = lattice_integrals(f, env_m, env_s, dps, margin=gap + 2, shape=shape)
        mass = values[0]
        mean = [values[1 + i] / mass for i in range(d)]
        second = values[1 + d:]
        return {"normaliser": mass / (zp * zq), "mean": mean,
                "covariance": [[second[i * d + j] / mass - mean[i] * mean[j] for j in range(d)]
                               for i in range(d)]}


def kl_by_quadrature(mean_p, var_p, mean_q, var_q) -> mpmath.mpf:
    """1-D KL(p || q) = int p (log p - log q) dx by ``mpmath.quad`` (tanh-sinh).

    At the current mpmath precision; log-densities are written out from the definition, the
    line is split at the mean of p and cut at W = sqrt(2 (dps + 10) ln 10) standard deviations
    (p < 10^-(dps + 10) beyond).
    """
    m, v = _mp(mean_p), _mp(var_p)
    mq, vq = _mp(mean_q), _mp(var_q)
    cp = -mpmath.log(2 * mpmath.pi * v) / 2
    cq = -mpmath.log(2 * mpmath.pi * vq) / 2

    def f(x):
        lp = cp - (x - m) ** 2 / (2 * v)
        return mpmath.exp(lp) * (lp - cq + (x - mq) ** 2 / (2 * vq))
    w = mpmath.sqrt(2 * (mpmath.mp.dps + 10) * mpmath.log(10) * v)
    return mpmath.quad(f, [m - w, m, m + w])


def entropy_by_cubature(mean: Vec, cov: Mat, n: int = 3) -> mpmath.mpf:
    """-E[log p(X)], X ~ N(mean, cov), by Gauss-Hermite cubature of the log-density's definition.

    log p is quadratic in x, so the n = 3 rule is exact up to rounding (an independent route to
    the entropy: it evaluates the definition, not the closed form).  At the current precision.
    """
    d = len(mean)
    cm = _mp_matrix(cov)
    root = mpmath.cholesky(cm)
    inv = mpmath.inverse(cm)
    logdet = mpmath.log(mpmath.det(cm))
    m = [_mp(v) for v in mean]

    def neg_log_p(x):
        u = [x[i] - m[i] for i in range(d)]
        quad = mpmath.fsum(u[i] * inv[i, j] * u[j] for i in range(d) for j in range(d))
        return [d * mpmath.log(2 * mpmath.pi) / 2 + logdet / 2 + quad / 2]

    return hermite_expectation(neg_log_p, mean, [[root[i, j] for j in range(d)] for i in range(d)],
                               n)[0]


def kl_by_cubature(mean_p: Vec, cov_p: Mat, mean_q: Vec, cov_q: Mat, n: int = 3) -> mpmath.mpf:
    """E_p[log p(x) - log q(x)] by Gauss-Hermite cubature (n^d nodes) in p's whitened
    coordinates, with log-densities from the definition (mpmath det, LU solves).

    The integrand is quadratic in z, so the rule is exact for n >= 2 (up to rounding).  At the
    current mpmath precision.
    """
    d = len(mean_p)
    sp_, sq_ = _mp_matrix(cov_p), _mp_matrix(cov_q)
    mp_ = mpmath.matrix([_mp(v) for v in mean_p])
    mq_ = mpmath.matrix([_mp(v) for v in mean_q])
    root = mpmath.cholesky(sp_)
    log2pi = mpmath.log(2 * mpmath.pi)
    factors = [(m, mpmath.inverse(s), mpmath.log(mpmath.det(s))) for m, s in
               ((mp_, sp_), (mq_, sq_))]

    def log_density(x, m, inv, logdet):
        u = x - m
        return -(d * log2pi + logdet + (u.T * inv * u)[0]) / 2

    def g(x):
        xv = mpmath.matrix(x)
        return [log_density(xv, *factors[0]) - log_density(xv, *factors[1])]
    return hermite_expectation(g, list(mean_p), [[root[i, j] for j in range(d)]
                                                 for i in range(d)], n)[0]


def kl_enclosure_1d(mean_p, var_p, mean_q, var_q, dps: int) -> arb:
    """A rigorous Arb ball containing the 1-D KL(N(m_p, v_p) || N(m_q, v_q)).

    ``acb.integral`` of p (log p - log q) over [m_p - w, m_p + w] (log-densities written out,
    so the integrand is entire), plus the tail bound: with t = w / s_p,
    |log p - log q| <= K0 + K2 u^2 (u = x - m_p, K0 = |log(v_q/v_p)|/2 + dm^2/v_q,
    K2 = 1/(2 v_p) + 1/v_q) and Mills' inequalities give
    tail <= 2 phi(t) (K0 / t + K2 v_p (t + 1/t)).
    """
    dps = check_dps(dps)
    with _arb_dps(dps):
        m, v, mq, vq = (_arb(exact_fraction(x, n)) for x, n in
                        ((mean_p, "mean_p"), (var_p, "var_p"), (mean_q, "mean_q"),
                         (var_q, "var_q")))
        if not (v > 0 and vq > 0):
            raise InvalidParameter("var_p" if not v > 0 else "var_q",
                                   var_p if not v > 0 else var_q, "a positive variance")
        s = v.sqrt()
        t = (2 * (dps + 8) * arb(10).log()).sqrt()  # phi(t) < 10^-(dps + 8)
        w = t * s
        cp = -(2 * arb.pi() * v).log() / 2
        cq = -(2 * arb.pi() * vq).log() / 2
        m_c, v_c, mq_c, vq_c = (flint.acb(z) for z in (m, v, mq, vq))

        def integrand(x, analytic):
            lp = cp - (x - m_c) ** 2 / (2 * v_c)
            lq = cq - (x - mq_c) ** 2 / (2 * vq_c)
            return lp.exp() * (lp - lq)
        body = flint.acb.integral(integrand, m - w, m + w).real
        k0 = abs((vq / v).log()) / 2 + (m - mq) ** 2 / vq
        k2 = 1 / (2 * v) + 1 / vq
        phi = (-t * t / 2).exp() / (2 * arb.pi()).sqrt()
        tail = 2 * phi * (k0 / t + k2 * v * (t + 1 / t))
        return body + arb(0, tail.upper())


def conditional_moments(mean: Vec, cov: Mat, y: Vec, dps: int) -> dict:
    """Mean and variance of x given y for (x, y) ~ N(mean, cov) with x scalar (first coordinate),
    by the lattice rule over x of p(x, y) / int p(x, y) dx (joint kernel from the definition).
    """
    with _arb_dps(dps):
        d = len(mean)
        kern = _kernel(mean, cov)
        yy = [_arb(v) for v in y]
        inv = _inverse(cov)
        # step: the conditional s.d. is at least sqrt(lambda_min(cov)) >= 1/sqrt(tr cov^-1);
        # window: x's marginal s.d. around mean_x, widened by y's Mahalanobis radius (+2)
        sub = tuple(tuple(cov[i][j] for j in range(1, d)) for i in range(1, d))
        dy = [y[i] - mean[1 + i] for i in range(d - 1)]
        radius = math.sqrt(float(sum(dy[i] * v for i, v in enumerate(_solve(sub, dy)))))
        shape = ((1 / sum(inv[i][i] for i in range(d)),),)

        def f(x):
            k = kern([x[0]] + yy)
            return [k, x[0] * k, x[0] * x[0] * k]
        mass, first, second = lattice_integrals(f, (mean[0],), ((cov[0][0],),), dps,
                                                margin=radius + 2, shape=shape)
        m = first / mass
        return {"mean": m, "covariance": second / mass - m * m}


def stein_sides(cov: Mat, f_name: str, c: Vec, dps: int, phase: Fraction = Fraction(1, 3)) -> dict:
    """The four expectations of Stein's lemma for Z ~ N(0, cov) and f(z) = sin(c.z + phase) or
    exp(c.z), by the lattice rule on the self-normalised kernel.

    Returns ``E_z_f`` = E[Z f(Z)], ``E_grad`` = E[grad f(Z)], ``E_zz_f`` = E[(Z Z^T - cov) f(Z)],
    ``E_hess`` = E[hess f(Z)], with the derivatives written out by hand (c cos, -c c^T sin;
    c exp, c c^T exp).  The phase keeps both orders non-trivial (for an odd f the second-order
    sides vanish by symmetry).
    """
    if f_name not in ("sin", "exp"):
        raise InvalidParameter("f_name", f_name, "'sin' or 'exp'")
    with _arb_dps(dps):
        d = len(c)
        zero = (Fraction(0),) * d
        kern = _kernel(zero, cov)
        cc = [_arb(v) for v in c]
        ss = [[_arb(v) for v in row] for row in cov]
        ph = _arb(phase)
        shift = math.sqrt(sum(float(cov[i][j] * c[i] * c[j]) for i in range(d) for j in range(d)))

        def f(z):
            k = kern(z)
            t = sum((cc[i] * z[i] for i in range(d)), arb(0))
            if f_name == "sin":
                sin, cos = (t + ph).sin_cos()
                val, g, hs = sin * k, cos * k, -sin * k
            else:
                val = g = hs = t.exp() * k
            return [k] + [z[i] * val for i in range(d)] + [cc[i] * g for i in range(d)] + \
                [(z[i] * z[j] - ss[i][j]) * val for i in range(d) for j in range(d)] + \
                [cc[i] * cc[j] * hs for i in range(d) for j in range(d)]
        if f_name == "exp":
            values = lattice_integrals(f, zero, cov, dps, margin=shift + 2)
        else:  # E sin(c.Z + phase) is of size exp(-c^T S c / 2): ask for that many more digits
            values = lattice_integrals(f, zero, cov, dps, margin=2,
                                       frequency=math.sqrt(sum(float(v) ** 2 for v in c)),
                                       extra_digits=shift ** 2 / (2 * math.log(10)) + 1)
        mass = values[0]
        v = [x / mass for x in values[1:]]
        return {"E_z_f": v[:d], "E_grad": v[d:2 * d],
                "E_zz_f": [v[2 * d + i * d:2 * d + (i + 1) * d] for i in range(d)],
                "E_hess": [v[2 * d + d * d + i * d:2 * d + d * d + (i + 1) * d] for i in range(d)]}


def arb_value(expr, dps: int) -> arb:
    """A rigorous Arb ball for a closed sympy expression built from exact rationals, pi, E,
    +, *, integer or rational powers (of positive bases), exp, log (of positive arguments).

    Used to evaluate a *stated* formula at exact parameters for the certified routes; anything
    else raises :class:`InvalidParameter` (the expression is never parsed from text).
    """
    import sympy as sp  # local: the rest of this module does not need sympy

    def ev(e):
        if e.is_Integer:
            return arb(int(e))
        if e.is_Rational:
            return arb(int(e.p)) / int(e.q)
        if e is sp.pi:
            return arb.pi()
        if e is sp.E:
            return arb(1).exp()
        if e.is_Add:
            return sum((ev(a) for a in e.args), arb(0))
        if e.is_Mul:
            return math.prod((ev(a) for a in e.args), start=arb(1))
        if e.is_Pow:
            base, expo = ev(e.base), e.exp
            if expo.is_Integer:
                return base ** int(expo)
            if expo.is_Rational and base > 0:
                return (base.log() * (arb(int(expo.p)) / int(expo.q))).exp()
        if isinstance(e, sp.exp):
            return ev(e.args[0]).exp()
        if isinstance(e, sp.log):
            a = ev(e.args[0])
            if a > 0:
                return a.log()
        raise InvalidParameter("expr", e, "a closed real expression of rationals, pi, +, *, "
                                          "powers, exp and log of positive arguments")
    if not isinstance(expr, sp.Basic):
        raise InvalidParameter("expr", expr, "a sympy expression (strings are never parsed)")
    with _arb_dps(dps):
        return ev(expr)


def relative_radius(ball: arb) -> mpmath.mpf:
    """rad / |mid| of an Arb ball as an mpf (inf for a ball around 0)."""
    mid = _to_mpf(ball)
    rad = _to_mpf(arb(ball.rad()))
    return rad / abs(mid) if mid else mpmath.inf
