"""Langevin, ULA and MALA on Gaussian targets: sympy derivations and the scalar reductions of
the chapter's bounds (catalog L1.5-L1.15).

Main statements (each a function returning sympy expressions *derived* from definitions):

* :func:`ou_state_rates`: along dX = -lam (X - mu) dt + sqrt(2) dB the law N(m, v) moves with
  dm/dt = -lam (m - mu), dv/dt = 2 - 2 lam v (derivative at t = 0 of the explicit OU law).
* :func:`entropy_dissipation_1d`: d/dt KL(rho_t || pi) and d/dt chi^2(rho_t || pi) by the chain
  rule along those rates (the catalog states them as -I and -2 E_pi |grad(rho/pi)|^2).
* :func:`ula_one_step_2d`: mean and covariance of one ULA step in 2-D with symbolic A, S (by
  bilinearity of the covariance); :func:`ula_stationary_variance`: the fixed point of
  v = (1 - h lam)^2 v + 2 h.
* :func:`ula_bias_1d`: per eigenvalue, KL(pi_h || pi), KL(pi || pi_h), W2^2(pi_h, pi) from the
  Gaussian KL and Bures formulas; :func:`series_in_h`.
* :func:`mala_log_ratio_1d`, :func:`mala_rejection_probability_1d`: the Gaussian MALA log
  acceptance ratio from the densities, and r(x) by completing the square in each tail.
* Scalar reductions for z3 (each documented with the argument that reduces the matrix bound
  to it): :func:`lsi_reduction`, :func:`talagrand_reduction`, :func:`ula_stationary_kl_reduction`,
  :func:`dk_contraction_reduction`, :func:`dk_bias_reduction`; and the log lemmas they use,
  each proved by :class:`MonotoneLemma` (f(x0) = 0 exactly and (x - x0) f'(x) >= 0 by z3).

References: Bakry-Gentil-Ledoux 2014; Vempala-Wibisono 2019; Dalalyan-Karagulyan 2019;
Roberts-Tweedie 1996.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from identities import ProofResult, prove_nonnegative

__all__ = [
    "MonotoneLemma", "LOG_UPPER", "LOG_LOWER", "LOG1P_UPPER", "gaussian_kl_1d", "gaussian_chi2_1d",
    "gaussian_fisher_1d", "ou_law_1d",
    "ou_state_rates", "entropy_dissipation_1d", "ula_one_step_2d", "ula_stationary_variance",
    "ula_bias_1d", "series_in_h", "mala_log_ratio_1d", "mala_rejection_probability_1d", "canonical_erfc",
    "lsi_reduction", "talagrand_reduction", "ula_stationary_kl_reduction",
    "dk_contraction_reduction", "dk_bias_reduction", "S", "R",
]


class S:
    """The chapter's symbols for derivations (positive where the notes make them positive)."""

    h, lam, v, t, alpha, L, r, s, y = sp.symbols("h lam v t alpha L r s y", positive=True)
    m, mu, x, yy = sp.symbols("m mu x y", real=True)


class R:
    """Plain real symbols for z3 reductions: positivity is stated as an assumption or condition.

    (A sympy-positive symbol would make ``s > 0`` evaluate to True before it reaches the solver,
    so the solver would not know the sign.)
    """

    h, lam, alpha, L, r, s, m, mu_e, y, w, u, k = sp.symbols("h lam alpha L r s m mu_e y w u k", real=True)
    m_c, M_c = sp.symbols("m_c M_c", real=True)  # strong convexity m / smoothness M


# ----------------------------------------------------------------------------- lemmas

@dataclass(frozen=True)
class MonotoneLemma:
    """``relation`` holds for ``variable`` in ``domain`` because f = (larger - smaller side)
    vanishes exactly at ``x0`` and (variable - x0) f'(variable) >= 0 on the domain (z3).

    By the mean value theorem f then decreases to 0 before x0 and increases after: f >= 0.
    f' must be free of log/exp (true for the log lemmas below).
    """

    name: str
    relation: Any
    variable: sp.Symbol
    x0: Any
    domain: tuple = ()

    def f(self) -> sp.Expr:
        rel = self.relation
        return rel.rhs - rel.lhs if rel.rel_op in ("<=", "<") else rel.lhs - rel.rhs

    def prove(self, timeout: float = 10.0) -> ProofResult:
        f = self.f()
        at = sp.simplify(f.subs(self.variable, self.x0))
        if at != 0:
            return ProofResult("FAIL", None, (("value_at_x0", "nonzero", 0.0),), None, str(at),
                               0.0, timeout, f"f({self.x0}) = {at}, not 0")
        derivative = sp.together(sp.diff(f, self.variable))
        return prove_nonnegative((self.variable - self.x0) * derivative, None,
                                 conditions=self.domain, timeout=timeout)

    def instance(self, expr: sp.Expr) -> Any:
        """The lemma with ``variable`` replaced by ``expr`` (valid where expr is in the domain)."""
        return self.relation.subs(self.variable, expr)


