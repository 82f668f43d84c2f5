"""identities.ddpm: the DDPM identities, derived in sympy from definitions.

Conventions (Ho+20): alpha_t = 1 - beta_t, alpha_bar_t = prod_{i<=t} alpha_i,
x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.  The canonical symbols are
``alpha`` (alpha_t), ``alpha_bar_prev`` (alpha_bar_{t-1}), ``alpha_bar`` (alpha_bar_t, used by the
converters) and ``x_t``, ``x_0``, ``x_prev``, ``eps``, ``eps_hat``, ``score``, ``v``; beta_t is the
expression ``1 - alpha``.  :func:`symbols` returns them all; :func:`reparametrise` replaces
alpha = sqrt_alpha**2 etc., which removes the radicals sqrt(alpha), sqrt(alpha_bar_prev)
(TOOLING.md: rational canonical forms decide equality).

Main statements (each function returns a sympy expression obtained by a derivation):

* :func:`forward_step` (M3.1): composing N(sqrt(alpha_bar_prev) x_0, 1 - alpha_bar_prev) with
  q(x_t|x_{t-1}) = N(sqrt(alpha) x_{t-1}, beta) gives mean sqrt(alpha alpha_bar_prev) x_0 and
  variance 1 - alpha alpha_bar_prev (moment table of independent standard normals);
  :func:`forward_marginal` iterates it over any list of alphas.
* :func:`posterior` / :func:`posterior_mean` / :func:`posterior_variance` (M3.2): q(x_{t-1}|x_t,x_0)
  by completing the square (``Poly`` coefficients in x_{t-1} of the log joint).
* :func:`posterior_mean_from_eps`, :func:`posterior_mean_from_score` (M3.2 eps-form, L3.3).
* :func:`gaussian_kl_from_definition`, :func:`noise_prediction_kl` (M3.4): the KL of the reverse
  step from E_p[log p - log q] with a moment table.
* Converters (L3.4): :func:`conditional_score`, :func:`eps_to_x0`, :func:`x0_to_eps`,
  :func:`score_to_eps`, :func:`eps_to_score`, :func:`score_to_x0`, :func:`x0_to_score`,
  :func:`v_from_eps_x0`, :func:`v_to_x0`, :func:`v_to_eps`.
* Finite chains (M3.3): :func:`chain_marginal`, :func:`chain_posterior` (q(x_{t-1}|x_t, x_0)),
  :func:`chain_reverse` (q(x_{t-1}|x_t) under the data law), :func:`kl_divergence`,
  :func:`variational_bound_terms` (the decomposition prior KL + decoder NLL + posterior KLs),
  :func:`two_state_chain` (a symbolic 2-state chain) and :func:`log_canonical` (logs of positive
  rational functions rewritten over irreducible factors, a canonical form for such sums).

References: Ho, Jain & Abbeel 2020, Eq. 4-7, 12; Sohl-Dickstein et al. 2015; Vincent 2011;
Kingma et al. 2021; Salimans & Ho 2022 (v-parametrisation).
"""

from __future__ import annotations

import numbers
from fractions import Fraction
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import sympy as sp

from numerics.ddpm import FiniteChain
from numerics.errors import InvalidParameter

__all__ = [
    "alpha", "alpha_bar", "alpha_bar_prev", "beta", "eps", "eps_hat", "score", "v", "x_0",
    "x_prev", "x_t", "sqrt_alpha", "sqrt_alpha_bar", "sqrt_alpha_bar_prev",
    "REPARAMETRISATION", "chain_marginal", "chain_posterior", "chain_reverse", "conditional_score",
    "eps_to_score", "eps_to_x0", "forward_marginal", "forward_step", "gaussian_expectation",
    "gaussian_kl_from_definition", "gaussian_log_density", "kl_divergence", "log_canonical",
    "noise_prediction_kl", "posterior", "posterior_mean", "posterior_mean_from_eps",
    "posterior_mean_from_score", "posterior_precision", "posterior_variance", "reparametrise",
    "reverse_model_mean", "score_to_eps", "score_to_x0", "symbols", "two_state_chain",
    "v_from_eps_x0", "v_to_eps", "v_to_x0", "variational_bound_terms", "x0_to_eps",
    "x0_to_score",
]

# ----------------------------------------------------------------------------- canonical symbols

