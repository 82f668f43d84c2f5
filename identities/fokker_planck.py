"""Fokker-Planck and continuity equations: residuals in sympy, and the laws that solve them.

For dX = f(X, t) dt + G(X, t) dW in R^d with D = G G^T, the law p_t solves the Fokker-Planck
equation  d_t p = -div(f p) + (1/2) sum_ij d_i d_j (D_ij p);  a velocity field v transports
p_t when the continuity equation  d_t p + div(p v) = 0  holds.

Public functions (usable on your own densities; each returns a sympy expression that is zero
exactly when the equation holds):

* :func:`fokker_planck_residual` / :func:`log_fokker_planck_residual`: the residual, and the
  residual divided by p written through L = log p (no exponential left to cancel: the cheap
  canonical form for Gibbs densities and Gaussians).
* :func:`continuity_residual` / :func:`log_continuity_residual`: the same for transport.
* ``reverse_time=True``: the SDE runs in tau = T - t while p is written in forward time t
  (reverse SDEs, the lambda family of L2.6).

Main statements (the formulas as stated, with placeholders instantiated by the checks):

* :func:`gibbs_formulas` (L1.4): for dX = -grad V dt + sqrt(2) dB, pi = e^{-V} is stationary.
* :func:`ou_marginal_formulas` (M5.2): for dX = -X dt + sqrt(2) dB the law of X_t is
  N(m0 e^{-t}, v0 e^{-2t} + 1 - e^{-2t}); for the VP SDE dX = -beta X/2 dt + sqrt(beta) dW with
  B(t) = int_0^t beta, N(m0 e^{-B/2}, v0 e^{-B} + 1 - e^{-B}).
* :func:`probability_flow_formulas` (M5.3, L2.6): v = f - (g^2/2) grad log p_t transports
  p_t; dY = [-f + ((1 + lambda^2)/2) g^2 grad log p] dtau + lambda g dB has marginals p_{T-tau}.

References: Pavliotis 2014, *Stochastic Processes and Applications*, ch. 4; Song et al. 2021
(probability-flow ODE); Anderson 1982 (reverse SDE); Zhang & Chen 2023 (gDDIM, lambda family);
Lu 2026, L1.4 and L2.6; Maleki & Pourmoazemi 2025, Lemma 5.3 and Theorem 5.4.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices import MatrixBase

from numerics.errors import InvalidParameter

__all__ = [
    "BETA_INTEGRAL",
    "DRIFT",
    "GRAD_V",
    "LAMBDA",
    "NOISE",
    "POTENTIAL",
    "SCORE",
    "continuity_residual",
    "exponential_jets",
    "fokker_planck_residual",
    "gaussian_log_density",
    "gibbs_formulas",
    "log_continuity_residual",
    "log_fokker_planck_residual",
    "ou_marginal_formulas",
    "probability_flow_formulas",
    "vp_data_marginal",
    "vp_mixture_components",
]

T = sp.Symbol("t", nonnegative=True)
X = sp.Symbol("x", real=True)
M0 = sp.Symbol("m0", real=True)
V0 = sp.Symbol("v0", positive=True)
#: Placeholder for the value V(x) of the potential and for the components of grad V.
POTENTIAL = sp.Symbol("V", real=True)
GRAD_V = sp.Symbol("grad_V", real=True)
#: B(t) = int_0^t beta(s) ds of the VP SDE (beta = B'), left undefined: any schedule.
BETA_INTEGRAL = sp.Function("B")
#: Placeholders of the probability-flow formulas: drift f, noise g, score, lambda.
DRIFT = sp.Symbol("f", real=True)
NOISE = sp.Symbol("g", positive=True)
SCORE = sp.Symbol("score", real=True)
LAMBDA = sp.Symbol("lambda", nonnegative=True)


# ----------------------------------------------------------------------------- validation

def _expr(value: object, name: str) -> sp.Expr:
    if isinstance(value, bool) or not isinstance(value, (sp.Expr, int)) \
            or isinstance(value, MatrixBase):
        raise InvalidParameter(name, value, "a sympy expression (strings are never parsed)")
    out = sp.Integer(value) if isinstance(value, int) else value
    if out.atoms(sp.Float):
        raise InvalidParameter(name, value, "an expression with exact numbers only",
                               "a Float destroys exact zero tests; use sympy.Rational")
    return out


def _variables(variables: object, t: object) -> tuple[tuple[sp.Symbol, ...], Optional[sp.Symbol]]:
    xs = (variables,) if isinstance(variables, sp.Symbol) else variables
    try:
        xs = tuple(xs)
    except TypeError:
        raise InvalidParameter("variables", variables,
                               "a sympy Symbol or a non-empty sequence of distinct Symbols") from None
    if not xs or any(not isinstance(x, sp.Symbol) for x in xs) or len(set(xs)) != len(xs):
        raise InvalidParameter("variables", variables,
                               "a sympy Symbol or a non-empty sequence of distinct Symbols")
    if t is not None and (not isinstance(t, sp.Symbol) or t in xs):
        raise InvalidParameter("t", t, "None (stationary) or a Symbol not among the variables")
    return xs, t


def _vector(value: object, d: int, name: str) -> list[sp.Expr]:
    if isinstance(value, MatrixBase):
        if 1 not in value.shape or len(value) != d:
            raise InvalidParameter(name, value, f"{d} components (one per variable)")
        items = list(value)
    elif isinstance(value, (sp.Expr, int)) and not isinstance(value, bool):
        items = [value]
    else:
        try:
            items = list(value)
        except TypeError:
            raise InvalidParameter(name, value, f"a sympy expression or {d} of them") from None
    if len(items) != d:
        raise InvalidParameter(name, value, f"{d} components (one per variable)")
    return [_expr(e, f"{name}[{i}]") for i, e in enumerate(items)]


def _diffusion(value: object, d: int) -> sp.Matrix:
    """D = G G^T for a d x k matrix G, or g^2 I for a scalar g."""
    if isinstance(value, MatrixBase):
        if value.shape[0] != d or value.shape[1] == 0:
            raise InvalidParameter("diffusion", value, f"a scalar or a {d} x k matrix")
        for e in value:
            _expr(e, "diffusion")
        return sp.Matrix(value) * sp.Matrix(value).T
    g = _expr(value, "diffusion")
    return g**2 * sp.eye(d)


def _time_sign(reverse_time: object) -> int:
    if not isinstance(reverse_time, bool):
        raise InvalidParameter("reverse_time", reverse_time, "True or False")
    return -1 if reverse_time else 1


# ----------------------------------------------------------------------------- residuals

def fokker_planck_residual(density, drift, diffusion, variables, t=None, *,
                           reverse_time: bool = False) -> sp.Expr:
    """d_t p + div(f p) - (1/2) sum_ij d_i d_j (D_ij p), zero iff p solves Fokker-Planck.

    ``density`` p (expression in the variables and t), ``drift`` f (one expression per
    variable), ``diffusion`` a scalar g (noise g dW, D = g^2 I; g may depend on x: the Ito
    equation keeps it inside the derivatives) or a d x k matrix G (D = G G^T).  ``t=None``:
    stationary (d_t p = 0).  ``reverse_time=True``: d_t p enters with a minus sign (the SDE
    runs in tau = T - t; p is written in forward time).
    """
    xs, t = _variables(variables, t)
    p = _expr(density, "density")
    f = _vector(drift, len(xs), "drift")
    D = _diffusion(diffusion, len(xs))
    out = _time_sign(reverse_time) * sp.diff(p, t) if t is not None else sp.Integer(0)
    out += sum(sp.diff(fi * p, xi) for fi, xi in zip(f, xs))
    out -= sum(sp.diff(D[i, j] * p, xs[i], xs[j]) for i in range(len(xs)) for j in range(len(xs))
               if D[i, j] != 0) / 2
    return out


def log_fokker_planck_residual(log_density, drift, diffusion, variables, t=None, *,
                               reverse_time: bool = False) -> sp.Expr:
    """:func:`fokker_planck_residual` divided by p = e^L, written with L = log p only.

    d_t p / p = d_t L, d_i(f_i p)/p = d_i f_i + f_i d_i L, and d_i d_j(D_ij p)/p =
    d_ij D_ij + d_i D_ij d_j L + d_j D_ij d_i L + D_ij (d_ij L + d_i L d_j L): exact for p > 0,
    and free of the exponential that would otherwise have to be cancelled.
    """
    xs, t = _variables(variables, t)
    L = _expr(log_density, "log_density")
    f = _vector(drift, len(xs), "drift")
    D = _diffusion(diffusion, len(xs))
    grad = [sp.diff(L, x) for x in xs]
    out = _time_sign(reverse_time) * sp.diff(L, t) if t is not None else sp.Integer(0)
    out += sum(sp.diff(fi, xi) + fi * gi for fi, xi, gi in zip(f, xs, grad))
    second = sp.Integer(0)
    for i, xi in enumerate(xs):
        for j, xj in enumerate(xs):
            Dij = D[i, j]
            if Dij == 0:
                continue
            second += (sp.diff(Dij, xi, xj) + sp.diff(Dij, xi) * grad[j]
                       + sp.diff(Dij, xj) * grad[i] + Dij * (sp.diff(L, xi, xj) + grad[i] * grad[j]))
    return out - second / 2


def continuity_residual(density, velocity, variables, t=None) -> sp.Expr:
    """d_t p + div(p v), zero iff the velocity field v transports p."""
    xs, t = _variables(variables, t)
    p = _expr(density, "density")
    v = _vector(velocity, len(xs), "velocity")
    out = sp.diff(p, t) if t is not None else sp.Integer(0)
    return out + sum(sp.diff(p * vi, xi) for vi, xi in zip(v, xs))


def log_continuity_residual(log_density, velocity, variables, t=None) -> sp.Expr:
    """:func:`continuity_residual` divided by p = e^L: d_t L + div v + v . grad L."""
    xs, t = _variables(variables, t)
    L = _expr(log_density, "log_density")
    v = _vector(velocity, len(xs), "velocity")
    out = sp.diff(L, t) if t is not None else sp.Integer(0)
    return out + sum(sp.diff(vi, xi) + vi * sp.diff(L, xi) for vi, xi in zip(v, xs))


# ----------------------------------------------------------------------------- the statements

def gaussian_log_density(x: sp.Expr, mean: sp.Expr, variance: sp.Expr) -> sp.Expr:
    """log N(x; mean, variance) = -(x - mean)^2/(2 variance) - log(2 pi variance)/2."""
    x, mean, variance = _expr(x, "x"), _expr(mean, "mean"), _expr(variance, "variance")
    return -(x - mean) ** 2 / (2 * variance) - sp.log(2 * sp.pi * variance) / 2


def gibbs_formulas() -> dict:
    """L1.4 as stated: log pi = -V (up to a constant), drift -grad V, noise sqrt(2).

    ``POTENTIAL`` stands for V(x) and ``GRAD_V`` for each component d_i V(x).
    """
    return {"log_density": -POTENTIAL, "drift": -GRAD_V, "noise": sp.sqrt(2)}


def ou_marginal_formulas() -> dict:
    """M5.2 as stated: Gaussian laws of the OU (Lu) and VP SDEs started at N(m0, v0)."""
    b = BETA_INTEGRAL(T)
    return {
        "mean": M0 * sp.exp(-T),
        "variance": V0 * sp.exp(-2 * T) + 1 - sp.exp(-2 * T),
        "vp_mean": M0 * sp.exp(-b / 2),
        "vp_variance": V0 * sp.exp(-b) + 1 - sp.exp(-b),
    }


def probability_flow_formulas() -> dict:
    """M5.3 / L2.6 as stated, in the placeholders f, g, score and lambda."""
    return {
        "velocity": DRIFT - NOISE**2 / 2 * SCORE,
        "lambda_drift": -DRIFT + (1 + LAMBDA**2) / 2 * NOISE**2 * SCORE,
        "lambda_noise": LAMBDA * NOISE,
    }


def vp_mixture_components(weights: Sequence, means: Sequence, variances: Sequence,
                          x: sp.Expr = X, t: sp.Expr = T) -> list[tuple[sp.Expr, sp.Expr]]:
    """[(w_i, log N(x; a mu_i, a^2 v_i + 1 - a^2))] with a = e^{-B(t)/2}: the components of the
    VP marginal p_t for data sum_i w_i N(mu_i, v_i) (X_t = a X_0 + sqrt(1 - a^2) Z)."""
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") \
            or not (len(weights) == len(means) == len(variances) > 0):
        raise InvalidParameter("means", means, "one mean and one variance per weight")
    alpha = sp.exp(-BETA_INTEGRAL(t) / 2)
    return [(_expr(w, "weights"), gaussian_log_density(
        x, alpha * _expr(mu, "means"), alpha**2 * _expr(v, "variances") + 1 - alpha**2))
        for w, mu, v in zip(weights, means, variances)]


def vp_data_marginal(weights: Sequence, means: Sequence, variances: Sequence,
                     x: sp.Expr = X, t: sp.Expr = T) -> sp.Expr:
    """p_t(x) = sum_i w_i exp(L_i) for the components of :func:`vp_mixture_components`."""
    return sum(w * sp.exp(L) for w, L in vp_mixture_components(weights, means, variances, x, t))


def exponential_jets(expr: sp.Expr, components: Mapping) -> sp.Expr:
    """Replace phi_k(...) = e^{L_k} and all its derivatives by E_k times a polynomial in L_k.

    ``components`` maps each applied undefined function phi_k (e.g. ``phi1(x, t)``) to a pair
    ``(L_k, E_k)``: its log (a sympy expression) and a positive Symbol standing for e^{L_k}.
    d_v (e^L P) = e^L (d_v P + P d_v L) gives every derivative.  If the result cancels to 0
    with the E_k as independent symbols, ``expr`` is 0 for every value of the exponentials;
    a nonzero result does not by itself refute ``expr`` (the E_k are not independent).
    """
    expr = _expr(expr, "expr")
    if not isinstance(components, Mapping) or not components:
        raise InvalidParameter("components", components, "a mapping phi_k(...) -> (L_k, E_k)")
    table = {}
    for phi, pair in components.items():
        if not isinstance(phi, AppliedUndef):
            raise InvalidParameter("components", phi, "applied undefined functions such as phi(x, t)")
        try:
            L, E = pair
        except (TypeError, ValueError):
            raise InvalidParameter("components", pair, "(log, Symbol) pairs") from None
        if not isinstance(E, sp.Symbol):
            raise InvalidParameter("components", E, "a Symbol standing for exp(L)")
        table[phi] = (_expr(L, "components"), E)

    def jet(d: sp.Derivative) -> sp.Expr:
        if d.expr not in table:
            return d
        L, E = table[d.expr]
        P = sp.Integer(1)
        for var, n in d.variable_count:
            for _ in range(n):
                P = sp.diff(P, var) + P * sp.diff(L, var)
        return E * P

    out = expr.replace(lambda e: isinstance(e, sp.Derivative), jet)
    return out.xreplace({phi: E for phi, (_, E) in table.items()})
