"""Divergences in closed form: between Gaussians in any dimension, and between finite laws.

Main statements (each computed at ``dps`` digits from exact inputs; ``certified_*`` return
python-flint ``arb`` balls guaranteed to contain the value):

* Gaussians mu_i = N(m_i, S_i) in R^d, with delta = m_1 - m_2 and P = S_2^{-1}:

  - KL(mu_1 || mu_2) = 1/2 [tr(P S_1) - d + delta' P delta + log det S_2 - log det S_1];
  - relative Fisher information I(mu_1 || mu_2) = E_{mu_1} |grad log(mu_1/mu_2)|^2
    = tr(P S_1 P - 2 P + S_1^{-1}) + delta' P^2 delta;
  - chi^2(mu_1 || mu_2) = det S_2 / sqrt(det S_1 det(2 S_2 - S_1)) exp(delta'(2 S_2 - S_1)^{-1}
    delta) - 1, finite iff 2 S_2 - S_1 is positive definite (else +inf);
  - H^2 = 1/2 int (sqrt p - sqrt q)^2 = 1 - det(S_1)^{1/4} det(S_2)^{1/4} det(Sbar)^{-1/2}
    exp(-delta' Sbar^{-1} delta / 8), Sbar = (S_1 + S_2)/2;
  - W2^2 (Bures) = |delta|^2 + tr S_1 + tr S_2 - 2 tr (S_1^{1/2} S_2 S_1^{1/2})^{1/2}.

* Finite laws p, q (exact rationals): TV = 1/2 sum |p - q| and chi^2 = sum (p - q)^2 / q as exact
  Fractions; KL = sum p log(p/q) and H^2 = 1/2 sum (sqrt p - sqrt q)^2 at ``dps`` digits; exact
  push-forwards p K and W2^2 on the line (quantile coupling).

Inputs: covariances are :class:`SPDMatrix` (an exactly known spectral decomposition Q diag(l)
Q', Q rational orthogonal, see :func:`givens_rotation`) or square matrices of exact numbers
(validated exactly: symmetric, positive pivots) or mpmath matrices (validated numerically).
Floats are refused (they already carry rounding error).

References: Pardo, *Statistical inference based on divergence measures* (Gaussian closed
forms); Bhatia, Jain, Lim 2019 (Bures-Wasserstein); Tsybakov 2009, Ch. 2 (finite laws).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any, Callable, Sequence

import mpmath

from numerics.errors import InvalidParameter, PrecisionLoss
from numerics.precision import DEFAULT_DPS, check_dps, exact_fraction, flint_workdps, workdps

__all__ = [
    "SPDMatrix", "givens_rotation", "exact_matrix", "exact_inverse", "exact_matmul",
    "as_mp_vector", "as_mp_spd",
    "gaussian_kl", "gaussian_fisher", "gaussian_chi2", "gaussian_hellinger_sq", "gaussian_w2_sq",
    "gaussian_w2",
    "certified_gaussian_kl", "certified_gaussian_fisher", "certified_gaussian_chi2",
    "certified_gaussian_hellinger_sq", "certified_gaussian_w2_sq",
    "as_probability_vector", "as_stochastic_matrix", "tv", "chi2", "kl", "hellinger_sq",
    "certified_kl", "certified_hellinger_sq", "push_forward", "w2_sq_line",
]

#: Internal guard digits: Gaussian closed forms cancel (tr - d - log det) for near-equal laws.
_GUARD = 15


# ----------------------------------------------------------------------------- exact inputs

def exact_matrix(rows: Any, name: str = "matrix") -> tuple[tuple[Fraction, ...], ...]:
    """A square matrix of Fractions from nested sequences of exact numbers."""
    if isinstance(rows, SPDMatrix):
        return rows.entries
    try:
        out = tuple(tuple(exact_fraction(x, f"{name}[{i}][{j}]") for j, x in enumerate(row))
                    for i, row in enumerate(rows))
    except TypeError:
        raise InvalidParameter(name, rows, "a square matrix (nested sequences of exact numbers)") from None
    if not out or any(len(r) != len(out) for r in out):
        raise InvalidParameter(name, rows, "a non-empty square matrix")
    return out


def exact_inverse(rows: Sequence[Sequence[Fraction]], name: str = "matrix") -> tuple:
    """Exact inverse by Gauss-Jordan elimination over the rationals."""
    n = len(rows)
    aug = [list(r) + [Fraction(int(i == j)) for j in range(n)] for i, r in enumerate(rows)]
    for col in range(n):
        piv = next((r for r in range(col, n) if aug[r][col] != 0), None)
        if piv is None:
            raise InvalidParameter(name, rows, "an invertible matrix")
        aug[col], aug[piv] = aug[piv], aug[col]
        inv = 1 / aug[col][col]
        aug[col] = [x * inv for x in aug[col]]
        for r in range(n):
            if r != col and aug[r][col] != 0:
                f = aug[r][col]
                aug[r] = [a - f * b for a, b in zip(aug[r], aug[col])]
    return tuple(tuple(r[n:]) for r in aug)


def _exact_is_spd(rows: Sequence[Sequence[Fraction]]) -> bool:
    """Exact test: symmetric and every pivot of the LDL' factorisation positive (Sylvester)."""
    n = len(rows)
    if any(rows[i][j] != rows[j][i] for i in range(n) for j in range(i)):
        return False
    a = [list(r) for r in rows]
    for k in range(n):
        if a[k][k] <= 0:
            return False
        for i in range(k + 1, n):
            f = a[i][k] / a[k][k]
            for j in range(k, n):
                a[i][j] -= f * a[k][j]
    return True