alpha = sp.Symbol("alpha", positive=True)                    # alpha_t = 1 - beta_t
alpha_bar_prev = sp.Symbol("alpha_bar_prev", positive=True)  # alpha_bar_{t-1}
alpha_bar = sp.Symbol("alpha_bar", positive=True)            # alpha_bar_t (converters)
x_t, x_0, x_prev = sp.symbols("x_t x_0 x_prev", real=True)
eps, eps_hat, score, v = sp.symbols("eps eps_hat score v", real=True)
beta = 1 - alpha                                             # beta_t, an expression
sqrt_alpha = sp.Symbol("sqrt_alpha", positive=True)
sqrt_alpha_bar_prev = sp.Symbol("sqrt_alpha_bar_prev", positive=True)
sqrt_alpha_bar = sp.Symbol("sqrt_alpha_bar", positive=True)

#: alpha = sqrt_alpha**2 etc.: with positive square-root symbols sqrt(alpha) becomes sqrt_alpha.
REPARAMETRISATION = {alpha: sqrt_alpha ** 2, alpha_bar_prev: sqrt_alpha_bar_prev ** 2,
                     alpha_bar: sqrt_alpha_bar ** 2}


def symbols() -> SimpleNamespace:
    """The canonical symbols (and beta = 1 - alpha) as one namespace."""
    return SimpleNamespace(alpha=alpha, alpha_bar_prev=alpha_bar_prev, alpha_bar=alpha_bar,
                           beta=beta, x_t=x_t, x_0=x_0, x_prev=x_prev, eps=eps, eps_hat=eps_hat,
                           score=score, v=v, sqrt_alpha=sqrt_alpha,
                           sqrt_alpha_bar_prev=sqrt_alpha_bar_prev, sqrt_alpha_bar=sqrt_alpha_bar)


def reparametrise(expr: sp.Expr) -> sp.Expr:
    """Replace alpha, alpha_bar_prev, alpha_bar by squares of positive symbols (no radicals left
    in them; sqrt(1 - alpha_bar) stays the only radical)."""
    return _sympy(expr, "expr").xreplace(REPARAMETRISATION)


def _sympy(expr: Any, name: str) -> sp.Basic:
    """A sympy object as is, an int as an Integer; anything else (a string above all) is refused:
    strings are never parsed."""
    if isinstance(expr, sp.Basic):
        return expr
    if isinstance(expr, numbers.Integral) and not isinstance(expr, bool):
        return sp.Integer(int(expr))
    raise InvalidParameter(name, expr, "a sympy expression or an int (strings are never parsed)")


# ----------------------------------------------------------------------------- validation

def _arg(value: Any, name: str, domain: str = "real") -> sp.Expr:
    """A sympy expression from a symbol, expression, int or Fraction; numbers are range-checked
    ("unit": (0, 1); "unit_closed": (0, 1]; "positive"; "real")."""
    if isinstance(value, bool) or isinstance(value, (str, bytes, float, complex)):
        raise InvalidParameter(name, value, "a sympy expression, an int or a Fraction",
                               hint="strings are never parsed; floats are inexact")
    if isinstance(value, Fraction):
        value = sp.Rational(value.numerator, value.denominator)
    elif isinstance(value, numbers.Integral):
        value = sp.Integer(int(value))
    if not isinstance(value, sp.Expr):
        raise InvalidParameter(name, value, "a sympy expression, an int or a Fraction")
    if value.atoms(sp.Float) or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise InvalidParameter(name, value, "an exact, finite expression")
    if value.is_number:
        ok = {"unit": lambda x: bool(0 < x) and bool(x < 1),
              "unit_closed": lambda x: bool(0 < x) and bool(x <= 1),
              "positive": lambda x: bool(x > 0),
              "real": lambda x: bool(x.is_real)}[domain]
        valid = {"unit": "a number in (0, 1)", "unit_closed": "a number in (0, 1]",
                 "positive": "a positive number", "real": "a real number"}[domain]
        try:
            good = ok(value)
        except TypeError:
            good = False
        if not good:
            raise InvalidParameter(name, value, valid)
    return value


# ----------------------------------------------------------------------------- Gaussian tools

def gaussian_log_density(x: sp.Expr, mean: sp.Expr, variance: sp.Expr) -> sp.Expr:
    """log N(x; mean, variance)."""
    return -(x - mean) ** 2 / (2 * variance) - sp.log(2 * sp.pi * variance) / 2