#: log y <= y - 1 for y > 0.
LOG_UPPER = MonotoneLemma("log y <= y - 1", sp.log(R.y) <= R.y - 1, R.y, 1, (R.y > 0,))
#: log y >= 1 - 1/y for y > 0.
LOG_LOWER = MonotoneLemma("log y >= 1 - 1/y", sp.log(R.y) >= 1 - 1 / R.y, R.y, 1, (R.y > 0,))
#: log(1 + w) <= w for w > -1.
LOG1P_UPPER = MonotoneLemma("log(1 + w) <= w", sp.log(1 + R.w) <= R.w, R.w, 0, (R.w > -1,))


# ----------------------------------------------------------------------------- Gaussian formulas

def gaussian_kl_1d(m1, v1, m2, v2) -> sp.Expr:
    """KL(N(m1, v1) || N(m2, v2)) derived as E[log p - log q] with a moment table (E z = 0, E z^2 = 1)."""
    z = sp.Symbol("z_", real=True)
    xval = m1 + sp.sqrt(v1) * z
    log_p = -sp.log(2 * sp.pi * v1) / 2 - (xval - m1) ** 2 / (2 * v1)
    log_q = -sp.log(2 * sp.pi * v2) / 2 - (xval - m2) ** 2 / (2 * v2)
    return _gaussian_moments(sp.expand(log_p - log_q), z)


def _gaussian_moments(expr: sp.Expr, z: sp.Symbol) -> sp.Expr:
    """E over z ~ N(0, 1) of a polynomial in z (coefficients may be anything)."""
    poly = sp.Poly(sp.expand(expr), z)
    total = sp.Integer(0)
    for (k,), coeff in poly.terms():
        if k % 2 == 0:
            total += coeff * sp.factorial2(k - 1) if k else coeff
    return total


def gaussian_fisher_1d(m1, v1, m2, v2) -> sp.Expr:
    """I(N(m1, v1) || N(m2, v2)) = E |d/dx log(p/q)|^2 with the same moment table."""
    z = sp.Symbol("z_", real=True)
    xs = sp.Symbol("x_", real=True)
    log_ratio = -(xs - m1) ** 2 / (2 * v1) + (xs - m2) ** 2 / (2 * v2)
    g = sp.diff(log_ratio, xs).subs(xs, m1 + sp.sqrt(v1) * z)
    return _gaussian_moments(g ** 2, z)


def gaussian_chi2_1d(m1, v1, m2, v2) -> sp.Expr:
    """chi^2(N(m1, v1) || N(m2, v2)) for v1 < 2 v2: int p^2/q - 1 by completing the square.

    p^2/q = (2 pi v1)^{-1} (2 pi v2)^{1/2} exp(-(y - m1)^2/v1 + (y - m2)^2/(2 v2)).
    """
    prefactor = sp.sqrt(2 * sp.pi * v2) / (2 * sp.pi * v1)
    exponent = -(S.yy - m1) ** 2 / v1 + (S.yy - m2) ** 2 / (2 * v2)
    a, b, c = _quadratic(exponent, S.yy)
    return prefactor * sp.sqrt(sp.pi / a) * sp.exp(sp.cancel(b ** 2 / (4 * a) + c)) - 1


def _quadratic(expr: sp.Expr, var: sp.Symbol):
    """(a, b, c) with expr = -a var^2 + b var + c (log-space Gaussian integrand)."""
    poly = sp.Poly(sp.expand(expr), var)
    if poly.degree() != 2:
        raise ValueError("expected a quadratic exponent")
    return -poly.coeff_monomial(var ** 2), poly.coeff_monomial(var), poly.coeff_monomial(1)