def exact_matmul(a, b):
    """The product of two matrices of Fractions (nested tuples), exactly."""
    return tuple(tuple(sum((a[i][k] * b[k][j] for k in range(len(b))), Fraction(0))
                       for j in range(len(b[0]))) for i in range(len(a)))


def givens_rotation(d: int, i: int, j: int, t: Any) -> tuple[tuple[Fraction, ...], ...]:
    """The exact rational rotation in the (i, j) plane with cos = (1-t^2)/(1+t^2), sin = 2t/(1+t^2)."""
    if not (isinstance(d, int) and d >= 1 and 0 <= i < d and 0 <= j < d and i != j):
        raise InvalidParameter("(d, i, j)", (d, i, j), "a dimension d >= 2 and two distinct axes < d")
    t = exact_fraction(t, "t")
    c, s = (1 - t * t) / (1 + t * t), 2 * t / (1 + t * t)
    rows = [[Fraction(int(r == k)) for k in range(d)] for r in range(d)]
    rows[i][i], rows[j][j], rows[i][j], rows[j][i] = c, c, -s, s
    return tuple(tuple(r) for r in rows)


@dataclass(frozen=True)
class SPDMatrix:
    """A symmetric positive-definite matrix Q diag(eigenvalues) Q' with Q exactly orthogonal.

    Because the spectral decomposition is exact, matrix functions f(S) = Q diag(f(l)) Q' are
    computed without an eigen-solver and lambda_min, lambda_max are exact Fractions.
    """

    rotation: tuple
    eigenvalues: tuple

    def __post_init__(self) -> None:
        q = exact_matrix(self.rotation, "rotation")
        lam = tuple(exact_fraction(x, "eigenvalues") for x in self.eigenvalues)
        if len(lam) != len(q):
            raise InvalidParameter("eigenvalues", self.eigenvalues, f"{len(q)} eigenvalues for a {len(q)}x{len(q)} rotation")
        if any(x <= 0 for x in lam):
            raise InvalidParameter("eigenvalues", self.eigenvalues, "positive eigenvalues (an SPD matrix)")
        qtq = exact_matmul(tuple(zip(*q)), q)
        if any(qtq[i][j] != int(i == j) for i in range(len(q)) for j in range(len(q))):
            raise InvalidParameter("rotation", self.rotation, "an exactly orthogonal matrix (Q'Q = I)")
        object.__setattr__(self, "rotation", q)
        object.__setattr__(self, "eigenvalues", lam)

    @classmethod
    def diagonal(cls, eigenvalues: Sequence[Any]) -> "SPDMatrix":
        d = len(eigenvalues)
        return cls(tuple(tuple(Fraction(int(i == j)) for j in range(d)) for i in range(d)), tuple(eigenvalues))

    @property
    def dim(self) -> int:
        return len(self.eigenvalues)

    @property
    def lambda_min(self) -> Fraction:
        return min(self.eigenvalues)

    @property
    def lambda_max(self) -> Fraction:
        return max(self.eigenvalues)

    @property
    def condition_number(self) -> Fraction:
        return self.lambda_max / self.lambda_min

    def eigenvector(self, index: int) -> tuple[Fraction, ...]:
        """Column ``index`` of the rotation: the eigenvector of ``eigenvalues[index]``."""
        return tuple(row[index] for row in self.rotation)

    def map_exact(self, f: Callable[[Fraction], Fraction]) -> "SPDMatrix":
        """Q diag(f(l)) Q' for an f that maps positive rationals to positive rationals."""
        return SPDMatrix(self.rotation, tuple(f(x) for x in self.eigenvalues))

    def inverse(self) -> "SPDMatrix":
        return self.map_exact(lambda x: 1 / x)

    @cached_property
    def entries(self) -> tuple[tuple[Fraction, ...], ...]:
        q, lam = self.rotation, self.eigenvalues
        n = len(lam)
        return tuple(tuple(sum((q[i][k] * lam[k] * q[j][k] for k in range(n)), Fraction(0))
                           for j in range(n)) for i in range(n))

    def mp(self) -> mpmath.matrix:
        """The matrix at the current mpmath precision."""
        return _mp_from_exact(self.entries)

    def function(self, f: Callable[[mpmath.mpf], mpmath.mpf]) -> mpmath.matrix:
        """Q diag(f(l)) Q' at the current precision (f receives mpf eigenvalues)."""
        n = self.dim
        q = _mp_from_exact(self.rotation)
        vals = [f(mpmath.mpf(x.numerator) / x.denominator) for x in self.eigenvalues]
        out = mpmath.matrix(n, n)
        for i in range(n):
            for j in range(i, n):
                out[i, j] = out[j, i] = mpmath.fsum(q[i, k] * vals[k] * q[j, k] for k in range(n))
        return out


