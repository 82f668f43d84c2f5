"""Catalog: Tweedie's formulas and denoising score matching (catalog L2.2, L2.3, L2.4).

Entries (channel Y = m X + sigma Z; OU: m = e^{-t}; DDPM: m = sqrt(alpha_bar)):

* ``tweedie.posterior_mean_eq_score``: E[X|Y=y] = (y + sigma^2 (log p_Y)'(y))/m and
  E[Z|Y=y] = -sigma (log p_Y)'(y).
* ``tweedie.posterior_covariance_eq_score_hessian``:
  Var(X|Y=y) = (sigma^2/m^2)(1 + sigma^2 (log p_Y)''(y)).
* ``tweedie.dsm_equals_esm_plus_constant``: DSM(s) = ESM(s) + C_t with
  C_t = 1/sigma^2 - E|(log q_t)'(X_t)|^2, independent of the predictor s.

Routes: *symbolic*, the stated formulas with p_Y instantiated by a Gaussian prior's evidence
(derived by completing the square, :mod:`identities.tweedie`) reduce to the conditioning
result (PROVED); for DSM, exact losses of s(x) = a x + b under Gaussian data (moment table),
with a and b symbolic.  *numeric*, a two-component Gaussian-mixture prior: posterior moments
by Arb quadrature of Bayes' rule, the score by ``mpmath.diff`` of the log-evidence; DSM and
ESM by quadrature at two predictors per (mixture, time) (:mod:`numerics.tweedie`).

References: Robbins 1956; Efron 2011; Vincent 2011; Benton et al. 2023, Lemma 5; Lu 2026.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Mapping

import mpmath
import sympy as sp

from identities import tweedie as tw
from numerics import tweedie as nt
from numerics.errors import InvalidParameter
from numerics.precision import current_dps, mpf_exact
from proofs_check.catalog import Assumption, Check, Context, Entry, Mutant, Ref, register
from proofs_check.routes import numeric_route, rational_points, replace, symbolic_route

__all__ = ["MIXTURES", "evaluate_with_score"]

#: The two mixture priors of the numeric routes: (weights, means, variances).
MIXTURES = (
    (("3/10", "7/10"), ("-1", "3/2"), ("1/2", "1/3")),   # unequal, overlapping components
    (("1/2", "1/2"), ("-2", "2"), ("1/4", "1")),          # well separated, bimodal evidence
)


def _mixture_point(index: int) -> dict:
    (w1, w2), (mu1, mu2), (v1, v2) = MIXTURES[index % len(MIXTURES)]
    return {"w1": w1, "w2": w2, "mu1": mu1, "mu2": mu2, "v1": v1, "v2": v2}


def _mixture(point: Mapping) -> nt.GaussianMixture1D:
    return nt.GaussianMixture1D.of((point["w1"], point["w2"]), (point["mu1"], point["mu2"]),
                                   (point["v1"], point["v2"]))


def _count(ctx: Context, base: int) -> int:
    return max(1, round(base * ctx.effort))


def _vp_pair(u: Fraction) -> tuple[Fraction, Fraction]:
    """(m, sigma) with m^2 + sigma^2 = 1 exactly: an OU / VP time with rational e^{-t}."""
    return (1 - u * u) / (1 + u * u), 2 * u / (1 + u * u)


# ----------------------------------------------------------------------------- evaluation

def evaluate_with_score(expr: sp.Expr, point: Mapping) -> mpmath.mpf:
    """A Tweedie-type formula at ``point``: every derivative of log p_Y(y) by ``mpmath.diff``.

    ``point`` gives y, m, sigma and the mixture prior (w1, w2, mu1, mu2, v1, v2); the evidence
    is the mixture convolved with the channel, differentiated numerically at the current
    precision.  No symbolic score enters.
    """
    dps = current_dps()
    mixture = _mixture(point)
    y, m, sigma = point["y"], point["m"], point["sigma"]
    values = {}
    for d in expr.atoms(sp.Derivative):
        if d.expr != sp.log(tw.P_Y(tw.Y)) or any(v != tw.Y for v, _ in d.variable_count):
            raise InvalidParameter("formula", d, "derivatives of log p_Y(y) in y only")
        values[d] = nt.marginal_log_density_derivative(mixture, y, m, sigma,
                                                       d.derivative_count, dps)
    log_p = sp.log(tw.P_Y(tw.Y))
    if expr.has(log_p):
        values[log_p] = nt.marginal_log_density_derivative(mixture, y, m, sigma, 0, dps)
    dummies = {k: sp.Dummy(f"d{i}") for i, k in enumerate(values)}
    plain = expr.xreplace(dummies)
    if plain.has(tw.P_Y):
        raise InvalidParameter("formula", expr, "p_Y only inside log p_Y(y) and its derivatives")
    args = (tw.Y, tw.M, tw.SIGMA) + tuple(dummies.values())
    extra = plain.free_symbols - set(args)
    if extra:
        raise InvalidParameter("formula", expr, "an expression in y, m, sigma and log p_Y(y)",
                               f"unknown symbols {sorted(map(str, extra))}")
    fn = sp.lambdify(args, plain, modules="mpmath")
    return mpmath.mpmathify(fn(mpf_exact(y, "y"), mpf_exact(m, "m"), mpf_exact(sigma, "sigma"),
                               *[values[k] for k in dummies]))


# ----------------------------------------------------------------------------- Tweedie routes

@lru_cache(maxsize=1)
def _conditioning() -> dict:
    return tw.gaussian_prior_conditioning()


def _tweedie_symbolic() -> Check:
    base = symbolic_route(_conditioning, description="")

    def run(claim, ctx):
        log_evidence = _conditioning()["log_evidence"]
        stated = {k: tw.substitute_log_density(v, log_evidence) for k, v in claim.items()}
        return base.run(stated, ctx)

    return Check("symbolic", run, budget=30.0,
                 description="sympy: with a Gaussian prior N(mu, v) (evidence and posterior by "
                             "completing the square in x) the stated formulas equal the "
                             "posterior moments")


def _tweedie_points(ctx: Context) -> list[dict]:
    edges = [
        # tail of the evidence with no scaling (m = 1, the 'scaled Tweedie' of M5.6), sharp
        # likelihood: the score is large and the posterior narrow
        {"y": 4, "m": 1, "sigma": "1/5"},
        # late OU time: m small, sigma near 1; 1/m amplifies the cancellation y + sigma^2 score
        {"y": "-1/2", "m": "1/10", "sigma": "99/100"},
    ]
    vp = [dict(zip(("m", "sigma"), _vp_pair(Fraction(k, 5)))) | {"y": Fraction(2 * k - 3, 2)}
          for k in (2, 3)]
    drawn = rational_points({"y": (Fraction(-3), Fraction(3)), "m": (Fraction(1, 2), Fraction(1)),
                             "sigma": (Fraction(1, 4), Fraction(1))},
                            _count(ctx, 2), ctx.seed)
    return [p | _mixture_point(i) for i, p in enumerate(edges + vp + drawn)]


def _tweedie_reference(point: Mapping, dps: int) -> dict:
    moments = nt.posterior_moments(_mixture(point), point["y"], point["m"], point["sigma"], dps)
    return {k: v for k, v in moments.items() if k != "evidence"}


def _tweedie_numeric() -> Check:
    return numeric_route(
        _tweedie_reference, _tweedie_points, evaluate=evaluate_with_score, budget=30.0,
        description="mpmath/Arb: two-component mixture prior; posterior moments by quadrature "
                    "of Bayes' rule, the score by mpmath.diff of the log-evidence")


_CHANNEL = (
    Assumption("independent_gaussian_noise", "Y = m X + sigma Z with Z ~ N(0, 1) independent of X"),
    Assumption("positive_channel", "m > 0 and sigma > 0",
               lambda p: Fraction(p["m"]) > 0 and Fraction(p["sigma"]) > 0),
    Assumption("prior_moments", "E X^2 < infinity (the posterior variance is finite)"),
)

_F = tw.tweedie_formulas()
_D1, _D2 = tw.score_term(1), tw.score_term(2)
_MEAN_CLAIM = {k: _F[k] for k in ("posterior_mean_x", "posterior_mean_z")}
_VAR_CLAIM = {"posterior_variance_x": _F["posterior_variance_x"]}

register(Entry(
    id="tweedie.posterior_mean_eq_score",
    title="Tweedie's formula: the posterior mean is an affine function of the score",
    kind="identity",
    statement=r"\mathbb{E}[X\mid Y=y]=\frac{y+\sigma^2\partial_y\log p_Y(y)}{m},\quad "
              r"\mathbb{E}[Z\mid Y=y]=-\sigma\,\partial_y\log p_Y(y)\quad (Y=mX+\sigma Z)",
    source=Ref(catalog="L2.2", notes="Lu 2026, Tweedie's identity (OU form e^t(x + sigma_t^2 "
               "score)); Maleki & Pourmoazemi 2025, Lemma 5.10 (m = 1)",
               literature=("Robbins 1956", "Efron 2011")),
    claim=_MEAN_CLAIM,
    checks=(_tweedie_symbolic(), _tweedie_numeric()),
    mutants=(
        Mutant("sigma_not_squared", "sigma instead of sigma^2 in front of the score",
               replace(_MEAN_CLAIM, posterior_mean_x=(tw.Y + tw.SIGMA * _D1) / tw.M)),
        Mutant("missing_one_over_m", "the rescaling 1/m dropped",
               replace(_MEAN_CLAIM, posterior_mean_x=tw.Y + tw.SIGMA**2 * _D1)),
        Mutant("noise_sign_flipped", "E[Z|Y] = +sigma score",
               replace(_MEAN_CLAIM, posterior_mean_z=tw.SIGMA * _D1)),
    ),
    assumptions=_CHANNEL,
    notes="p_Y is an undefined sympy function: the symbolic route instantiates it with the "
          "Gaussian-prior evidence; the numeric route uses a mixture prior, where the formula "
          "is not affine in y.",
))

register(Entry(
    id="tweedie.posterior_covariance_eq_score_hessian",
    title="Second-order Tweedie: the posterior variance is given by the score's derivative",
    kind="identity",
    statement=r"\operatorname{Var}(X\mid Y=y)=\frac{\sigma^2}{m^2}\bigl(1+\sigma^2"
              r"\partial_y^2\log p_Y(y)\bigr)\quad (Y=mX+\sigma Z)",
    source=Ref(catalog="L2.3", notes="Lu 2026, Hessian control (reconstructed); OU form "
               "grad^2 log q_t = -sigma_t^-2 I + e^{-2t} sigma_t^-4 Cov(X_0|X_t)",
               literature=("Benton et al. 2023, Lemma 5", "Efron 2011")),
    claim=_VAR_CLAIM,
    checks=(_tweedie_symbolic(), _tweedie_numeric()),
    mutants=(
        Mutant("sigma_squared_inside", "sigma^4 factor of the Hessian replaced by sigma^2",
               {"posterior_variance_x": tw.SIGMA**2 / tw.M**2 * (1 + _D2)}),
        Mutant("hessian_sign_flipped", "1 - sigma^2 (log p_Y)'' instead of 1 + ...",
               {"posterior_variance_x": tw.SIGMA**2 / tw.M**2 * (1 - tw.SIGMA**2 * _D2)}),
        Mutant("m_not_squared", "sigma^2/m instead of sigma^2/m^2",
               {"posterior_variance_x": tw.SIGMA**2 / tw.M * (1 + tw.SIGMA**2 * _D2)}),
    ),
    assumptions=_CHANNEL,
    notes="In d dimensions the same computation gives Cov = (sigma^2/m^2)(I + sigma^2 Hess); "
          "the entry checks d = 1.",
))


# ----------------------------------------------------------------------------- DSM = ESM + C

@lru_cache(maxsize=1)
def _gaussian_losses() -> dict:
    return tw.gaussian_score_matching()


def _dsm_symbolic() -> Check:
    base = symbolic_route(lambda: {"dsm_minus_esm": _gaussian_losses()["dsm"]
                                   - _gaussian_losses()["esm"]}, description="")

    def run(claim, ctx):
        fisher = _gaussian_losses()["fisher_marginal"]
        stated = {k: v.xreplace({tw.FISHER_MARGINAL: fisher}) for k, v in claim.items()}
        return base.run(stated, ctx)

    return Check("symbolic", run, budget=30.0,
                 description="sympy: Gaussian data N(mu, s^2), predictor a x + b with a, b "
                             "symbolic; exact losses by a Gaussian moment table; DSM - ESM "
                             "equals the stated C_t (so it is free of a and b)")


def _dsm_points(ctx: Context) -> list[dict]:
    drawn = rational_points({"u": (Fraction(1, 4), Fraction(1)),
                             "a": (Fraction(-2), Fraction(2)), "b": (Fraction(-2), Fraction(2))},
                            2 * _count(ctx, 2), ctx.seed)
    points = []
    for i in range(0, len(drawn), 2):
        m, sigma = _vp_pair(drawn[i]["u"])  # one (mixture, time), two predictors
        for p in drawn[i:i + 2]:
            points.append({"m": m, "sigma": sigma, "a": p["a"], "b": p["b"]}
                          | _mixture_point(i // 2))
    return points


def _dsm_reference(point: Mapping, dps: int) -> dict:
    args = (_mixture(point), point["m"], point["sigma"], point["a"], point["b"], dps)
    return {"dsm_minus_esm": nt.dsm_loss(*args) - nt.esm_loss(*args)}


def _evaluate_constant(expr: sp.Expr, point: Mapping) -> mpmath.mpf:
    """C_t as stated, with E|(log q_t)'|^2 of the mixture data by quadrature."""
    dps = current_dps()
    values = {tw.M: mpf_exact(point["m"]), tw.SIGMA: mpf_exact(point["sigma"]),
              tw.A: mpf_exact(point["a"]), tw.B: mpf_exact(point["b"])}
    if expr.has(tw.FISHER_MARGINAL):
        values[tw.FISHER_MARGINAL] = nt.marginal_fisher_information(
            _mixture(point), point["m"], point["sigma"], dps)
    extra = expr.free_symbols - set(values)
    if extra:
        raise InvalidParameter("formula", expr, "an expression in m, sigma, a, b, fisher_marginal",
                               f"unknown symbols {sorted(map(str, extra))}")
    args = tuple(values)
    return mpmath.mpmathify(sp.lambdify(args, expr, modules="mpmath")(*values.values()))