def _gaussian_tail(exponent: sp.Expr, lower: sp.Expr) -> sp.Expr:
    """int_lower^inf exp(-a y^2 + b y + c) dy = sqrt(pi/a)/2 exp(b^2/4a + c) erfc(sqrt(a)(lower - b/2a))."""
    a, b, c = _quadratic(exponent, S.yy)
    return (sp.sqrt(sp.pi / a) / 2 * sp.exp(sp.cancel(b ** 2 / (4 * a) + c))
            * sp.erfc(sp.factor(sp.sqrt(a) * (lower - b / (2 * a)))))


def canonical_erfc(expr: sp.Expr) -> sp.Expr:
    """Rewrite every erfc(z) with z factored and a positive-looking sign (erfc(-z) = 2 - erfc(z)),
    so that equal arguments become identical atoms for a canonical-form proof."""
    def fix(arg):
        z = sp.factor(sp.powsimp(sp.powdenest(arg, force=True), force=True))
        return 2 - sp.erfc(sp.factor(-z)) if z.could_extract_minus_sign() else sp.erfc(z)
    return expr.replace(lambda e: isinstance(e, sp.erfc), lambda e: fix(e.args[0]))


# ----------------------------------------------------------------------------- Langevin / OU

def ou_law_1d(m0, v0, mu, lam, t):
    """The explicit OU law N(m_t, v_t) for dX = -lam (X - mu) dt + sqrt(2) dB."""
    return mu + sp.exp(-lam * t) * (m0 - mu), sp.exp(-2 * lam * t) * v0 + (1 - sp.exp(-2 * lam * t)) / lam


def ou_state_rates() -> tuple[sp.Expr, sp.Expr]:
    """(dm/dt, dv/dt) at the state (m, v): derivative at t = 0 of the flow started there."""
    mt, vt = ou_law_1d(S.m, S.v, S.mu, S.lam, S.t)
    return sp.diff(mt, S.t).subs(S.t, 0), sp.simplify(sp.diff(vt, S.t).subs(S.t, 0))


def entropy_dissipation_1d() -> dict:
    """d/dt KL(rho_t || pi) and d/dt chi^2(rho_t || pi) at rho_t = N(m, v), pi = N(mu, 1/lam),
    by the chain rule along :func:`ou_state_rates` (the chi^2 form needs v < 2/lam)."""
    dm, dv = ou_state_rates()
    kl = gaussian_kl_1d(S.m, S.v, S.mu, 1 / S.lam)
    chi2 = gaussian_chi2_1d(S.m, S.v, S.mu, 1 / S.lam)
    return {"dkl_dt": sp.diff(kl, S.m) * dm + sp.diff(kl, S.v) * dv,
            "dchi2_dt": sp.diff(chi2, S.m) * dm + sp.diff(chi2, S.v) * dv}


# ----------------------------------------------------------------------------- ULA

def ula_one_step_2d() -> dict:
    """Mean and covariance entries of x' = x - h A (x - mu) + sqrt(2h) xi, x ~ N(m, S), in 2-D.

    By bilinearity: x' is the linear image [B, sqrt(2h) I] (x, xi) + h A mu of a vector with
    covariance diag(S, I), so Cov x' = [B, sqrt(2h) I] diag(S, I) [B, sqrt(2h) I]'.
    """
    a11, a12, a22, s11, s12, s22, m1, m2, mu1, mu2 = sp.symbols(
        "a11 a12 a22 s11 s12 s22 m1 m2 mu1 mu2", real=True)
    h = S.h
    A = sp.Matrix([[a11, a12], [a12, a22]])
    Sig = sp.Matrix([[s11, s12], [s12, s22]])
    B = sp.eye(2) - h * A
    lin = B.row_join(sp.sqrt(2 * h) * sp.eye(2))
    joint = sp.diag(Sig, sp.eye(2))
    cov = (lin * joint * lin.T).applyfunc(sp.expand)
    mean = B * sp.Matrix([m1, m2]) + h * A * sp.Matrix([mu1, mu2])
    return {"mean_next_1": mean[0], "mean_next_2": mean[1], "cov_next_11": cov[0, 0],
            "cov_next_12": cov[0, 1], "cov_next_22": cov[1, 1]}


def ula_stationary_variance() -> sp.Expr:
    """The solution v of v = (1 - h lam)^2 v + 2h (per eigenvalue of A)."""
    v = sp.Symbol("v_", positive=True)
    (sol,) = sp.solve(sp.Eq(v, (1 - S.h * S.lam) ** 2 * v + 2 * S.h), v)
    return sol