def _mpf(x: Fraction) -> mpmath.mpf:
    return mpmath.mpf(x.numerator) / x.denominator


def _mp_from_exact(rows) -> mpmath.matrix:
    return mpmath.matrix([[_mpf(x) for x in r] for r in rows])


def as_mp_vector(v: Any, name: str = "mean", dim: int | None = None) -> mpmath.matrix:
    """A column vector at the current precision from exact numbers or mpmath numbers."""
    if isinstance(v, mpmath.matrix):
        if v.cols != 1:
            raise InvalidParameter(name, v, "a column vector")
        out = v.copy()
    else:
        try:
            vals = [x if isinstance(x, mpmath.mpf) else _mpf(exact_fraction(x, f"{name}[{i}]")) for i, x in enumerate(v)]
        except TypeError:
            raise InvalidParameter(name, v, "a sequence of exact numbers") from None
        if not vals:
            raise InvalidParameter(name, v, "a non-empty vector")
        out = mpmath.matrix(vals)
    if dim is not None and out.rows != dim:
        raise InvalidParameter(name, v, f"a vector of length {dim}")
    if any(not mpmath.isfinite(out[i]) for i in range(out.rows)):
        raise InvalidParameter(name, v, "finite entries")
    return out


def as_mp_spd(S: Any, name: str = "covariance", dim: int | None = None) -> mpmath.matrix:
    """Validate an SPD matrix and return it at the current precision.

    Exact input is validated exactly (symmetric, LDL' pivots positive); an mpmath matrix is
    validated numerically (symmetric to 10^-(dps-10) relative, Cholesky succeeds).
    """
    if isinstance(S, SPDMatrix):
        out = S.mp()
    elif isinstance(S, mpmath.matrix):
        out = S.copy()
        n = out.rows
        if n != out.cols or n == 0:
            raise InvalidParameter(name, S, "a non-empty square matrix")
        scale = max(abs(out[i, j]) for i in range(n) for j in range(n))
        tol = mpmath.mpf(10) ** (-(mpmath.mp.dps - 10)) * max(scale, 1)
        if any(not mpmath.isfinite(out[i, j]) for i in range(n) for j in range(n)) or any(
                abs(out[i, j] - out[j, i]) > tol for i in range(n) for j in range(i)):
            raise InvalidParameter(name, S, "a finite symmetric matrix")
        try:
            mpmath.cholesky(out)
        except (ValueError, ZeroDivisionError):
            raise InvalidParameter(name, S, "a positive-definite matrix") from None
    else:
        rows = exact_matrix(S, name)
        if not _exact_is_spd(rows):
            raise InvalidParameter(name, S, "a symmetric positive-definite matrix")
        out = _mp_from_exact(rows)
    if dim is not None and out.rows != dim:
        raise InvalidParameter(name, S, f"a {dim}x{dim} matrix")
    return out