def _double_factorial_moment(k: int) -> int:
    """E Z^k for Z ~ N(0, 1): (k-1)!! for even k, 0 for odd k."""
    return 0 if k % 2 else int(sp.factorial2(k - 1)) if k else 1


def gaussian_expectation(expr: sp.Expr, noises: Sequence[sp.Symbol]) -> sp.Expr:
    """E[expr] for independent standard normal ``noises``, ``expr`` polynomial in them (moment
    table: E prod z_i^k_i = prod (k_i - 1)!!)."""
    poly = sp.Poly(sp.expand(expr), *noises)
    total = sp.Integer(0)
    for monomial, coeff in poly.terms():
        m = 1
        for k in monomial:
            m *= _double_factorial_moment(k)
        total += coeff * m
    return total


def _solve_linear(equation: sp.Expr, unknown: sp.Symbol) -> sp.Expr:
    """The root of an expression affine in ``unknown`` (Poly coefficients, no ``solve``)."""
    poly = sp.Poly(sp.expand(equation), unknown)
    if poly.degree() != 1:
        raise ValueError(f"expected an equation affine in {unknown}, got degree {poly.degree()}")
    return _tidy_affine(-poly.coeff_monomial(1) / poly.coeff_monomial(unknown))


def _tidy_affine(expr: sp.Expr) -> sp.Expr:
    """Tidy an expression affine in its variables (the free symbols not declared positive)."""
    variables = sorted((s for s in expr.free_symbols if not s.is_positive), key=sp.default_sort_key)
    return _tidy(expr, variables)


def _tidy(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> sp.Expr:
    """expr as a polynomial in ``variables`` with cancelled, factored coefficients (exact)."""
    if not variables:
        return sp.factor(sp.cancel(expr))
    poly = sp.Poly(sp.expand(expr), *variables)
    return sum((sp.factor(sp.cancel(c)) * sp.Mul(*[s ** k for s, k in zip(variables, mono)])
                for mono, c in poly.terms()), sp.Integer(0))


# ------------------------------------------------------------------------ M3.1 forward marginal

def forward_step(mean_coefficient: Any = None, variance: Any = None, a: Any = None) -> dict:
    """One induction step of the forward marginal.

    If x_{t-1} = m x_0 + sqrt(V) z_1 (hypothesis, default m = sqrt(alpha_bar_prev), V = 1 -
    alpha_bar_prev) and x_t = sqrt(a) x_{t-1} + sqrt(1 - a) z_2 (default a = alpha), then
    x_t | x_0 has ``mean`` E = sqrt(a) m x_0 and ``variance`` E(x_t - E)^2, both computed with the
    moment table of independent standard normals z_1, z_2.
    """
    m = (sp.sqrt(alpha_bar_prev) if mean_coefficient is None
         else _arg(mean_coefficient, "mean_coefficient"))
    var = 1 - alpha_bar_prev if variance is None else _arg(variance, "variance")
    a_ = alpha if a is None else _arg(a, "a", "unit")
    z1, z2 = sp.Dummy("z1"), sp.Dummy("z2")
    x_prev_ = m * x_0 + sp.sqrt(var) * z1
    x_next = sp.sqrt(a_) * x_prev_ + sp.sqrt(1 - a_) * z2
    mean = gaussian_expectation(x_next, (z1, z2))
    variance_ = gaussian_expectation((x_next - mean) ** 2, (z1, z2))
    return {"mean": mean, "variance": variance_}


def forward_marginal(alphas: Sequence[Any]) -> dict:
    """Mean and variance of x_T | x_0 by composing the one-step kernels N(sqrt(alpha_t) x, 1 -
    alpha_t) for the given alphas (symbols or exact numbers in (0, 1)), starting from x_0."""
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence) or not alphas:
        raise InvalidParameter("alphas", alphas, "a non-empty sequence of alphas in (0, 1)")
    m, var = sp.Integer(1), sp.Integer(0)
    for k, a_ in enumerate(alphas):
        step = forward_step(m, var, _arg(a_, f"alphas[{k}]", "unit"))
        m = sp.expand(step["mean"] / x_0)
        var = sp.expand(step["variance"])
    return {"mean": m * x_0, "variance": var}


# ----------------------------------------------------------------------------- M3.2 posterior

