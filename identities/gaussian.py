"""Gaussian identities, derived in sympy from definitions.

Main statements (each derived here, stated in ``proofs_check/catalog/gaussian.py``):

* M2.1  the density (2 pi)^{-d/2} det(S)^{-1/2} exp(-(x-m)^T S^{-1} (x-m)/2) has mass 1, mean m
  and covariance S: :func:`normalisation_integrals` (iterated Gaussian integrals,
  :func:`integrate_gaussian`, resting on :func:`gaussian_integral_lemma`).
* M2.2  E[(x-m)^T A (x-m)] = tr(A S) for any A: :func:`quadratic_expectation` (moment table).
* M2.3  m + A z ~ N(m, A A^T): :func:`affine_image`, :func:`expectation`.
* M2.4  N(x; m_p, S_p) N(x; m_q, S_q) = N(m_p; m_q, S_p + S_q) N(x; m, S):
  :func:`product_by_completing_square`.
* M2.5  KL between Gaussians from E_p[log p - log q]: :func:`kl_from_definition`.
* LB.2  conditioning by the Schur complement: :func:`conditional_by_completing_square`.
* LB.1  Stein's lemma: :func:`stein_polynomial`, :func:`stein_exponential`.

Conventions: the moment table of N(0, S) comes from its moment generating function
exp(t^T S t / 2) (:func:`moment_table`; Isserlis' theorem in closed form), never from
``sympy.stats``.  A covariance is parametrised so that positivity is visible to sympy:
:func:`spd_by_entries` (2x2, entries a, b and det = delta > 0) or :func:`spd_by_cholesky`
(S = L L^T, L lower triangular with a positive diagonal: every SPD matrix has one).

References: Maleki & Pourmoazemi, "Diffusion Models: A Mathematical Introduction" (arXiv
2511.11746), Sec. 2; Stein, Ann. Statist. 9 (1981); Isserlis, Biometrika 12 (1918).
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import product as cartesian
from typing import Sequence

import sympy as sp

from numerics.errors import InvalidParameter, NotProved

__all__ = [
    "affine_expectation",
    "affine_image",
    "complete_the_square",
    "conditional_by_completing_square",
    "density",
    "expectation",
    "gaussian_integral_lemma",
    "integrate_gaussian",
    "kl_from_definition",
    "log_density",
    "moment_table",
    "normalisation_integrals",
    "product_by_completing_square",
    "quadratic_expectation",
    "real_vector",
    "spd_by_cholesky",
    "spd_by_entries",
    "square_matrix",
    "stein_exponential",
    "stein_polynomial",
    "polynomial_with_symbolic_coefficients",
    "symmetric_matrix",
]


# ----------------------------------------------------------------------------- symbols

def real_vector(d: int, prefix: str) -> sp.Matrix:
    """A column of real symbols prefix0, prefix1, ..."""
    return sp.Matrix([sp.Symbol(f"{prefix}{i}", real=True) for i in range(d)])


def square_matrix(d: int, prefix: str) -> sp.Matrix:
    """A general (non-symmetric) d x d matrix of real symbols prefix{i}{j}."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{prefix}{i}{j}", real=True))