def _trace(M: mpmath.matrix) -> mpmath.mpf:
    return mpmath.fsum(M[i, i] for i in range(M.rows))


def _quad(v: mpmath.matrix, M: mpmath.matrix) -> mpmath.mpf:
    return (v.T * M * v)[0, 0]


def _inputs(m1, S1, m2, S2):
    a = as_mp_spd(S1, "S1")
    b = as_mp_spd(S2, "S2", a.rows)
    return as_mp_vector(m1, "m1", a.rows), a, as_mp_vector(m2, "m2", a.rows), b


def _finish(value, dps):
    with workdps(dps):
        return +value


# ----------------------------------------------------------------------------- Gaussian closed forms

def gaussian_kl(m1, S1, m2, S2, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """KL(N(m1, S1) || N(m2, S2)) in nats."""
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        m1, S1, m2, S2 = _inputs(m1, S1, m2, S2)
        P = mpmath.inverse(S2)
        delta = m1 - m2
        val = (_trace(P * S1) - S1.rows + _quad(delta, P)
               + mpmath.log(mpmath.det(S2)) - mpmath.log(mpmath.det(S1))) / 2
        return _finish(val, dps)


def gaussian_fisher(m1, S1, m2, S2, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """Relative Fisher information I(N(m1, S1) || N(m2, S2)) = E |grad log(mu1/mu2)|^2."""
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        m1, S1, m2, S2 = _inputs(m1, S1, m2, S2)
        P = mpmath.inverse(S2)
        D = P - mpmath.inverse(S1)
        g = P * (m1 - m2)
        val = _trace(D * S1 * D) + (g.T * g)[0, 0]
        return _finish(val, dps)


def gaussian_chi2(m1, S1, m2, S2, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """chi^2(N(m1, S1) || N(m2, S2)); +inf unless 2 S2 - S1 is positive definite."""
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        m1, S1, m2, S2 = _inputs(m1, S1, m2, S2)
        T = 2 * S2 - S1
        try:
            mpmath.cholesky(T)
        except (ValueError, ZeroDivisionError):
            return mpmath.inf
        delta = m1 - m2
        one_plus = (mpmath.det(S2) / mpmath.sqrt(mpmath.det(S1) * mpmath.det(T))
                    * mpmath.exp(_quad(delta, mpmath.inverse(T))))
        return _finish(one_plus - 1, dps)


def gaussian_hellinger_sq(m1, S1, m2, S2, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """H^2 = 1/2 int (sqrt p - sqrt q)^2 = 1 - Bhattacharyya coefficient, in [0, 1]."""
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        m1, S1, m2, S2 = _inputs(m1, S1, m2, S2)
        Sbar = (S1 + S2) / 2
        delta = m1 - m2
        log_bc = (mpmath.log(mpmath.det(S1)) / 4 + mpmath.log(mpmath.det(S2)) / 4
                  - mpmath.log(mpmath.det(Sbar)) / 2 - _quad(delta, mpmath.inverse(Sbar)) / 8)
        return _finish(-mpmath.expm1(log_bc), dps)


def _sym_sqrt(S: mpmath.matrix) -> mpmath.matrix:
    E, Q = mpmath.eigsy(S)
    n = S.rows
    out = mpmath.matrix(n, n)
    roots = [mpmath.sqrt(max(E[k], 0)) for k in range(n)]
    for i in range(n):
        for j in range(i, n):
            out[i, j] = out[j, i] = mpmath.fsum(Q[i, k] * roots[k] * Q[j, k] for k in range(n))
    return out


def gaussian_w2_sq(m1, S1, m2, S2, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """Squared 2-Wasserstein distance between Gaussians (Bures formula)."""
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        root1 = S1.function(mpmath.sqrt) if isinstance(S1, SPDMatrix) else None
        m1, S1, m2, S2 = _inputs(m1, S1, m2, S2)
        R = root1 if root1 is not None else _sym_sqrt(S1)
        C = R * S2 * R
        C = (C + C.T) / 2
        E, _ = mpmath.eigsy(C)
        cross = mpmath.fsum(mpmath.sqrt(max(E[k], 0)) for k in range(C.rows))
        delta = m1 - m2
        val = (delta.T * delta)[0, 0] + _trace(S1) + _trace(S2) - 2 * cross
        return _finish(max(val, mpmath.mpf(0)), dps)


def gaussian_w2(m1, S1, m2, S2, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """2-Wasserstein distance between Gaussians (Bures formula)."""
    with workdps(check_dps(dps)):
        return mpmath.sqrt(gaussian_w2_sq(m1, S1, m2, S2, dps))


# ----------------------------------------------------------------------------- certified (Arb)

def _arb_inputs(m1, S1, m2, S2):
    from flint import arb, arb_mat, fmpq

    def mat(S, name):
        rows = exact_matrix(S, name)
        if not _exact_is_spd(rows):
            raise InvalidParameter(name, S, "a symmetric positive-definite matrix of exact numbers")
        return arb_mat([[arb(fmpq(x.numerator, x.denominator)) for x in r] for r in rows]), rows

    def vec(v, name, n):
        try:
            vals = [exact_fraction(x, f"{name}[{i}]") for i, x in enumerate(v)]
        except TypeError:
            raise InvalidParameter(name, v, "a sequence of exact numbers") from None
        if len(vals) != n:
            raise InvalidParameter(name, v, f"a vector of length {n}")
        return arb_mat([[arb(fmpq(x.numerator, x.denominator))] for x in vals])

    a, ra = mat(S1, "S1")
    b, rb = mat(S2, "S2")
    if len(ra) != len(rb):
        raise InvalidParameter("S2", S2, f"a {len(ra)}x{len(ra)} matrix")
    return vec(m1, "m1", len(ra)), a, vec(m2, "m2", len(ra)), b, ra, rb


def _certain(ball, what: str):
    if not ball.is_finite():
        raise PrecisionLoss(f"{what}: the Arb enclosure is not finite")
    return ball


def certified_gaussian_kl(m1, S1, m2, S2, dps: int = DEFAULT_DPS):
    """An Arb ball containing KL(N(m1, S1) || N(m2, S2)) (exact inputs only)."""
    with flint_workdps(check_dps(dps) + _GUARD):
        a1, A, a2, B, ra, _ = _arb_inputs(m1, S1, m2, S2)
        P = B.inv()
        delta = a1 - a2
        val = ((P * A).trace() - len(ra) + (delta.transpose() * P * delta)[0, 0]
               + B.det().log() - A.det().log()) / 2
        return _certain(val, "certified_gaussian_kl")


def certified_gaussian_fisher(m1, S1, m2, S2, dps: int = DEFAULT_DPS):
    """An Arb ball containing the relative Fisher information I(N(m1, S1) || N(m2, S2))."""
    with flint_workdps(check_dps(dps) + _GUARD):
        a1, A, a2, B, _, _ = _arb_inputs(m1, S1, m2, S2)
        P = B.inv()
        D = P - A.inv()
        g = P * (a1 - a2)
        return _certain((D * A * D).trace() + (g.transpose() * g)[0, 0], "certified_gaussian_fisher")


def certified_gaussian_chi2(m1, S1, m2, S2, dps: int = DEFAULT_DPS):
    """An Arb ball containing chi^2(N(m1, S1) || N(m2, S2)); InvalidParameter if it is infinite."""
    from flint import arb

    with flint_workdps(check_dps(dps) + _GUARD):
        a1, A, a2, B, ra, rb = _arb_inputs(m1, S1, m2, S2)
        t = tuple(tuple(2 * y - x for x, y in zip(r1, r2)) for r1, r2 in zip(ra, rb))
        if not _exact_is_spd(t):
            raise InvalidParameter("S1", S1, "a covariance with 2 S2 - S1 positive definite (else chi^2 = +inf)")
        T = 2 * B - A
        delta = a1 - a2
        val = B.det() / (A.det() * T.det()).sqrt() * (delta.transpose() * T.inv() * delta)[0, 0].exp() - arb(1)
        return _certain(val, "certified_gaussian_chi2")


def certified_gaussian_hellinger_sq(m1, S1, m2, S2, dps: int = DEFAULT_DPS):
    """An Arb ball containing H^2(N(m1, S1), N(m2, S2))."""
    with flint_workdps(check_dps(dps) + _GUARD):
        a1, A, a2, B, _, _ = _arb_inputs(m1, S1, m2, S2)
        Sbar = (A + B) / 2
        delta = a1 - a2
        log_bc = (A.det().log() / 4 + B.det().log() / 4 - Sbar.det().log() / 2
                  - (delta.transpose() * Sbar.inv() * delta)[0, 0] / 8)
        return _certain(-log_bc.expm1(), "certified_gaussian_hellinger_sq")


def certified_gaussian_w2_sq(m1, S1, m2, S2, dps: int = DEFAULT_DPS):
    """An Arb ball containing W2^2: tr (S1^{1/2} S2 S1^{1/2})^{1/2} = sum sqrt(eig(S1 S2)).

    The eigenvalues of S1 S2 (similar to an SPD matrix, hence real and positive) are enclosed
    by Arb's certified eigen-solver; it raises :class:`PrecisionLoss` when it cannot isolate
    them (e.g. a repeated eigenvalue), in which case no ball route exists here.
    """
    from flint import arb

    with flint_workdps(check_dps(dps) + _GUARD):
        a1, A, a2, B, _, _ = _arb_inputs(m1, S1, m2, S2)
        try:
            eig = (A * B).eig()
        except (ValueError, ArithmeticError) as exc:
            raise PrecisionLoss(f"certified_gaussian_w2_sq: eigenvalues not isolated ({exc})") from None
        cross = arb(0)
        for z in eig:
            if not z.real > 0:
                raise PrecisionLoss("certified_gaussian_w2_sq: an eigenvalue enclosure is not positive")
            cross += z.real.sqrt()
        delta = a1 - a2
        val = (delta.transpose() * delta)[0, 0] + A.trace() + B.trace() - 2 * cross
        return _certain(val, "certified_gaussian_w2_sq")


# ----------------------------------------------------------------------------- finite laws

def as_probability_vector(p: Any, name: str = "p", size: int | None = None) -> tuple[Fraction, ...]:
    """Exact probability vector: entries >= 0 summing exactly to 1."""
    try:
        vals = tuple(exact_fraction(x, f"{name}[{i}]") for i, x in enumerate(p))
    except TypeError:
        raise InvalidParameter(name, p, "a sequence of exact probabilities") from None
    if not vals or any(x < 0 for x in vals) or sum(vals) != 1:
        raise InvalidParameter(name, p, "non-negative exact numbers summing to exactly 1")
    if size is not None and len(vals) != size:
        raise InvalidParameter(name, p, f"a probability vector of length {size}")
    return vals


def as_stochastic_matrix(K: Any, name: str = "K", rows: int | None = None) -> tuple:
    """Exact row-stochastic matrix (each row a probability vector of the same length)."""
    try:
        out = tuple(as_probability_vector(r, f"{name}[{i}]") for i, r in enumerate(K))
    except TypeError:
        raise InvalidParameter(name, K, "a sequence of probability vectors") from None
    if not out or len({len(r) for r in out}) != 1:
        raise InvalidParameter(name, K, "rows of one common length")
    if rows is not None and len(out) != rows:
        raise InvalidParameter(name, K, f"a stochastic matrix with {rows} rows")
    return out


def _pair(p, q):
    p = as_probability_vector(p, "p")
    return p, as_probability_vector(q, "q", len(p))


def tv(p, q) -> Fraction:
    """Total variation 1/2 sum |p - q|, exactly."""
    p, q = _pair(p, q)
    return sum((abs(a - b) for a, b in zip(p, q)), Fraction(0)) / 2


def chi2(p, q):
    """chi^2(p || q) = sum (p - q)^2 / q exactly; ``mpmath.inf`` if p is not << q."""
    p, q = _pair(p, q)
    if any(b == 0 and a > 0 for a, b in zip(p, q)):
        return mpmath.inf
    return sum(((a - b) ** 2 / b for a, b in zip(p, q) if b > 0), Fraction(0))


def kl(p, q, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """KL(p || q) = sum p log(p/q) in nats (0 log 0 = 0); +inf if p is not << q."""
    p, q = _pair(p, q)
    dps = check_dps(dps)
    if any(b == 0 and a > 0 for a, b in zip(p, q)):
        return mpmath.inf
    with workdps(dps + _GUARD):
        val = mpmath.fsum(_mpf(a) * mpmath.log(_mpf(a / b)) for a, b in zip(p, q) if a > 0)
        return _finish(val, dps)


def hellinger_sq(p, q, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """H^2 = 1/2 sum (sqrt p - sqrt q)^2, written (p - q)^2 / (sqrt p + sqrt q)^2 (no cancellation)."""
    p, q = _pair(p, q)
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        val = mpmath.fsum(_mpf((a - b) ** 2) / (mpmath.sqrt(_mpf(a)) + mpmath.sqrt(_mpf(b))) ** 2
                          for a, b in zip(p, q) if a != b) / 2
        return _finish(val, dps)


def certified_kl(p, q, dps: int = DEFAULT_DPS):
    """An Arb ball containing KL(p || q); InvalidParameter if it is infinite."""
    from flint import arb, fmpq

    p, q = _pair(p, q)
    if any(b == 0 and a > 0 for a, b in zip(p, q)):
        raise InvalidParameter("q", q, "a law with q_i > 0 wherever p_i > 0 (else KL = +inf)")
    with flint_workdps(check_dps(dps) + _GUARD):
        total = arb(0)
        for a, b in zip(p, q):
            if a > 0:
                r = a / b
                total += arb(fmpq(a.numerator, a.denominator)) * arb(fmpq(r.numerator, r.denominator)).log()
        return _certain(total, "certified_kl")


def certified_hellinger_sq(p, q, dps: int = DEFAULT_DPS):
    """An Arb ball containing H^2(p, q)."""
    from flint import arb, fmpq

    p, q = _pair(p, q)
    with flint_workdps(check_dps(dps) + _GUARD):
        total = arb(0)
        for a, b in zip(p, q):
            if a != b:
                sa = arb(fmpq(a.numerator, a.denominator)).sqrt()
                sb = arb(fmpq(b.numerator, b.denominator)).sqrt()
                total += (sa - sb) ** 2
        return _certain(total / 2, "certified_hellinger_sq")


def push_forward(p, K) -> tuple[Fraction, ...]:
    """The law p K (row vector times a row-stochastic matrix), exactly."""
    p = as_probability_vector(p, "p")
    K = as_stochastic_matrix(K, "K", len(p))
    m = len(K[0])
    return tuple(sum((p[i] * K[i][j] for i in range(len(p))), Fraction(0)) for j in range(m))


def w2_sq_line(points, p, q) -> Fraction:
    """W2^2 between two laws on the same points of the real line, exactly (quantile coupling)."""
    xs = tuple(exact_fraction(x, f"points[{i}]") for i, x in enumerate(points))
    p = as_probability_vector(p, "p", len(xs))
    q = as_probability_vector(q, "q", len(xs))
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    a = [(xs[i], p[i]) for i in order if p[i] > 0]
    b = [(xs[i], q[i]) for i in order if q[i] > 0]
    i = j = 0
    ra, rb = a[0][1], b[0][1]
    total = Fraction(0)
    while i < len(a) and j < len(b):
        mass = min(ra, rb)
        total += mass * (a[i][0] - b[j][0]) ** 2
        ra, rb = ra - mass, rb - mass
        if ra == 0:
            i += 1
            ra = a[i][1] if i < len(a) else Fraction(0)
        if rb == 0:
            j += 1
            rb = b[j][1] if j < len(b) else Fraction(0)
    return total