@lru_cache(maxsize=1)
def _posterior_canonical() -> tuple:
    """Complete the square in x_prev of log q(x_t|x_prev) + log q(x_prev|x_0)."""
    log_joint = (gaussian_log_density(x_t, sp.sqrt(alpha) * x_prev, beta)
                 + gaussian_log_density(x_prev, sp.sqrt(alpha_bar_prev) * x_0, 1 - alpha_bar_prev))
    poly = sp.Poly(sp.expand(log_joint), x_prev)
    if poly.degree() != 2:
        raise AssertionError("the log joint is not quadratic in x_prev")
    precision = -2 * poly.coeff_monomial(x_prev ** 2)   # log density = -A/2 x^2 + B x + ...
    linear = poly.coeff_monomial(x_prev)
    mean = sp.expand(linear / precision)
    coeffs = sp.Poly(mean, x_t, x_0)
    mean = sum(sp.factor(coeffs.coeff_monomial(s)) * s for s in (x_t, x_0))
    return sp.factor(precision), mean, sp.factor(1 / precision)


def _posterior_subs(a: Any, abp: Any) -> dict:
    return {alpha: _arg(a, "alpha", "unit") if a is not None else alpha,
            alpha_bar_prev: (_arg(abp, "alpha_bar_prev", "unit_closed")
                             if abp is not None else alpha_bar_prev)}


def posterior(x_t_: Any = x_t, x_0_: Any = x_0, a: Any = None, abp: Any = None) -> dict:
    """q(x_{t-1}|x_t, x_0) = N(mean, variance) with precision A, by completing the square.

    Returns ``precision``, ``mean``, ``variance``; ``a`` = alpha_t (default the symbol ``alpha``),
    ``abp`` = alpha_bar_{t-1} (default ``alpha_bar_prev``).
    """
    precision, mean, variance = _posterior_canonical()
    subs = _posterior_subs(a, abp)
    subs.update({x_t: _arg(x_t_, "x_t"), x_0: _arg(x_0_, "x_0")})
    return {"precision": precision.xreplace(subs), "mean": mean.xreplace(subs),
            "variance": variance.xreplace(subs)}


def posterior_mean(x_t_: Any = x_t, x_0_: Any = x_0, a: Any = None, abp: Any = None) -> sp.Expr:
    """mu_tilde(x_t, x_0), the mean of q(x_{t-1}|x_t, x_0)."""
    return posterior(x_t_, x_0_, a, abp)["mean"]


def posterior_variance(a: Any = None, abp: Any = None) -> sp.Expr:
    """beta_tilde_t, the variance of q(x_{t-1}|x_t, x_0)."""
    return posterior(x_t, x_0, a, abp)["variance"]


def posterior_precision(a: Any = None, abp: Any = None) -> sp.Expr:
    """1/beta_tilde_t = alpha_t/beta_t + 1/(1 - alpha_bar_{t-1}) as derived."""
    return posterior(x_t, x_0, a, abp)["precision"]


def posterior_mean_from_eps(x_t_: Any = x_t, eps_: Any = eps, a: Any = None,
                            abp: Any = None) -> sp.Expr:
    """mu_tilde with x_0 = eps_to_x0(x_t, eps) (the eps-form of the posterior mean)."""
    subs = _posterior_subs(a, abp)
    ab = subs[alpha] * subs[alpha_bar_prev]
    return posterior_mean(x_t_, eps_to_x0(x_t_, eps_, ab), a, abp)


def posterior_mean_from_score(x_t_: Any = x_t, score_: Any = score, a: Any = None,
                              abp: Any = None) -> sp.Expr:
    """mu_tilde with eps = score_to_eps(score) (the score form of the posterior mean)."""
    subs = _posterior_subs(a, abp)
    ab = subs[alpha] * subs[alpha_bar_prev]
    return posterior_mean_from_eps(x_t_, score_to_eps(score_, ab), a, abp)


def reverse_model_mean(x_t_: Any = x_t, eps_hat_: Any = eps_hat, a: Any = None,
                       abp: Any = None) -> sp.Expr:
    """Ho's model mean mu_theta(x_t): the posterior mean with eps replaced by eps_hat."""
    return posterior_mean_from_eps(x_t_, eps_hat_, a, abp)


# ----------------------------------------------------------------------------- M3.4 KL weight

