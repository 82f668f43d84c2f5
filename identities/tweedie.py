"""Tweedie's formulas and denoising score matching, stated and derived in sympy.

Channel: Y = m X + sigma Z with Z ~ N(0, 1) independent of X (OU: m = e^{-t},
sigma^2 = 1 - e^{-2t}; DDPM: m = sqrt(alpha_bar), sigma^2 = 1 - alpha_bar).  The score of the
evidence p_Y appears as ``Derivative(log(p_Y(y)), y)`` with ``p_Y`` an undefined function, so
each formula is stated once, for every prior, and instantiated by
:func:`substitute_log_density`.

Main statements:

* :func:`tweedie_formulas` (catalog L2.2, L2.3):
  E[X | Y=y] = (y + sigma^2 d/dy log p_Y(y)) / m,  E[Z | Y=y] = -sigma d/dy log p_Y(y),
  Var(X | Y=y) = (sigma^2/m^2) (1 + sigma^2 d^2/dy^2 log p_Y(y)).
* :func:`gaussian_prior_conditioning`: for X ~ N(mu, v), the evidence and the posterior by
  completing the square in x (the derivation the formulas are proved against).
* :func:`dsm_constant_formula` and :func:`gaussian_score_matching` (catalog L2.4): for every
  predictor s, E|s(X_t) - d/dx log q_{t|0}(X_t|X_0)|^2 = E|s(X_t) - d/dx log q_t(X_t)|^2 + C_t
  with C_t = 1/sigma^2 - E|d/dx log q_t(X_t)|^2 (d = 1); derived for affine s(x) = a x + b
  and Gaussian data with a Gaussian moment table (E W^k = (k-1)!!), not ``sympy.stats``.

References: Robbins 1956; Efron 2011, "Tweedie's formula and selection bias"; Vincent 2011,
"A connection between score matching and denoising autoencoders"; Benton et al. 2023,
Lemma 5 (second order); Lu, *A Mathematical Introduction to Diffusion Models* (2026),
"Tweedie's identity", "Hessian control", "denoising-score equivalence".
"""

from __future__ import annotations

from typing import Optional

import sympy as sp
from sympy.core.function import AppliedUndef

from numerics.errors import InvalidParameter

__all__ = [
    "A",
    "B",
    "FISHER_MARGINAL",
    "M",
    "MU",
    "P_Y",
    "SIGMA",
    "S",
    "V",
    "X",
    "Y",
    "dsm_constant_formula",
    "gaussian_expectation",
    "gaussian_prior_conditioning",
    "gaussian_score_matching",
    "score_term",
    "substitute_log_density",
    "tweedie_formulas",
]

Y = sp.Symbol("y", real=True)
X = sp.Symbol("x", real=True)
M = sp.Symbol("m", positive=True)
SIGMA = sp.Symbol("sigma", positive=True)
MU = sp.Symbol("mu", real=True)
V = sp.Symbol("v", positive=True)
#: Standard deviation of Gaussian data (v = s^2), so that no square root appears.
S = sp.Symbol("s", positive=True)
A = sp.Symbol("a", real=True)
B = sp.Symbol("b", real=True)
#: The evidence (marginal density of Y), left undefined so formulas hold for every prior.
P_Y = sp.Function("p_Y")
#: E|d/dx log q_t(X_t)|^2, the Fisher information of the noisy marginal (a placeholder).
FISHER_MARGINAL = sp.Symbol("fisher_marginal", nonnegative=True)

#: Standard normals used by the moment table (X_0 = mu + s W, X_t = m X_0 + sigma Z).
_W = sp.Symbol("W", real=True)
_Z = sp.Symbol("Z", real=True)


def _expr(value: object, name: str) -> sp.Expr:
    if isinstance(value, bool) or not isinstance(value, (sp.Expr, int)):
        raise InvalidParameter(name, value, "a sympy expression (strings are never parsed)")
    out = sp.Integer(value) if isinstance(value, int) else value
    if out.atoms(sp.Float):
        raise InvalidParameter(name, value, "an expression with exact numbers only",
                               "a Float destroys exact zero tests; use sympy.Rational")
    return out


def score_term(order: int = 1, y: sp.Symbol = Y) -> sp.Derivative:
    """d^order/dy^order log p_Y(y), unevaluated (order >= 1)."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise InvalidParameter("order", order, "an integer >= 1")
    return sp.Derivative(sp.log(P_Y(y)), (y, order))


def tweedie_formulas() -> dict:
    """Tweedie's first- and second-order formulas as stated in the notes (L2.2, L2.3)."""
    d1, d2 = score_term(1), score_term(2)
    return {
        "posterior_mean_x": (Y + SIGMA**2 * d1) / M,
        "posterior_mean_z": -SIGMA * d1,
        "posterior_variance_x": SIGMA**2 / M**2 * (1 + SIGMA**2 * d2),
    }


def substitute_log_density(expr: sp.Expr, log_density: sp.Expr, y: sp.Symbol = Y) -> sp.Expr:
    """Replace log p_Y(y) (and p_Y(y), and their y-derivatives) by ``log_density``.

    ``log_density`` is a sympy expression in ``y`` (for example the log of a Gaussian
    evidence); the result no longer contains ``p_Y``.
    """
    expr, log_density = _expr(expr, "expr"), _expr(log_density, "log_density")
    if not isinstance(y, sp.Symbol):
        raise InvalidParameter("y", y, "a sympy Symbol")

    def replace_derivative(d: sp.Derivative) -> sp.Expr:
        if d.expr == sp.log(P_Y(y)):
            inner = log_density
        elif d.expr == P_Y(y):
            inner = sp.exp(log_density)
        else:
            return d
        if any(v != y for v, _ in d.variable_count):
            raise InvalidParameter("expr", d, f"derivatives of p_Y({y}) in {y} only")
        return sp.diff(inner, y, d.derivative_count)

    out = expr.replace(lambda e: isinstance(e, sp.Derivative), replace_derivative)
    out = out.xreplace({sp.log(P_Y(y)): log_density}).xreplace({P_Y(y): sp.exp(log_density)})
    left = [a for a in out.atoms(AppliedUndef) if a.func == P_Y]
    if left:
        raise InvalidParameter("expr", expr, f"p_Y applied to {y} only", f"found {left[0]}")
    return out


