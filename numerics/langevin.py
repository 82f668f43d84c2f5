"""Exact Gaussian laws of the Langevin diffusion, ULA and MALA (catalog L1.5-L1.15).

Target pi = N(mu, A^{-1}) with A symmetric positive definite, V(x) = (x - mu)' A (x - mu) / 2.

Main statements computed here (independent routes for the catalog's checks):

* Langevin / OU, dX = -grad V dt + sqrt(2) dB, from N(m_0, S_0):
  m_t - mu = e^{-tA}(m_0 - mu),  S_t = e^{-tA} S_0 e^{-tA} + A^{-1}(I - e^{-2tA})  (:func:`ou_law`).
* ULA, x_{k+1} = x_k - h grad V(x_k) + sqrt(2h) xi_k, with B = I - hA:
  m_{k+1} - mu = B(m_k - mu),  S_{k+1} = B S_k B + 2h I  (:func:`ula_step`, exact rationals;
  :func:`ula_law`, k steps in the eigenbasis); stable iff h < 2/lambda_max(A); stationary law
  pi_h = N(mu, [A(I - hA/2)]^{-1}) (:func:`ula_stationary_law`, exact) and the same covariance
  by summing 2h sum_j B^{2j} (:func:`ula_stationary_covariance_by_series`, independent).
* Independent routes for the catalog: one-step moments by Gauss-Hermite
  (:func:`ula_step_moments_by_quadrature`), Taylor coefficients of the exact bias
  (:func:`ula_bias_taylor_coefficients`) and the calibration of the exact bias against the VW and
  DK bias terms (:func:`ula_bias_calibration_rows`).
* Metropolis-Hastings on a finite space (:func:`metropolis_hastings_kernel`, exact rationals).
* MALA: the log acceptance ratio from the densities (:func:`mala_log_acceptance_ratio`), the
  rejection probability r(x) = 1 - E_{y ~ Q(x, .)} a(x, y) and TV(P_MALA(x, .), Q(x, .)) by
  quadrature in 1-D for any potential (:func:`mala_rejection_probability_1d`,
  :func:`mala_tv_to_ula_1d`), and the detailed-balance flux (:func:`mala_flux_1d`).
* Holley-Stroock family: pi_c ∝ exp(-x^2/2 - c sin x), mu = N(a, b): KL(mu || pi_c) and
  I(mu || pi_c) from Gaussian moments of sin/cos plus the normaliser by quadrature
  (:func:`perturbed_gaussian_kl_fisher`).

References: Pavliotis 2014 (OU); Roberts-Tweedie 1996 (ULA/MALA); Vempala-Wibisono 2019;
Holley-Stroock 1987.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Sequence

import mpmath

from numerics.divergences import (SPDMatrix, _exact_is_spd, exact_matmul, _mpf, as_mp_spd, as_mp_vector,
                                  as_probability_vector, as_stochastic_matrix, exact_inverse, exact_matrix)
from numerics.errors import InvalidParameter
from numerics.precision import DEFAULT_DPS, check_dps, exact_fraction, flint_workdps, workdps
from numerics.quadrature import integrate_line

__all__ = [
    "ou_law", "ula_step", "ula_iterate", "ula_law", "ula_is_stable", "ula_stationary_law",
    "ula_stationary_variances", "ula_stationary_covariance_by_series",
    "mala_log_acceptance_ratio", "mala_acceptance", "mala_rejection_probability_1d",
    "mala_tv_to_ula_1d", "mala_rejection_and_tv_1d", "mala_flux_1d", "metropolis_hastings_kernel",
    "ula_step_moments_by_quadrature", "ula_bias_taylor_coefficients", "ula_bias_calibration_rows", "perturbed_gaussian_kl_fisher", "perturbed_gaussian_log_normaliser",
    "certified_perturbed_gaussian_kl_fisher",
]

_GUARD = 15


def _spectrum(A: Any):
    """(Q, eigenvalues) of an SPD matrix at the current precision (exact when A is SPDMatrix)."""
    if isinstance(A, SPDMatrix):
        q = mpmath.matrix([[_mpf(x) for x in row] for row in A.rotation])
        return q, [_mpf(x) for x in A.eigenvalues]
    M = as_mp_spd(A, "A")
    E, Q = mpmath.eigsy(M)
    return Q, [E[i] for i in range(M.rows)]


def _fun(Q, lam, f) -> mpmath.matrix:
    n = len(lam)
    vals = [f(x) for x in lam]
    out = mpmath.matrix(n, n)
    for i in range(n):
        for j in range(i, n):
            out[i, j] = out[j, i] = mpmath.fsum(Q[i, k] * vals[k] * Q[j, k] for k in range(n))
    return out


def _positive(value, name) -> Fraction:
    x = exact_fraction(value, name)
    if x <= 0:
        raise InvalidParameter(name, value, "a positive number")
    return x


def _nonneg_mpf(value, name) -> mpmath.mpf:
    x = value if isinstance(value, mpmath.mpf) else _mpf(exact_fraction(value, name))
    if not (mpmath.isfinite(x) and x >= 0):
        raise InvalidParameter(name, value, "a finite number >= 0")
    return x


# ----------------------------------------------------------------------------- Langevin / OU

def ou_law(t, m0, S0, mu, A, dps: int = DEFAULT_DPS) -> tuple[mpmath.matrix, mpmath.matrix]:
    """Mean and covariance at time t of dX = -A(X - mu) dt + sqrt(2) dB started at N(m0, S0)."""
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        tt = _nonneg_mpf(t, "t")
        Q, lam = _spectrum(A)
        d = len(lam)
        S0m = as_mp_spd(S0, "S0", d)
        E = _fun(Q, lam, lambda x: mpmath.exp(-tt * x))
        W = _fun(Q, lam, lambda x: -mpmath.expm1(-2 * tt * x) / x)  # A^{-1}(I - e^{-2tA})
        muv = as_mp_vector(mu, "mu", d)
        m = muv + E * (as_mp_vector(m0, "m0", d) - muv)
        S = E * S0m * E + W
    with workdps(dps):
        return +m, (S + S.T) / 2


# ----------------------------------------------------------------------------- ULA

def _exact_target(mu, A, h):
    rows = exact_matrix(A, "A")
    if not isinstance(A, SPDMatrix) and not _exact_is_spd(rows):
        raise InvalidParameter("A", A, "a symmetric positive-definite matrix")
    d = len(rows)
    try:
        muv = tuple(exact_fraction(x, "mu") for x in mu)
    except TypeError:
        raise InvalidParameter("mu", mu, "a sequence of exact numbers") from None
    if len(muv) != d:
        raise InvalidParameter("mu", mu, f"a vector of length {d}")
    return rows, muv, _positive(h, "h")


def ula_step(m, S, mu, A, h) -> tuple[tuple, tuple]:
    """One ULA step on N(m, S) for the target N(mu, A^{-1}), in exact rational arithmetic.

    The law of x' = x - h A (x - mu) + sqrt(2h) xi is N(mu + B(m - mu), B S B + 2h I), B = I - hA.
    """
    rows, muv, h = _exact_target(mu, A, h)
    d = len(rows)
    m = tuple(exact_fraction(x, "m") for x in m)
    S = exact_matrix(S, "S")
    if len(m) != d or len(S) != d:
        raise InvalidParameter("m, S", (m, S), f"a mean and covariance of dimension {d}")
    B = tuple(tuple(Fraction(int(i == j)) - h * rows[i][j] for j in range(d)) for i in range(d))
    mean = tuple(muv[i] + sum(B[i][j] * (m[j] - muv[j]) for j in range(d)) for i in range(d))
    cov = exact_matmul(exact_matmul(B, S), B)
    cov = tuple(tuple(cov[i][j] + (2 * h if i == j else 0) for j in range(d)) for i in range(d))
    return mean, cov


def ula_iterate(k: int, m0, S0, mu, A, h) -> tuple[tuple, tuple]:
    """k exact ULA steps (rational arithmetic; sizes grow with k, keep k small)."""
    if not (isinstance(k, int) and k >= 0):
        raise InvalidParameter("k", k, "a number of steps >= 0")
    m, S = tuple(m0), exact_matrix(S0, "S0")
    for _ in range(k):
        m, S = ula_step(m, S, mu, A, h)
    return m, S


def ula_law(k: int, m0, S0, mu, A, h, dps: int = DEFAULT_DPS) -> tuple[mpmath.matrix, mpmath.matrix]:
    """The ULA law after k steps, in the eigenbasis of A at ``dps`` digits:

    m_k - mu = B^k (m0 - mu),  S_k = B^k S0 B^k + sum_{j<k} 2h B^{2j}
    (the geometric sum is taken per eigenvalue: 2h (1 - b^{2k}) / (1 - b^2), b = 1 - h lambda).
    """
    dps = check_dps(dps)
    if not (isinstance(k, int) and k >= 0):
        raise InvalidParameter("k", k, "a number of steps >= 0")
    hh = _positive(h, "h")
    with workdps(dps + _GUARD):
        hm = _mpf(hh)
        Q, lam = _spectrum(A)
        d = len(lam)
        Bk = _fun(Q, lam, lambda x: (1 - hm * x) ** k)

        def noise(x):
            b2 = (1 - hm * x) ** 2
            return 2 * hm * k if b2 == 1 else 2 * hm * (1 - b2 ** k) / (1 - b2)

        muv = as_mp_vector(mu, "mu", d)
        m = muv + Bk * (as_mp_vector(m0, "m0", d) - muv)
        S = Bk * as_mp_spd(S0, "S0", d) * Bk + _fun(Q, lam, noise)
    with workdps(dps):
        return +m, (S + S.T) / 2


def ula_is_stable(A, h) -> bool:
    """True iff the ULA covariance recursion converges: h < 2 / lambda_max(A) (exact for SPDMatrix)."""
    hh = _positive(h, "h")
    if isinstance(A, SPDMatrix):
        return hh * A.lambda_max < 2
    with workdps(60):
        _, lam = _spectrum(A)
        return _mpf(hh) * max(lam) < 2


def ula_stationary_variances(eigenvalues: Sequence[Any], h) -> tuple[Fraction, ...]:
    """Per eigenvalue lambda: v_h = 1 / (lambda (1 - h lambda / 2)), exact (needs h lambda < 2)."""
    hh = _positive(h, "h")
    lam = [_positive(x, "eigenvalues") for x in eigenvalues]
    if any(hh * x >= 2 for x in lam):
        raise InvalidParameter("h", h, "a step h < 2 / lambda_max (ULA is unstable otherwise)")
    return tuple(1 / (x * (1 - hh * x / 2)) for x in lam)


def ula_stationary_law(mu, A, h) -> tuple[tuple, Any]:
    """pi_h = N(mu, [A (I - hA/2)]^{-1}) exactly: an SPDMatrix if A is one, else exact rows."""
    rows, muv, hh = _exact_target(mu, A, h)
    if not ula_is_stable(A, hh):
        raise InvalidParameter("h", h, "a step h < 2 / lambda_max(A) (ULA is unstable otherwise)")
    if isinstance(A, SPDMatrix):
        return muv, SPDMatrix(A.rotation, ula_stationary_variances(A.eigenvalues, hh))
    d = len(rows)
    M = tuple(tuple(sum(rows[i][k] * ((k == j) - hh * rows[k][j] / 2) for k in range(d))
                    for j in range(d)) for i in range(d))
    return muv, exact_inverse(M, "A")


def ula_stationary_covariance_by_series(A, h, dps: int = DEFAULT_DPS) -> mpmath.matrix:
    """2h sum_{j >= 0} B^{2j}, B = I - hA, summed term by term to below 10^-(dps+5) (no closed form)."""
    dps = check_dps(dps)
    hh = _positive(h, "h")
    if not ula_is_stable(A, hh):
        raise InvalidParameter("h", h, "a step h < 2 / lambda_max(A) (the series diverges otherwise)")
    with workdps(dps + _GUARD):
        M = A.mp() if isinstance(A, SPDMatrix) else as_mp_spd(A, "A")
        d = M.rows
        B = mpmath.eye(d) - _mpf(hh) * M
        B2 = B * B
        term = 2 * _mpf(hh) * mpmath.eye(d)
        total = mpmath.zeros(d, d)
        eps = mpmath.mpf(10) ** (-(dps + 5))
        for _ in range(200000):
            total += term
            term = term * B2
            if mpmath.mnorm(term, 1) <= eps * mpmath.mnorm(total, 1):
                break
        else:  # pragma: no cover - only for steps extremely close to 0 or 2/lambda_max
            raise InvalidParameter("h", h, "a step with h lambda bounded away from 0 and 2 (series too slow)")
    with workdps(dps):
        return +total


def ula_step_moments_by_quadrature(A, S, m, mu, h) -> tuple[mpmath.matrix, mpmath.matrix]:
    """Mean and covariance of x' = x - hA(x - mu) + sqrt(2h) xi, x ~ N(m, S), by the tensor
    2-point Gauss-Hermite rule in (x, xi) (exact: the moments are polynomials of degree <= 2).
    An independent route to :func:`ula_step`; inputs are mpmath matrices at the current precision."""
    L = mpmath.cholesky(S)
    d = A.rows
    first, second = mpmath.zeros(d, 1), mpmath.zeros(d, d)
    for signs in itertools.product((-1, 1), repeat=2 * d):
        z = mpmath.matrix(list(signs))
        x = m + L * z[:d, 0]
        xp = x - h * (A * (x - mu)) + mpmath.sqrt(2 * h) * z[d:, 0]
        first += xp
        second += xp * xp.T
    first, second = first / 2 ** (2 * d), second / 2 ** (2 * d)
    return first, second - first * first.T


def ula_bias_taylor_coefficients(lam, dps: int = DEFAULT_DPS, order: int = 3) -> dict:
    """Taylor coefficients in h (h^0..h^order) of the per-eigenvalue stationary bias
    KL(pi_h || pi), KL(pi || pi_h), W2^2(pi_h, pi), by mpmath.taylor (numerical differentiation at
    30 extra digits) of the Gaussian KL / W2^2 at v_h = 1/(lam (1 - h lam/2))."""
    lm = _mpf(_positive(lam, "lam"))
    with workdps(check_dps(dps) + 30):
        def r(h):  # lam v_h
            return 1 / (1 - h * lm / 2)

        funcs = {"kl_forward": lambda h: (r(h) - 1 - mpmath.log(r(h))) / 2,
                 "kl_reverse": lambda h: (1 / r(h) - 1 + mpmath.log(r(h))) / 2,
                 "w2_sq": lambda h: (mpmath.sqrt(r(h)) - 1) ** 2 / lm}
        return {k: mpmath.taylor(f, 0, order) for k, f in funcs.items()}


def ula_bias_calibration_rows(A: SPDMatrix, steps: Sequence[Any], dps: int = DEFAULT_DPS,
                              dk_constant: str = "1.65") -> list[dict]:
    """For each step h: the exact stationary bias of ULA on N(0, A^{-1}) (KL both ways, W2) and the
    bias terms of the bounds, VW 8 h d L^2/alpha and DK c (L/alpha) sqrt(h d) with alpha =
    lambda_min(A), L = lambda_max(A), and the ratios exact/bound."""
    from numerics.divergences import gaussian_kl, gaussian_w2

    d, alpha, L = A.dim, _mpf(A.lambda_min), _mpf(A.lambda_max)
    mu = (0,) * d
    rows = []
    for h in steps:
        _, cov_h = ula_stationary_law(mu, A, h)
        kf = gaussian_kl(mu, cov_h, mu, A.inverse(), dps)
        kr = gaussian_kl(mu, A.inverse(), mu, cov_h, dps)
        w2 = gaussian_w2(mu, cov_h, mu, A.inverse(), dps)
        with workdps(dps):
            hm = _mpf(exact_fraction(h, "h"))
            vw = 8 * hm * d * L ** 2 / alpha
            dk = mpmath.mpf(dk_constant) * L / alpha * mpmath.sqrt(hm * d)
            rows.append({"h": exact_fraction(h, "h"), "kl_forward": kf, "kl_reverse": kr,
                         "w2": w2, "vw_term": vw, "ratio_kl_to_vw": kf / vw, "dk_term": dk, "ratio_w2_to_dk": w2 / dk})
    return rows


# ----------------------------------------------------------------------------- MALA and Metropolis-Hastings

def mala_log_acceptance_ratio(x, y, mu, A, h, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """log[pi(y) q(y, x) / (pi(x) q(x, y))] for pi = N(mu, A^{-1}), from the densities.

    q(x, y) ∝ exp(-|y - x + h grad V(x)|^2 / (4h)) (the normalisers cancel).
    """
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        M = A.mp() if isinstance(A, SPDMatrix) else as_mp_spd(A, "A")
        d = M.rows
        xv, yv, muv = (as_mp_vector(v, n, d) for v, n in ((x, "x"), (y, "y"), (mu, "mu")))
        hm = _mpf(_positive(h, "h"))

        def V(z):
            return ((z - muv).T * M * (z - muv))[0, 0] / 2

        def log_q(a, b):
            r = b - a + hm * (M * (a - muv))
            return -(r.T * r)[0, 0] / (4 * hm)

        val = -V(yv) + V(xv) + log_q(yv, xv) - log_q(xv, yv)
    with workdps(dps):
        return +val


def mala_acceptance(x, y, mu, A, h, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """a(x, y) = min{1, exp(log acceptance ratio)}."""
    with workdps(check_dps(dps)):
        return min(mpmath.mpf(1), mpmath.exp(mala_log_acceptance_ratio(x, y, mu, A, h, dps)))


def _q1(x, y, grad_V, h):
    r = y - x + h * grad_V(x)
    return mpmath.exp(-r * r / (4 * h)) / mpmath.sqrt(4 * mpmath.pi * h)


def _accept1(x, y, V, grad_V, h):
    log_ratio = -V(y) + V(x) + mpmath.log(_q1(y, x, grad_V, h)) - mpmath.log(_q1(x, y, grad_V, h))
    return min(mpmath.mpf(1), mpmath.exp(log_ratio))


def mala_flux_1d(x, y, V: Callable, grad_V: Callable, h, dps: int = DEFAULT_DPS) -> tuple:
    """(e^{-V(x)} q(x, y) a(x, y), e^{-V(y)} q(y, x) a(y, x)): detailed balance says they are equal.

    ``V`` and ``grad_V`` take and return mpmath numbers; x, y, h exact.
    """
    dps = check_dps(dps)
    with workdps(dps + _GUARD):
        xm, ym = (_mpf(exact_fraction(v, n)) for v, n in ((x, "x"), (y, "y")))
        hm = _mpf(_positive(h, "h"))
        f = mpmath.exp(-V(xm)) * _q1(xm, ym, grad_V, hm) * _accept1(xm, ym, V, grad_V, hm)
        b = mpmath.exp(-V(ym)) * _q1(ym, xm, grad_V, hm) * _accept1(ym, xm, V, grad_V, hm)
    with workdps(dps):
        return +f, +b


def _mala_integrals(x, V, grad_V, h, dps, breakpoints):
    """(int (1 - a) q dy, int a q dy) by quadrature; the log acceptance ratio is evaluated from
    the potential and the proposal exponents (their normalisers cancel)."""
    dps = check_dps(dps)
    with workdps(dps + 5):
        xm = _mpf(exact_fraction(x, "x"))
        hm = _mpf(_positive(h, "h"))
        gx, vx = grad_V(xm), V(xm)
        centre = xm - hm * gx
        norm = 1 / mpmath.sqrt(4 * mpmath.pi * hm)
        cuts = [centre, xm] + [mpmath.mpmathify(b) for b in breakpoints]

        def parts(y):
            fwd = y - centre                      # y - x + h grad V(x)
            bwd = xm - y + hm * grad_V(y)         # x - y + h grad V(y)
            q = norm * mpmath.exp(-fwd * fwd / (4 * hm))
            log_ratio = vx - V(y) + (fwd * fwd - bwd * bwd) / (4 * hm)
            a = mpmath.mpf(1) if log_ratio >= 0 else mpmath.exp(log_ratio)
            return a, q

        def rejected(y):
            a, q = parts(y)
            return (1 - a) * q

        def accepted(y):
            a, q = parts(y)
            return a * q

        return (integrate_line(rejected, dps + 5, cuts, dps).value,
                integrate_line(accepted, dps + 5, cuts, dps).value)


def mala_rejection_and_tv_1d(x, V: Callable, grad_V: Callable, h, dps: int = DEFAULT_DPS,
                             breakpoints: Sequence = ()) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(r(x), TV(P_MALA(x, .), Q(x, .))) from one pair of quadratures (see the two functions below)."""
    rej, acc = _mala_integrals(x, V, grad_V, h, dps, breakpoints)
    with workdps(dps + 5):
        tv = (abs(rej) + (1 - acc)) / 2
    with workdps(dps):
        return +rej, +tv