def ula_bias_1d() -> dict:
    """Per eigenvalue lam (target variance 1/lam, ULA variance v_h from the fixed point):
    KL(pi_h || pi), KL(pi || pi_h) and W2^2(pi_h, pi) = (sqrt(v_h) - 1/sqrt(lam))^2."""
    vh = ula_stationary_variance()
    return {"kl_forward": gaussian_kl_1d(0, vh, 0, 1 / S.lam),
            "kl_reverse": gaussian_kl_1d(0, 1 / S.lam, 0, vh),
            "w2_sq": (sp.sqrt(vh) - 1 / sp.sqrt(S.lam)) ** 2}


def series_in_h(expr: sp.Expr, order: int) -> sp.Expr:
    """The Taylor polynomial of ``expr`` in h up to h^(order - 1) (O term removed)."""
    return sp.series(expr, S.h, 0, order).removeO()


# ----------------------------------------------------------------------------- MALA

def _mala_exponent_q(a, b, lam, mu, h):
    """log q(a, b) + log(4 pi h)/2: the proposal density from a to b without its normaliser."""
    return -(b - a + h * lam * (a - mu)) ** 2 / (4 * h)


def mala_log_ratio_1d() -> sp.Expr:
    """log[pi(y) q(y, x) / (pi(x) q(x, y))] for pi = N(mu, 1/lam), expanded from the densities
    (the normalisers of pi and q cancel)."""
    x, y, lam, mu, h = S.x, S.yy, S.lam, S.mu, S.h
    log_pi = lambda z: -lam * (z - mu) ** 2 / 2  # noqa: E731 - normaliser cancels
    return sp.expand(log_pi(y) - log_pi(x) + _mala_exponent_q(y, x, lam, mu, h) - _mala_exponent_q(x, y, lam, mu, h))


def mala_rejection_probability_1d() -> sp.Expr:
    """r(x) = int (1 - a(x, y)) q(x, y) dy for pi = N(0, 1/lam) and x > 0.

    The log ratio is (h lam^2 / 4)(x^2 - y^2), so a < 1 exactly on |y| > x; there
    r = int_{|y|>x} q - int_{|y|>x} q e^{log ratio}, each a sum of two Gaussian tails
    (:func:`_gaussian_tail`, the left one with y -> -y), times the normaliser (4 pi h)^{-1/2}.
    """
    x, y, lam, h = S.x, S.yy, S.lam, S.h
    exponent = _mala_exponent_q(x, y, lam, 0, h)
    log_ratio = mala_log_ratio_1d().subs(S.mu, 0)
    total = sp.Integer(0)
    for sign, e in ((1, exponent), (-1, exponent + log_ratio)):
        total += sign * (_gaussian_tail(e, x) + _gaussian_tail(e.subs(y, -y), x))
    return canonical_erfc(total / sp.sqrt(4 * sp.pi * h))


# ----------------------------------------------------------------------------- reductions for z3
#
# Each reduction maps a name to (expr, conditions, lemmas): the bound holds on every Gaussian
# target if every expr >= 0 under its conditions, each lemma instantiated at the variable named
# (lemma, variable).  Symbols are the plain reals of :class:`R`.

def lsi_reduction(constant=2) -> dict:
    """Gaussian LSI / Bakry-Emery: KL(N(m, S) || N(0, P^{-1})) <= I / (constant alpha) when
    alpha <= lambda_min(P) (the theorem has constant = 2).

    With M = P^{1/2} S P^{1/2} (eigenvalues mu_e) and the mean in P's eigenbasis:
    2 KL = sum (mu_e - 1 - log mu_e) + sum lam m^2, and since P >= alpha,
    I = tr(P (M^{1/2} - M^{-1/2})^2) + sum lam^2 m^2 >= alpha sum (mu_e - 2 + 1/mu_e) + sum lam^2 m^2.
    So it suffices, per eigenvalue, that the two scalar inequalities below hold.
    """
    mu_e, lam, alpha, m = R.mu_e, R.lam, R.alpha, R.m
    c = sp.Integer(2) / constant
    return {
        "covariance": (c * (mu_e - 2 + 1 / mu_e) / 2 - (mu_e - 1 - sp.log(mu_e)) / 2,
                       (mu_e > 0,), ((LOG_LOWER, mu_e),)),
        "mean": (c * lam ** 2 * m ** 2 / (2 * alpha) - lam * m ** 2 / 2,
                 (alpha > 0, alpha <= lam), ()),
    }