@lru_cache(maxsize=1)
def _kl_generic() -> tuple:
    """KL(N(m1, v1) || N(m2, v2)) = E_p[log p - log q] for fresh symbols, with x = m1 + sqrt(v1) z
    and the moment table of z (no closed form is assumed)."""
    m1, m2 = sp.Dummy("m1", real=True), sp.Dummy("m2", real=True)
    v1, v2 = sp.Dummy("v1", positive=True), sp.Dummy("v2", positive=True)
    z, x = sp.Dummy("z"), sp.Dummy("x")
    log_ratio = gaussian_log_density(x, m1, v1) - gaussian_log_density(x, m2, v2)
    log_ratio = sp.expand(sp.expand_log(log_ratio))      # v1, v2 > 0: the log rules hold
    kl = gaussian_expectation(log_ratio.xreplace({x: m1 + sp.sqrt(v1) * z}), (z,))
    return (m1, v1, m2, v2), sp.expand(kl)


def gaussian_kl_from_definition(mean_p: Any, var_p: Any, mean_q: Any, var_q: Any) -> sp.Expr:
    """KL(N(mean_p, var_p) || N(mean_q, var_q)) as E_p[log p - log q] (moment-table derivation)."""
    (m1, v1, m2, v2), kl = _kl_generic()
    return kl.xreplace({m1: _arg(mean_p, "mean_p"), v1: _arg(var_p, "var_p", "positive"),
                        m2: _arg(mean_q, "mean_q"), v2: _arg(var_q, "var_q", "positive")})


def noise_prediction_kl(x_t_: Any = x_t, eps_: Any = eps, eps_hat_: Any = eps_hat,
                        a: Any = None, abp: Any = None) -> sp.Expr:
    """KL(q(x_{t-1}|x_t, x_0) || p_theta(x_{t-1}|x_t)) with x_0 = eps_to_x0(x_t, eps),
    mu_theta = reverse_model_mean(x_t, eps_hat) and sigma_t^2 = beta_tilde_t; the result is
    tidied (coefficients of the polynomial in x_t, eps, eps_hat cancelled and factored)."""
    var = posterior_variance(a, abp)
    kl = gaussian_kl_from_definition(posterior_mean_from_eps(x_t_, eps_, a, abp), var,
                                     reverse_model_mean(x_t_, eps_hat_, a, abp), var)
    return _tidy(kl, [s for s in (x_t, eps, eps_hat) if s in kl.free_symbols])


# ----------------------------------------------------------------------------- L3.4 converters

def conditional_score(x_t_: Any = x_t, x_0_: Any = x_0, ab: Any = alpha_bar) -> sp.Expr:
    """d/dx_t log q(x_t|x_0) for q(x_t|x_0) = N(sqrt(ab) x_0, 1 - ab), by differentiation."""
    ab = _arg(ab, "alpha_bar", "unit")
    y = sp.Dummy("y")
    d = sp.diff(gaussian_log_density(y, sp.sqrt(ab) * _arg(x_0_, "x_0"), 1 - ab), y)
    return _tidy_affine(d.xreplace({y: _arg(x_t_, "x_t")}))


def _reparam_eq(x_t_, x_0_, eps_, ab):
    """x_t - sqrt(ab) x_0 - sqrt(1 - ab) eps (the forward reparametrisation, = 0)."""
    return x_t_ - sp.sqrt(ab) * x_0_ - sp.sqrt(1 - ab) * eps_


def eps_to_x0(x_t_: Any = x_t, eps_: Any = eps, ab: Any = alpha_bar) -> sp.Expr:
    """x_0 solving x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps."""
    ab = _arg(ab, "alpha_bar", "unit")
    u = sp.Dummy("u")
    return _solve_linear(_reparam_eq(_arg(x_t_, "x_t"), u, _arg(eps_, "eps"), ab), u)


def x0_to_eps(x_t_: Any = x_t, x_0_: Any = x_0, ab: Any = alpha_bar) -> sp.Expr:
    """eps solving x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps."""
    ab = _arg(ab, "alpha_bar", "unit")
    u = sp.Dummy("u")
    return _solve_linear(_reparam_eq(_arg(x_t_, "x_t"), _arg(x_0_, "x_0"), u, ab), u)


def eps_to_score(eps_: Any = eps, ab: Any = alpha_bar) -> sp.Expr:
    """The conditional score written in eps: substitute x_t = sqrt(ab) x_0 + sqrt(1-ab) eps.
    By Tweedie (E[grad log q(x_t|x_0) | x_t] = grad log q_t) the same affine map takes
    eps* = E[eps|x_t] to the score of q_t."""
    ab = _arg(ab, "alpha_bar", "unit")
    s = conditional_score(sp.sqrt(ab) * x_0 + sp.sqrt(1 - ab) * _arg(eps_, "eps"), x_0, ab)
    return _tidy_affine(s)