def mala_rejection_probability_1d(x, V: Callable, grad_V: Callable, h, dps: int = DEFAULT_DPS,
                                  breakpoints: Sequence = ()) -> mpmath.mpf:
    """r(x) = int (1 - a(x, y)) q(x, y) dy by quadrature (split at the proposal mean, x and the
    caller's ``breakpoints``: put the kinks of a(x, .) there for full accuracy)."""
    rej, _ = _mala_integrals(x, V, grad_V, h, dps, breakpoints)
    with workdps(dps):
        return +rej


def mala_tv_to_ula_1d(x, V: Callable, grad_V: Callable, h, dps: int = DEFAULT_DPS,
                      breakpoints: Sequence = ()) -> mpmath.mpf:
    """TV(P_MALA(x, .), Q(x, .)) from the Lebesgue decomposition P = a Q + (1 - int a q) delta_x:
    1/2 (int |a q - q| dy + the atom's mass), each integral by quadrature."""
    rej, acc = _mala_integrals(x, V, grad_V, h, dps, breakpoints)
    with workdps(dps + 5):
        val = (abs(rej) + (1 - acc)) / 2
    with workdps(dps):
        return +val


def metropolis_hastings_kernel(pi, Q) -> tuple:
    """The MH kernel of target ``pi`` and proposal ``Q`` (exact rationals).

    P(x, y) = Q(x, y) a(x, y) for y != x with a = min{1, pi(y) Q(y, x) / (pi(x) Q(x, y))};
    the rejected mass stays at x.  Requires pi > 0 and Q(x, y) > 0 iff Q(y, x) > 0.
    """
    pi = as_probability_vector(pi, "pi")
    Q = as_stochastic_matrix(Q, "Q", len(pi))
    n = len(pi)
    if len(Q[0]) != n or any(x <= 0 for x in pi):
        raise InvalidParameter("pi", pi, "a positive law on the proposal's state space")
    if any((Q[x][y] > 0) != (Q[y][x] > 0) for x in range(n) for y in range(n)):
        raise InvalidParameter("Q", Q, "a proposal with Q(x, y) > 0 iff Q(y, x) > 0")
    P = [[Fraction(0)] * n for _ in range(n)]
    for x in range(n):
        for y in range(n):
            if y != x and Q[x][y] > 0:
                P[x][y] = Q[x][y] * min(Fraction(1), pi[y] * Q[y][x] / (pi[x] * Q[x][y]))
        P[x][x] = 1 - sum(P[x][y] for y in range(n) if y != x)
    return tuple(tuple(r) for r in P)