def symmetric_matrix(d: int, prefix: str) -> sp.Matrix:
    """A symmetric d x d matrix of real symbols prefix{i}{j}, i <= j."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{prefix}{min(i, j)}{max(i, j)}", real=True))


def spd_by_entries(prefix: str) -> sp.Matrix:
    """Every 2x2 SPD matrix: [[a, b], [b, (b^2 + delta)/a]] with a, delta > 0, b real.

    ``delta`` is the determinant, so det^{-1/2} and every Gaussian integral below stay
    visibly well defined.
    """
    a = sp.Symbol(f"{prefix}_a", positive=True)
    b = sp.Symbol(f"{prefix}_b", real=True)
    delta = sp.Symbol(f"{prefix}_delta", positive=True)
    return sp.Matrix([[a, b], [b, (b ** 2 + delta) / a]])


def spd_by_cholesky(d: int, prefix: str) -> tuple[sp.Matrix, sp.Matrix]:
    """(L L^T, L) with L lower triangular, positive diagonal prefix{i}{i}, real below it."""
    def entry(i, j):
        if j > i:
            return sp.Integer(0)
        return sp.Symbol(f"{prefix}{i}{j}", positive=True) if i == j else \
            sp.Symbol(f"{prefix}{i}{j}", real=True)
    low = sp.Matrix(d, d, entry)
    return low * low.T, low


# ----------------------------------------------------------------------------- definitions

def _check_square(cov: sp.Matrix, d: int, name: str = "cov") -> None:
    if not isinstance(cov, sp.MatrixBase) or cov.shape != (d, d):
        raise InvalidParameter(name, cov, f"a {d}x{d} sympy Matrix")


def density(x: sp.Matrix, mean: sp.Matrix, cov: sp.Matrix) -> sp.Expr:
    """The N(mean, cov) density (Maleki & Pourmoazemi, Eq. 1)."""
    d = x.shape[0]
    _check_square(cov, d)
    u = x - mean
    quad = (u.T * cov.inv() * u)[0, 0]
    return (2 * sp.pi) ** sp.Rational(-d, 2) * cov.det() ** sp.Rational(-1, 2) * \
        sp.exp(-quad / 2)


def log_density(x: sp.Matrix, mean: sp.Matrix, cov: sp.Matrix) -> sp.Expr:
    """log N(x; mean, cov) written in log space; det(cov) is factored inside the log."""
    d = x.shape[0]
    _check_square(cov, d)
    u = x - mean
    quad = (u.T * cov.inv() * u)[0, 0]
    return -sp.Rational(d, 2) * sp.log(2 * sp.pi) - sp.log(sp.factor(cov.det())) / 2 - quad / 2


@lru_cache(maxsize=64)
def _moments(cov: sp.ImmutableMatrix, degree: int) -> dict:
    d = cov.shape[0]
    t = sp.symbols(f"t0:{d}")
    half = sum(cov[i, j] * t[i] * t[j] for i in range(d) for j in range(d)) / 2
    table = {(0,) * d: sp.Integer(1)}
    power = sp.Integer(1)
    for k in range(1, degree // 2 + 1):
        power = sp.expand(power * half)
        poly = sp.Poly(power, *t)
        for monom, coeff in poly.terms():
            table[monom] = coeff * math.prod(math.factorial(a) for a in monom) / math.factorial(k)
    return table


def moment_table(cov: sp.Matrix, degree: int) -> dict:
    """E[z^alpha] for z ~ N(0, cov), |alpha| <= degree: alpha! [t^alpha] exp(t^T cov t / 2).

    Odd moments are absent (zero).  The same numbers as Isserlis' pairings, read off the
    moment generating function.
    """
    return _moments(sp.ImmutableMatrix(cov), int(degree))


def _as_expr(value: object, name: str) -> sp.Expr:
    """An int or a sympy expression (strings are never parsed)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return sp.Integer(value)
    if not isinstance(value, sp.Expr):
        raise InvalidParameter(name, value, "a sympy expression (build it with sympy objects)")
    return value


def expectation(poly: sp.Expr, variables: Sequence[sp.Symbol], mean: sp.Matrix,
                cov: sp.Matrix) -> sp.Expr:
    """E poly(x) for x ~ N(mean, cov), poly a polynomial in ``variables``: x = mean + z, expand,
    and replace each monomial z^alpha by its moment."""
    d = len(variables)
    z = sp.symbols(f"_z0:{d}")
    shifted = sp.expand(_as_expr(poly, "poly").xreplace(
        {v: mean[i] + z[i] for i, v in enumerate(variables)}))
    p = sp.Poly(shifted, *z)
    table = moment_table(cov, p.total_degree())
    return sp.Add(*[coeff * table.get(monom, 0) for monom, coeff in p.terms()])


# ----------------------------------------------------------------------------- integrals

_A = sp.Symbol("A", positive=True)
_B = sp.Symbol("B", real=True)


def gaussian_integral_lemma() -> tuple[sp.Expr, sp.Expr]:
    """(sympy's integral of exp(-A x^2 + B x) over R for A > 0, the closed form
    sqrt(pi/A) exp(B^2/(4A))): the one integral every derivation here rests on."""
    return _lemma_integral(), sp.sqrt(sp.pi / _A) * sp.exp(_B ** 2 / (4 * _A))