def score_to_eps(score_: Any = score, ab: Any = alpha_bar) -> sp.Expr:
    """eps solving eps_to_score(eps) = score."""
    u = sp.Dummy("u")
    return _solve_linear(eps_to_score(u, ab) - _arg(score_, "score"), u)


def x0_to_score(x_t_: Any = x_t, x_0_: Any = x_0, ab: Any = alpha_bar) -> sp.Expr:
    """The conditional score in x_0 (affine in x_0, so it maps x_0* = E[x_0|x_t] to the score)."""
    return conditional_score(x_t_, x_0_, ab)


def score_to_x0(x_t_: Any = x_t, score_: Any = score, ab: Any = alpha_bar) -> sp.Expr:
    """x_0 solving x0_to_score(x_t, x_0) = score (Tweedie's formula for x_0*)."""
    u = sp.Dummy("u")
    return _solve_linear(x0_to_score(x_t_, u, ab) - _arg(score_, "score"), u)


def v_from_eps_x0(eps_: Any = eps, x_0_: Any = x_0, ab: Any = alpha_bar) -> sp.Expr:
    """v = sqrt(ab) eps - sqrt(1 - ab) x_0 (definition, Salimans & Ho 2022)."""
    ab = _arg(ab, "alpha_bar", "unit")
    return sp.sqrt(ab) * _arg(eps_, "eps") - sp.sqrt(1 - ab) * _arg(x_0_, "x_0")


def _v_system(x_t_, v_, ab) -> tuple:
    """Solve {x_t = sqrt(ab) x_0 + sqrt(1-ab) eps, v = v_from_eps_x0(eps, x_0)} for (x_0, eps)."""
    ab = _arg(ab, "alpha_bar", "unit")
    u, w = sp.Dummy("x0"), sp.Dummy("eps")
    sol = sp.linsolve([_reparam_eq(_arg(x_t_, "x_t"), u, w, ab),
                       v_from_eps_x0(w, u, ab) - _arg(v_, "v")], [u, w])
    (x0_sol, eps_sol), = sol
    return _tidy_affine(x0_sol), _tidy_affine(eps_sol)


def v_to_x0(x_t_: Any = x_t, v_: Any = v, ab: Any = alpha_bar) -> sp.Expr:
    """x_0 from (x_t, v)."""
    return _v_system(x_t_, v_, ab)[0]


def v_to_eps(x_t_: Any = x_t, v_: Any = v, ab: Any = alpha_bar) -> sp.Expr:
    """eps from (x_t, v)."""
    return _v_system(x_t_, v_, ab)[1]


# ----------------------------------------------------------------------------- M3.3 finite chains

def chain_marginal(chain: FiniteChain, x_0_: int, t: int) -> list:
    """q(x_t = j | x_0) for j in the states, by the forward recursion (t = 0: the point mass)."""
    m = [1 if j == x_0_ else 0 for j in range(chain.states)]
    for k in range(t):
        kernel = chain.forward[k]
        m = [sum((m[i] * kernel[i][j] for i in range(chain.states)), 0)
             for j in range(chain.states)]
    return m


def chain_posterior(chain: FiniteChain, x_0_: int, t: int) -> list:
    """post[j][i] = q(x_{t-1} = i | x_t = j, x_0) by Bayes (t >= 2)."""
    prev, cur = chain_marginal(chain, x_0_, t - 1), chain_marginal(chain, x_0_, t)
    kernel = chain.forward[t - 1]
    return [[kernel[i][j] * prev[i] / cur[j] for i in range(chain.states)]
            for j in range(chain.states)]


def chain_reverse(chain: FiniteChain, t: int) -> list:
    """rev[j][i] = q(x_{t-1} = i | x_t = j) with x_0 drawn from ``chain.data`` (not conditioned
    on x_0): the exact reverse kernel of the forward chain, by Bayes."""
    S = chain.states
    prev = [sum((chain.data[k] * chain_marginal(chain, k, t - 1)[i] for k in range(S)), 0)
            for i in range(S)]
    cur = [sum((chain.data[k] * chain_marginal(chain, k, t)[j] for k in range(S)), 0)
           for j in range(S)]
    return [[chain.forward[t - 1][i][j] * prev[i] / cur[j] for i in range(S)] for j in range(S)]