# ----------------------------------------------------------------------------- Holley-Stroock

@lru_cache(maxsize=256)
def perturbed_gaussian_log_normaliser(c: Fraction, dps: int, method: str = "series") -> mpmath.mpf:
    """log Z_c = log E_{N(0,1)} exp(-c sin X).

    ``series``: sum_n (-c)^n/n! E sin^n X with E sin^n X = (2i)^{-n} sum_j C(n, j) (-1)^{n-j}
    e^{-(2j-n)^2/2} (from E e^{ikX} = e^{-k^2/2}), summed until the terms are below 10^-(dps+10);
    ``quadrature``: mpmath tanh-sinh on the real line (an independent route for tests).
    """
    c = exact_fraction(c, "c")
    with workdps(dps + 10):
        cm = _mpf(c)
        if method == "quadrature":
            norm = 1 / mpmath.sqrt(2 * mpmath.pi)
            return mpmath.log(integrate_line(lambda x: mpmath.exp(-x * x / 2 - cm * mpmath.sin(x)) * norm,
                                             dps + 10, [-4, 4]).value)
        if method != "series":
            raise InvalidParameter("method", method, "'series' or 'quadrature'")
        total, n, term_scale = mpmath.mpf(1), 1, mpmath.mpf(1)
        eps = mpmath.mpf(10) ** (-(dps + 10))
        while True:
            term_scale = term_scale * (-cm) / n
            if n % 2 == 0:  # odd moments of sin X vanish (X is symmetric)
                moment = mpmath.fsum(mpmath.binomial(n, j) * (-1) ** (n - j) * mpmath.exp(-mpmath.mpf(2 * j - n) ** 2 / 2)
                                     for j in range(n + 1)) / (-4) ** (n // 2)
                total += term_scale * moment
            if abs(term_scale) < eps and n > 2:
                break
            n += 1
        return mpmath.log(total)


def perturbed_gaussian_kl_fisher(a, b, c, dps: int = DEFAULT_DPS) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(KL(mu || pi_c), I(mu || pi_c)) for mu = N(a, b), pi_c ∝ exp(-x^2/2 - c sin x).

    KL = -log(b)/2 - 1/2 + (a^2 + b)/2 + c E sin X + log Z_c and, with
    g(x) = (1 - 1/b) x + a/b + c cos x = grad log(mu/pi_c), I = E g(X)^2, where
    E cos X = cos(a) e^{-b/2}, E sin X = sin(a) e^{-b/2}, E X cos X = e^{-b/2}(a cos a - b sin a),
    E cos^2 X = (1 + cos(2a) e^{-2b})/2; Z_c = E_{N(0,1)} e^{-c sin X} by its moment series
    (:func:`perturbed_gaussian_log_normaliser`; quadrature agrees, see the tests).
    """
    dps = check_dps(dps)
    A, B, C = exact_fraction(a, "a"), _positive(b, "b"), exact_fraction(c, "c")
    with workdps(dps + _GUARD):
        am, bm, cm = _mpf(A), _mpf(B), _mpf(C)
        damp = mpmath.exp(-bm / 2)
        e_sin, e_cos = mpmath.sin(am) * damp, mpmath.cos(am) * damp
        e_xcos = damp * (am * mpmath.cos(am) - bm * mpmath.sin(am))
        e_cos2 = (1 + mpmath.cos(2 * am) * mpmath.exp(-2 * bm)) / 2
        kl_val = (-mpmath.log(bm) - 1 + am * am + bm) / 2 + cm * e_sin + perturbed_gaussian_log_normaliser(C, dps + 5)
        s = 1 - 1 / bm
        t = am / bm
        fisher = (s * s * (am * am + bm) + 2 * s * t * am + t * t + 2 * cm * s * e_xcos
                  + 2 * cm * t * e_cos + cm * cm * e_cos2)
    with workdps(dps):
        return +kl_val, +fisher


@lru_cache(maxsize=64)
def _certified_log_normaliser(c: Fraction, dps: int):
    from flint import arb, fmpq

    with flint_workdps(dps):
        cm = arb(fmpq(c.numerator, c.denominator))
        total, term, n = arb(1), arb(1), 0
        eps = arb(10) ** (-(dps + 5))
        while True:
            n += 1
            term = term * (-cm) / n
            if n % 2 == 0:
                moment = sum((arb.bin_uiui(n, j) * (-1) ** (n - j) * (-(arb(2 * j - n) ** 2) / 2).exp()
                              for j in range(n + 1)), arb(0)) / arb(-4) ** (n // 2)
                total += term * moment
            if n > 2 and abs(term).upper() < eps.lower():
                break
        tail = abs(term) * abs(cm) * abs(cm).exp()  # >= |c|^{N+1} e^{|c|} / (N+1)!
        return (total + arb(0, tail.upper())).log()


def certified_perturbed_gaussian_kl_fisher(a, b, c: Any, dps: int = 30) -> tuple:
    """Enclosures of (KL(mu || pi_c), I(mu || pi_c)) for every mu = N(a, b) with a, b in the given
    balls (python-flint ``arb``, or :class:`Dual` numbers over them for derivative enclosures) and an
    exact c: the formulas of :func:`perturbed_gaussian_kl_fisher` in ball arithmetic, with log Z_c from
    its moment series plus the rigorous tail bound sum_{n > N} |c|^n/n! <= |c|^{N+1} e^{|c|}/(N+1)!
    (|E sin^n X| <= 1)."""
    from flint import arb, fmpq

    c = exact_fraction(c, "c")
    log_z = _certified_log_normaliser(c, check_dps(dps))
    with flint_workdps(dps):
        cm = arb(fmpq(c.numerator, c.denominator))
        damp = (-b / 2).exp()
        e_sin, e_cos = a.sin() * damp, a.cos() * damp
        e_xcos = damp * (a * a.cos() - b * a.sin())
        e_cos2 = (1 + (2 * a).cos() * (-2 * b).exp()) / 2
        kl = (-b.log() - 1 + a * a + b) / 2 + cm * e_sin + log_z
        s_, t_ = 1 - 1 / b, a / b
        fisher = (s_ * s_ * (a * a + b) + 2 * s_ * t_ * a + t_ * t_ + 2 * cm * s_ * e_xcos
                  + 2 * cm * t_ * e_cos + cm * cm * e_cos2)
        return kl, fisher