@lru_cache(maxsize=1)
def _lemma_integral() -> sp.Expr:
    x = sp.Symbol("x", real=True)
    return sp.integrate(sp.exp(-_A * x ** 2 + _B * x), (x, -sp.oo, sp.oo))


@lru_cache(maxsize=16)
def _hermite_factor(k: int) -> sp.Expr:
    """M_k(A, B) = exp(-B^2/4A) d^k/dB^k exp(B^2/4A), so that
    int x^k e^{-Ax^2+Bx} dx = sqrt(pi/A) M_k(A, B) e^{B^2/4A}."""
    g = sp.exp(_B ** 2 / (4 * _A))
    return sp.expand(sp.simplify(sp.diff(g, _B, k) / g))


def _split(expr: sp.Expr, variables: set) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """expr = prefactor * polynomial * exp(exponent), prefactor free of the variables."""
    expr = sp.powsimp(expr, combine="exp")
    pref, poly, expo = [], [], []
    for f in sp.Mul.make_args(expr):
        if isinstance(f, sp.exp):
            expo.append(f.args[0])
        elif f.free_symbols & variables:
            poly.append(f)
        else:
            pref.append(f)
    return sp.Mul(*pref), sp.Mul(*poly), sp.Add(*expo)


def integrate_gaussian(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> sp.Expr:
    """Integrate prefactor * polynomial * exp(quadratic) over R^n, one variable at a time.

    Each step uses int x^k exp(-A x^2 + B x) dx = sqrt(pi/A) M_k(A, B) exp(B^2/(4A)) (the lemma
    of :func:`gaussian_integral_lemma` differentiated k times in B under the integral sign),
    after checking that sympy knows A > 0; otherwise :class:`NotProved` is raised.
    """
    remaining = set(variables)
    pref, poly, expo = _split(_as_expr(expr, "expr"), remaining)
    for v in reversed(list(variables)):
        e = sp.Poly(sp.expand(expo), v)
        if e.degree() != 2:
            raise NotProved(f"the exponent is not quadratic in {v}: {expo}")
        a = sp.cancel(-e.coeff_monomial(v ** 2))
        if a.is_positive is not True and sp.factor(a).is_positive is not True:
            raise NotProved(f"cannot show that the coefficient {a} of -{v}^2 is positive")
        b = e.coeff_monomial(v)
        c = e.coeff_monomial(1)
        q = sp.Poly(sp.expand(poly), v)
        poly = sp.Add(*[coeff * _hermite_factor(k).xreplace({_A: a, _B: b})
                        for (k,), coeff in q.terms()])
        pref = pref * sp.sqrt(sp.pi / a)
        expo = c + b ** 2 / (4 * a)
        remaining.discard(v)
    return pref * poly * sp.exp(sp.cancel(expo))


def normalisation_integrals(density_expr: sp.Expr, x: sp.Matrix,
                            mean: sp.Matrix) -> tuple[sp.Expr, sp.Matrix, sp.Matrix]:
    """(mass, mean, covariance) of a density of the form c * exp(quadratic in x):
    int p, int x p / mass, int (x - m)(x - m)^T p / mass with m the mean just computed."""
    d = x.shape[0]
    xs = list(x)
    mass = integrate_gaussian(density_expr, xs)
    first = sp.Matrix([integrate_gaussian(xs[i] * density_expr, xs) / mass for i in range(d)])
    u = x - mean
    cov = sp.Matrix(d, d, lambda i, j: integrate_gaussian(u[i] * u[j] * density_expr, xs) / mass)
    return mass, first, cov


# ----------------------------------------------------------------------------- derivations

def quadratic_expectation(a: sp.Matrix, mean: sp.Matrix, cov: sp.Matrix,
                          center: sp.Matrix | None = None) -> sp.Expr:
    """E[(x - c)^T A (x - c)] for x ~ N(mean, cov) (c = mean by default), term by term from
    the moment table: sum_ij A_ij E[(x - c)_i (x - c)_j]."""
    d = mean.shape[0]
    center = mean if center is None else center
    xs = list(real_vector(d, "_x"))
    u = [xs[i] - center[i] for i in range(d)]
    return sp.Add(*[a[i, j] * expectation(u[i] * u[j], xs, mean, cov)
                    for i in range(d) for j in range(d)])


def affine_image(mu: sp.Matrix, a: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """(E x, Cov x) of x = mu + A z, z ~ N(0, I), from the moment table of z."""
    d, k = a.shape
    zs = list(real_vector(k, "_w"))
    zero, eye = sp.zeros(k, 1), sp.eye(k)
    x = mu + a * sp.Matrix(zs)
    mean = sp.Matrix([expectation(x[i], zs, zero, eye) for i in range(d)])
    cov = sp.Matrix(d, d, lambda i, j: expectation((x[i] - mean[i]) * (x[j] - mean[j]),
                                                   zs, zero, eye))
    return mean, cov


def affine_expectation(poly: sp.Expr, variables: Sequence[sp.Symbol], mu: sp.Matrix,
                       a: sp.Matrix) -> sp.Expr:
    """E_z poly(mu + A z), z ~ N(0, I), from the moment table of z."""
    k = a.shape[1]
    zs = list(real_vector(k, "_w"))
    x = mu + a * sp.Matrix(zs)
    return expectation(_as_expr(poly, "poly").xreplace(dict(zip(variables, x))), zs,
                       sp.zeros(k, 1), sp.eye(k))


def complete_the_square(exponent: sp.Expr, variables: Sequence[sp.Symbol]):
    """(Lam, eta, c) with exponent = -x^T Lam x / 2 + eta^T x + c (Maleki & Pourmoazemi,
    Lemma 2.10), read off as the Hessian, gradient and value at x = 0 (exact: Taylor's formula
    of a polynomial of degree <= 2); :class:`NotProved` if the exponent is not a polynomial of
    degree <= 2 in the variables."""
    xs = list(variables)
    try:
        degree = sp.Poly(exponent, *xs).total_degree()
    except sp.PolynomialError:
        degree = None
    if degree is None or degree > 2:
        raise NotProved("the exponent is not a quadratic polynomial in the variables")
    lam = -sp.hessian(exponent, xs)
    at0 = {v: 0 for v in xs}
    eta = sp.Matrix([sp.diff(exponent, v).xreplace(at0) for v in xs])
    return lam.applyfunc(sp.cancel), eta.applyfunc(sp.cancel), exponent.xreplace(at0)


def product_by_completing_square(x: sp.Matrix, mean_p: sp.Matrix, cov_p: sp.Matrix,
                                 mean_q: sp.Matrix, cov_q: sp.Matrix) -> dict:
    """N(x; m_p, S_p) N(x; m_q, S_q) = Z N(x; m, S), completing the square in log space.

    The exponent -(Q_p + Q_q)/2 = -(x - m)^T Lam (x - m)/2 + c + eta^T S eta / 2 gives
    S = Lam^{-1}, m = S eta; the prefactors give Z = (2 pi)^{-d/2} (det S_p det S_q det Lam)^{-1/2}
    exp(c + eta^T S eta / 2), and det S_p det S_q det Lam = det(S_p + S_q) (returned as
    ``lemma``, a rational identity to prove) turns it into the form stated in the notes.
    """
    d = x.shape[0]
    up, uq = x - mean_p, x - mean_q
    exponent = -((up.T * cov_p.inv() * up)[0, 0] + (uq.T * cov_q.inv() * uq)[0, 0]) / 2
    lam, eta, c = complete_the_square(exponent, list(x))
    cov = lam.inv().applyfunc(sp.cancel)
    mean = (cov * eta).applyfunc(sp.cancel)
    total = cov_p + cov_q
    lemma = (cov_p.det() * cov_q.det() * lam.det(), total.det())
    constant = sp.cancel(c + (eta.T * cov * eta)[0, 0] / 2)
    normaliser = (2 * sp.pi) ** sp.Rational(-d, 2) * total.det() ** sp.Rational(-1, 2) * \
        sp.exp(constant)
    return {"covariance": cov, "mean": mean, "normaliser": normaliser, "lemma": lemma}


def entropy_from_definition(mean: sp.Matrix, cov: sp.Matrix) -> sp.Expr:
    """h(N(mean, cov)) = -E[log p(X)]: the log-density's expectation by the moment table.

    Not the closed form: log p is expanded from the density and its quadratic part averaged
    with the Gaussian moments (the trace trick is not assumed).
    """
    d = mean.shape[0]
    _check_square(cov, d)
    x = sp.Matrix(sp.symbols(f"_h0:{d}", real=True))
    return sp.expand(expectation(-log_density(x, mean, cov), list(x), mean, cov))


def kl_from_definition(mean_p: sp.Matrix, cov_p: sp.Matrix, mean_q: sp.Matrix,
                       cov_q: sp.Matrix) -> sp.Expr:
    """E_p[log p(x) - log q(x)] with the log-densities of the definition and the quadratic
    terms averaged with the moment table of p (no trace identity is assumed)."""
    d = mean_p.shape[0]
    x = real_vector(d, "_x")
    log_ratio = sp.expand(log_density(x, mean_p, cov_p) - log_density(x, mean_q, cov_q))
    return expectation(log_ratio, list(x), mean_p, cov_p)


def conditional_by_completing_square(x: sp.Matrix, y: sp.Matrix, mean: sp.Matrix,
                                     cov: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """(E[x | y], Cov[x | y]) for (x, y) ~ N(mean, cov): the joint log-density as a quadratic
    in x for fixed y, -x^T Lam x / 2 + eta(y)^T x + c(y), gives Cov = Lam^{-1}, E = Lam^{-1} eta."""
    v = sp.Matrix(list(x) + list(y))
    u = v - mean
    exponent = -(u.T * cov.inv() * u)[0, 0] / 2
    lam, eta, _ = complete_the_square(exponent, list(x))
    cond_cov = lam.inv().applyfunc(sp.cancel)
    return (cond_cov * eta).applyfunc(sp.cancel), cond_cov


def stein_polynomial(f: sp.Expr, variables: Sequence[sp.Symbol], cov: sp.Matrix) -> dict:
    """The four expectations of Stein's lemma for Z ~ N(0, cov) and a polynomial f, from the
    moment table: E[Z f], E[grad f], E[(Z Z^T - cov) f], E[hess f]."""
    d = len(variables)
    zero = sp.zeros(d, 1)
    z = list(variables)

    def e(p):
        return sp.expand(expectation(p, z, zero, cov))
    return {
        "E_z_f": sp.Matrix([e(z[i] * f) for i in range(d)]),
        "E_grad": sp.Matrix([e(sp.diff(f, z[i])) for i in range(d)]),
        "E_zz_f": sp.Matrix(d, d, lambda i, j: e((z[i] * z[j] - cov[i, j]) * f)),
        "E_hess": sp.Matrix(d, d, lambda i, j: e(sp.diff(f, z[i], z[j]))),
    }


def stein_exponential(c: sp.Matrix, cov: sp.Matrix) -> dict:
    """The same four expectations for f(z) = exp(c^T z), from the moment generating function
    M(c) = E exp(c^T Z) = exp(c^T cov c / 2): E[Z f] = grad_c M, E[Z Z^T f] = hess_c M."""
    d = c.shape[0]
    cs = list(c)
    mgf = sp.exp((c.T * cov * c)[0, 0] / 2)
    return {
        "E_z_f": sp.Matrix([sp.diff(mgf, cs[i]) for i in range(d)]),
        "E_grad": c * mgf,
        "E_zz_f": sp.hessian(mgf, cs) - cov * mgf,
        "E_hess": c * c.T * mgf,
    }


def polynomial_with_symbolic_coefficients(variables: Sequence[sp.Symbol], degree: int,
                                          prefix: str = "c") -> sp.Expr:
    """sum_{|alpha| <= degree} c_alpha x^alpha with one real symbol per coefficient."""
    d = len(variables)
    terms = []
    for alpha in cartesian(range(degree + 1), repeat=d):
        if sum(alpha) <= degree:
            coeff = sp.Symbol(prefix + "_" + "".join(map(str, alpha)), real=True)
            terms.append(coeff * math.prod((v ** a for v, a in zip(variables, alpha)),
                                           start=sp.Integer(1)))
    return sp.Add(*terms)