def talagrand_reduction(constant=2) -> dict:
    """T2: W2^2(N(m, S), N(mu, A^{-1})) <= (constant/alpha) KL when alpha <= lambda_min(A) (constant 2).

    With M = A^{1/2} S A^{1/2} = U diag(mu_e) U', couple Y = mu + A^{-1/2} U Z and
    X = m + A^{-1/2} U diag(sqrt mu_e) Z: W2^2 <= |m - mu|^2 + sum (sqrt mu_e - 1)^2 / alpha, while
    2 KL = sum (mu_e - 1 - log mu_e) + (m - mu)' A (m - mu) >= ... + alpha |m - mu|^2.  Per eigenvalue,
    with s = sqrt(mu_e): (s - 1)^2 <= (constant/2)(s^2 - 1 - 2 log s), and |m - mu|^2 <=
    (constant/2) |m - mu|^2 for the mean (true iff constant >= 2).
    """
    s = R.s
    c = sp.Integer(constant) / 2 if isinstance(constant, int) else constant / 2
    return {"covariance": (c * (s ** 2 - 1 - 2 * sp.log(s)) - (s - 1) ** 2, (s > 0,), ((LOG_UPPER, s),)),
            "mean": ((c - 1) * R.m ** 2, (), ())}


def ula_stationary_kl_reduction(constant=8, power=1) -> dict:
    """KL(pi_h || pi) <= constant h^power d L^2 / alpha for h <= alpha/(4L^2), alpha <= lam <= L.

    Per eigenvalue lam, with r = 1/(1 - h lam/2) (so r (2 - h lam) = 2):
    KL_lam = (r - 1 - log r)/2, and the sum over d eigenvalues is below d times the bound of one.
    """
    h, lam, alpha, L = R.h, R.lam, R.alpha, R.L
    r = 2 / (2 - h * lam)
    expr = constant * h ** power * L ** 2 / alpha - (r - 1 - sp.log(r)) / 2
    conds = (h > 0, alpha > 0, h * lam < 2, alpha <= lam, lam <= L, 4 * h * L ** 2 <= alpha)
    return {"per_eigenvalue": (expr, conds, ((LOG_LOWER, r),))}


def dk_contraction_reduction(rate_constant=None) -> dict:
    """|1 - h lam| <= 1 - h k (k = m by default) for 0 < m <= lam <= M and 0 < h <= 2/(m + M):
    the ULA map contracts W2 by 1 - m h (synchronous coupling, B = I - hA)."""
    h, lam, m, M = R.h, R.lam, R.m_c, R.M_c
    k = m if rate_constant is None else rate_constant
    conds = (h > 0, m > 0, m <= lam, lam <= M, h * (m + M) <= 2)
    return {"contraction": ((1 - h * k) - sp.Abs(1 - h * lam), conds, ())}


def dk_bias_reduction(constant=sp.Rational(165, 100)) -> dict:
    """2 W2(pi_h, pi) <= constant (M/m) sqrt(h d) on Gaussian targets, per eigenvalue.

    W2^2(pi_h, pi) = sum (sqrt(v_h) - lam^{-1/2})^2 = sum (s - 1)^2 / lam with s = sqrt(r),
    r = 1/(1 - u/2), u = h lam.  Squared and per eigenvalue the claim is 4 (s - 1)^2 / lam <=
    constant^2 (M/m)^2 h; multiplying by lam/h > 0 it reads 4 (s - 1)^2 <= constant^2 k^2 u with
    k = M/m >= 1, s > 0, s^2 (2 - u) = 2 and u (1 + k) <= 2k (from h lam <= h M <= 2M/(m + M)).

    Together with :func:`dk_contraction_reduction` and W2(nu_K, pi) <= (1 - mh)^K W2(nu_0, pi)
    + (1 + (1 - mh)^K) W2(pi_h, pi) (synchronous coupling with a chain started at pi_h, and the
    triangle inequality through pi_h) this proves the Dalalyan-Karagulyan bound on every
    Gaussian target.
    """
    u, k, s = R.u, R.k, R.s
    conds = (u > 0, k >= 1, s > 0, sp.Eq(s ** 2 * (2 - u), 2), u * (1 + k) <= 2 * k)
    return {"per_eigenvalue": (constant ** 2 * k ** 2 * u - 4 * (s - 1) ** 2, conds, ())}