_DSM_CLAIM = {"dsm_minus_esm": tw.dsm_constant_formula()}

register(Entry(
    id="tweedie.dsm_equals_esm_plus_constant",
    title="Denoising score matching equals explicit score matching up to a constant",
    kind="identity",
    statement=r"\mathbb{E}|s(X_t)-\nabla_x\log q_{t|0}(X_t|X_0)|^2=\mathbb{E}|s(X_t)-\nabla\log "
              r"q_t(X_t)|^2+C_t,\ C_t=\frac{d}{\sigma_t^2}-\mathbb{E}|\nabla\log q_t(X_t)|^2",
    source=Ref(catalog="L2.4", notes="Lu 2026, denoising-score equivalence (reconstructed)",
               literature=("Vincent 2011", "Hyvarinen 2005")),
    claim=_DSM_CLAIM,
    checks=(_dsm_symbolic(), numeric_route(
        _dsm_reference, _dsm_points, evaluate=_evaluate_constant, budget=30.0,
        description="mpmath/Arb: mixture data at an OU time; DSM and ESM by quadrature at two "
                    "predictors a x + b; E|(log q_t)'|^2 by quadrature")),
    mutants=(
        Mutant("dsm_equals_esm", "C_t = 0: the two losses claimed equal",
               {"dsm_minus_esm": sp.Integer(0)}),
        Mutant("constant_sign_flipped", "C_t = E|(log q_t)'|^2 - 1/sigma^2",
               {"dsm_minus_esm": -tw.dsm_constant_formula()}),
        Mutant("marginal_fisher_dropped", "C_t = 1/sigma^2 (only the conditional score's energy)",
               {"dsm_minus_esm": 1 / tw.SIGMA**2}),
        Mutant("sigma_not_squared", "C_t = 1/sigma - E|(log q_t)'|^2",
               {"dsm_minus_esm": 1 / tw.SIGMA - tw.FISHER_MARGINAL}),
    ),
    assumptions=(
        Assumption("finite_second_moments", "E|s(X_t)|^2 < infinity and E|X_0|^2 < infinity"),
        Assumption("gaussian_kernel", "q_{t|0}(.|x_0) = N(m x_0, sigma^2 I), sigma > 0",
                   lambda p: Fraction(p["sigma"]) > 0),
    ),
    notes="d = 1.  Checked for affine predictors (symbolic a, b); the identity's proof "
          "(expanding the square, E[grad log q_{t|0} | X_t] = grad log q_t) holds for any s.",
))