def kl_divergence(p: Sequence, q: Sequence, log: Callable[[Any], Any]):
    """sum_i p_i log(p_i / q_i) (terms with p_i = 0 contribute 0)."""
    return sum((pi * log(pi / qi) for pi, qi in zip(p, q) if not (pi == 0)), 0)


def variational_bound_terms(chain: FiniteChain, x_0_: int, log: Callable[[Any], Any]) -> dict:
    """The decomposition of the variational bound of ``chain`` at ``x_0`` (Ho+20 Eq. 5):

    ``prior_kl`` = KL(q(x_T|x_0) || p(x_T)), ``decoder_nll`` = -E_q log p(x_0|x_1) and, for
    t = 2..T, ``posterior_kl_<t>`` = E_{q(x_t|x_0)} KL(q(x_{t-1}|x_t, x_0) || p(x_{t-1}|x_t)).
    """
    T = chain.steps
    terms = {"prior_kl": kl_divergence(chain_marginal(chain, x_0_, T), chain.prior, log)}
    m1 = chain_marginal(chain, x_0_, 1)
    terms["decoder_nll"] = -sum((m1[i] * log(chain.reverse[0][i][x_0_])
                                 for i in range(chain.states)), 0)
    for t in range(2, T + 1):
        mt, post = chain_marginal(chain, x_0_, t), chain_posterior(chain, x_0_, t)
        terms[f"posterior_kl_{t}"] = sum(
            (mt[j] * kl_divergence(post[j], chain.reverse[t - 1][j], log)
             for j in range(chain.states)), 0)
    return terms


def two_state_chain(steps: int = 2) -> FiniteChain:
    """A symbolic chain on {0, 1}: every row (1/(1+r), r/(1+r)) with its own positive symbol r
    (rows sum to 1 identically and every entry is positive)."""
    def row(name):
        r = sp.Symbol(name, positive=True)
        return (1 / (1 + r), r / (1 + r))

    forward = tuple(tuple(row(f"f{t}_{i}") for i in range(2)) for t in range(1, steps + 1))
    reverse = tuple(tuple(row(f"g{t}_{j}") for j in range(2)) for t in range(1, steps + 1))
    return FiniteChain(row("d"), forward, reverse, row("p"))


def log_canonical(expr: sp.Expr, atoms: dict | None = None) -> tuple[sp.Expr, dict]:
    """Rewrite each log(f), f a rational function that is positive where it is used, as
    log|c| + sum_i m_i L_i over the irreducible factors f_i (multiplicity m_i, sign-normalised)
    of its numerator and denominator; L_i is a fresh symbol standing for log|f_i| and the
    constant is split over primes.  Since log f = log|f| for f > 0 and log|.| is a homomorphism,
    the result is equal to ``expr``; two sums of such logs are equal if their rewritten forms
    cancel to the same rational function.  Returns (rewritten, atoms) with ``atoms`` mapping
    each factor to its symbol (pass it again to share atoms between both sides).
    """
    atoms = {} if atoms is None else atoms

    def log_of_constant(c: sp.Rational) -> sp.Expr:
        c = abs(sp.Rational(c))
        out = sp.Integer(0)
        for prime, k in sp.factorint(c.p).items():
            out += k * sp.log(prime)
        for prime, k in sp.factorint(c.q).items():
            out -= k * sp.log(prime)
        return out

    def rewrite(arg: sp.Expr) -> sp.Expr:
        num, den = sp.fraction(sp.cancel(sp.together(arg)))
        out = sp.Integer(0)
        for part, sign in ((num, 1), (den, -1)):
            const, factors = sp.factor_list(part)
            out += sign * log_of_constant(const)
            for f, mult in factors:
                if sp.Poly(f, *sorted(f.free_symbols, key=sp.default_sort_key)).LC() < 0:
                    f = -f
                key = sp.srepr(f)
                if key not in atoms:
                    atoms[key] = sp.Dummy(f"L{len(atoms)}", real=True)
                out += sign * mult * atoms[key]
        return out

    rewritten = _sympy(expr, "expr").replace(lambda e: isinstance(e, sp.log),
                                         lambda e: rewrite(e.args[0]))
    return rewritten, atoms