def gaussian_prior_conditioning(mu: sp.Expr = MU, v: sp.Expr = V, m: sp.Expr = M,
                                sigma: sp.Expr = SIGMA, y: sp.Symbol = Y) -> dict:
    """Evidence and posterior for X ~ N(mu, v), Y = m X + sigma Z, by completing the square.

    log p(x) + log p(y|x) = -(A x^2 - 2 B x + C)/2 + log(1/(2 pi sqrt(v) sigma)) with the
    coefficients read off the polynomial in x; integrating x out gives the evidence
    log p_Y(y) = log(1/(2 pi sqrt(v) sigma)) + log sqrt(2 pi/A) - C/2 + B^2/(2A), and the
    posterior is N(B/A, 1/A).  E[Z|Y=y] = (y - m E[X|Y=y])/sigma by the definition of Z.
    """
    mu, v, m, sigma = (_expr(e, n) for e, n in ((mu, "mu"), (v, "v"), (m, "m"),
                                                 (sigma, "sigma")))
    quadratic = sp.expand((X - mu) ** 2 / v + (y - m * X) ** 2 / sigma**2)
    poly = sp.Poly(quadratic, X)
    a_coef = poly.coeff_monomial(X**2)
    b_coef = -poly.coeff_monomial(X) / 2
    c_coef = poly.coeff_monomial(1)
    log_norm = -sp.log(2 * sp.pi) - sp.log(v) / 2 - sp.log(sigma)
    log_evidence = (log_norm + (sp.log(2 * sp.pi) - sp.log(a_coef)) / 2
                    - c_coef / 2 + b_coef**2 / (2 * a_coef))
    mean_x = sp.cancel(b_coef / a_coef)
    return {
        "log_evidence": log_evidence,
        "posterior_mean_x": mean_x,
        "posterior_variance_x": sp.cancel(1 / a_coef),
        "posterior_mean_z": sp.cancel((y - m * mean_x) / sigma),
    }


def gaussian_expectation(expr: sp.Expr, normals: tuple = (_W, _Z)) -> sp.Expr:
    """E[expr] for a polynomial in independent standard normals, by E W^k = (k-1)!! (k even)."""
    expr = _expr(expr, "expr")
    if not normals or any(not isinstance(n, sp.Symbol) for n in normals):
        raise InvalidParameter("normals", normals, "a non-empty tuple of sympy Symbols")
    poly = sp.Poly(sp.expand(expr), *normals)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        moment = sp.Integer(1)
        for k in powers:
            moment *= 0 if k % 2 else sp.factorial2(k - 1)
        total += coeff * moment
    return sp.cancel(total)


def _gaussian_log_density(x: sp.Expr, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    return -(x - mean) ** 2 / (2 * var) - sp.log(2 * sp.pi * var) / 2


def gaussian_score_matching(a: sp.Expr = A, b: sp.Expr = B, mu: sp.Expr = MU, s: sp.Expr = S,
                            m: sp.Expr = M, sigma: sp.Expr = SIGMA) -> dict:
    """DSM and ESM losses of s(x) = a x + b for Gaussian data X_0 ~ N(mu, s^2), exactly.

    X_0 = mu + s W and X_t = m X_0 + sigma Z with W, Z independent standard normals.  The
    conditional score is d/dx log N(x; m x_0, sigma^2) at (X_t, X_0); the marginal law of X_t
    is Gaussian with the mean and variance given by the moment table, and its score is the
    x-derivative of that Gaussian log-density.  Returns ``dsm``, ``esm``,
    ``fisher_conditional`` (E|conditional score|^2) and ``fisher_marginal``.
    """
    a, b, mu, s, m, sigma = (_expr(e, n) for e, n in ((a, "a"), (b, "b"), (mu, "mu"), (s, "s"),
                                                       (m, "m"), (sigma, "sigma")))
    x0 = mu + s * _W
    xt = m * x0 + sigma * _Z
    cond_score = sp.diff(_gaussian_log_density(X, m * x0, sigma**2), X).subs(X, xt)
    mean_t = gaussian_expectation(xt)
    var_t = gaussian_expectation((xt - mean_t) ** 2)
    marg_score = sp.diff(_gaussian_log_density(X, mean_t, var_t), X).subs(X, xt)
    model = a * xt + b
    return {
        "dsm": gaussian_expectation((model - cond_score) ** 2),
        "esm": gaussian_expectation((model - marg_score) ** 2),
        "fisher_conditional": gaussian_expectation(cond_score**2),
        "fisher_marginal": gaussian_expectation(marg_score**2),
    }


def dsm_constant_formula(sigma: sp.Expr = SIGMA,
                         fisher_marginal: Optional[sp.Expr] = None) -> sp.Expr:
    """C_t = d/sigma^2 - E|grad log q_t|^2 with d = 1, as stated in the notes (L2.4)."""
    fisher = FISHER_MARGINAL if fisher_marginal is None else _expr(fisher_marginal,
                                                                   "fisher_marginal")
    return 1 / _expr(sigma, "sigma") ** 2 - fisher

