"""Catalog entries of the DDPM identities (Movement III of Lu; Section 3 of Maleki & Pourmoazemi).

Main statements (each: a symbolic route PROVED by ``identities.ddpm``, an independent numeric
route CONFIRMED by ``numerics.ddpm`` at ``dps`` digits, and mutants both routes reject):

* ``ddpm.forward_marginal`` (M3.1): the induction step of q(x_t|x_0) = N(sqrt(alpha_bar_t) x_0,
  1 - alpha_bar_t); numeric: exact raw-moment recursion over T = 5 steps.
* ``ddpm.posterior_mean_variance`` (M3.2): q(x_{t-1}|x_t,x_0) = N(mu_tilde, beta_tilde);
  numeric: Bayes' rule by quadrature.
* ``ddpm.posterior_mean_eps_form`` (M3.2, L3.3): the eps- and score-forms of mu_tilde.
* ``ddpm.kl_term_noise_prediction_weight`` (M3.4): the KL of a reverse step is
  beta_t/(2(1 - beta_t)(1 - alpha_bar_{t-1})) |eps - eps_hat|^2; numeric: quadrature of p log(p/q).
* ``ddpm.variational_bound_decomposition`` (M3.3): E_q log q(x_{1:T}|x_0)/p(x_{0:T}) = prior KL +
  decoder NLL + posterior KLs; proved for 2-state T = 2 chains, confirmed on 3-state T = 3 chains.
* ``ddpm.parametrisation_affine_maps`` (L3.4): eps/x_0/score/v converters; numeric: a Gaussian
  mixture prior, posterior expectations by quadrature and the score by ``mpmath.diff``.

References: Ho, Jain & Abbeel 2020 (Ho+20); Sohl-Dickstein et al. 2015; Vincent 2011;
Kingma et al. 2021; Salimans & Ho 2022; Maleki & Pourmoazemi 2025 (arXiv 2511.11746);
Lu 2026 (arXiv 2607.01693), Movement III.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Mapping

import mpmath
import sympy as sp

from identities import prove_equal
from identities import ddpm as I
from numerics import ddpm as N
from numerics.precision import EXTRA_DIGITS, identity_tolerance, relative_error, workdps
from proofs_check.catalog import (
    Assumption,
    Check,
    Context,
    Entry,
    Mutant,
    Outcome,
    Ref,
    Status,
    register,
)
from proofs_check.routes import evaluate_formula, numeric_route, replace

alpha, abp, ab = I.alpha, I.alpha_bar_prev, I.alpha_bar
x_t, x_0, eps, eps_hat, score, v = I.x_t, I.x_0, I.eps, I.eps_hat, I.score, I.v
beta = I.beta
abar = alpha * abp          # alpha_bar_t in the entries stated with alpha_t and alpha_bar_{t-1}

_UNIT = {I.sqrt_alpha, I.sqrt_alpha_bar_prev, I.sqrt_alpha_bar}

ALPHA = Assumption("alpha_in_unit_interval", "0 < alpha_t < 1, i.e. 0 < beta_t < 1",
                   lambda p: 0 < Fraction(p["alpha"]) < 1)
ALPHA_BAR_PREV = Assumption("alpha_bar_prev_in_unit_interval",
                            "0 < alpha_bar_{t-1} <= 1 (= 1 only at t = 1)",
                            lambda p: 0 < Fraction(p["alpha_bar_prev"]) <= 1)
ALPHA_BAR = Assumption("alpha_bar_in_unit_interval", "0 < alpha_bar_t < 1",
                       lambda p: 0 < Fraction(p["alpha_bar"]) < 1)


# ----------------------------------------------------------------------------- shared routes

def symbolic_reparametrised(derive: Callable[[], Mapping[str, Any]], *, budget: float = 20.0,
                            description: str) -> Check:
    """Prove claim[name] == derive()[name] after alpha = sqrt_alpha**2 etc. (no radicals in the
    schedule parameters); each square-root symbol is assumed in (0, 1)."""

    def run(claim: Mapping[str, Any], ctx: Context) -> Outcome:
        derived = derive()
        missing = [name for name in claim if name not in derived]
        if missing:
            return Outcome(Status.FAIL, f"no derivation for {', '.join(missing)}")
        share = max(budget * 0.8 / max(len(claim), 1), 0.5)
        methods, open_ = [], []
        for name, stated in claim.items():
            lhs, rhs = I.reparametrise(derived[name]), I.reparametrise(stated)
            unit = (lhs.free_symbols | rhs.free_symbols) & _UNIT
            result = prove_equal(lhs, rhs, {s: "unit_interval" for s in unit}, budget=share,
                                 seed=ctx.seed)
            if result.status == "FAIL":
                return Outcome(Status.FAIL, f"{name}: the stated formula differs from the "
                                            "derivation",
                               detail=str(result),
                               counterexample={"formula": name, **(result.counterexample or {})})
            if result.status == "PROVED":
                methods.append(result.method or "?")
            else:
                open_.append(f"{name}: {result}")
        if open_:
            return Outcome(Status.INCONCLUSIVE, f"{len(claim) - len(open_)} of {len(claim)} proved",
                           detail="; ".join(open_))
        used = ", ".join(sorted(set(methods)))
        return Outcome(Status.PROVED, f"{len(claim)} formula(s) reduced to 0 ({used}); schedule "
                                      "parameters written as squares")

    return Check("symbolic", run, description=description, budget=budget)


def _draw(rng: random.Random, lo: Fraction, hi: Fraction) -> Fraction:
    return lo + (hi - lo) * Fraction(rng.randrange(1, 10 ** 6), 10 ** 6)


def _count(ctx: Context, base: int) -> int:
    return max(1, round(base * ctx.effort))


def _step_points(ctx: Context) -> list[dict]:
    """(alpha, alpha_bar_prev, x_t, x_0) points: drawn, plus edges (tiny beta, alpha_bar_prev
    near 1 (early t) and near 0 (late t))."""
    rng = random.Random(ctx.seed + 31)
    edges = [(1 - Fraction(1, 10 ** 6), Fraction(1, 2)),
             (Fraction(1, 2), 1 - Fraction(1, 10 ** 6)),
             (Fraction(9, 10), Fraction(1, 10 ** 4))]
    params = edges + [(_draw(rng, Fraction(1, 100), Fraction(99, 100)),
                       _draw(rng, Fraction(1, 100), Fraction(99, 100)))
                      for _ in range(_count(ctx, 4))]
    return [{"alpha": a_, "alpha_bar_prev": abp_, "x_t": _draw(rng, Fraction(-3), Fraction(3)),
             "x_0": _draw(rng, Fraction(-3), Fraction(3))} for a_, abp_ in params]


def _kl_points(ctx: Context) -> list[dict]:
    """Step points with eps_hat at least 1/4 away from eps: the KL is w (eps - eps_hat)^2, and a
    near-coincidence would cost both sides log10(1/|eps - eps_hat|) digits of cancellation."""
    rng = random.Random(ctx.seed + 53)
    out = []
    for point in _step_points(ctx):
        ab_ = float(point["alpha"] * point["alpha_bar_prev"])
        e = (float(point["x_t"]) - ab_ ** 0.5 * float(point["x_0"])) / (1 - ab_) ** 0.5
        while True:
            point["eps_hat"] = _draw(rng, Fraction(-3), Fraction(3))
            if abs(float(point["eps_hat"]) - e) >= 0.25:
                break
        out.append(point)
    return out


def _with_noise(formula: Any, point: Mapping[str, Any]) -> mpmath.mpf:
    """Evaluate a formula in eps/score at a point given by x_0: eps from the forward
    reparametrisation, score by numeric differentiation of log q(x_t|x_0)."""
    abar_ = Fraction(point["alpha"]) * Fraction(point["alpha_bar_prev"])
    full = dict(point)
    full["eps"] = N.noise_from_x0(abar_, point["x_t"], point["x_0"])
    names = {s.name for s in getattr(formula, "free_symbols", ())}
    if "score" in names:
        full["score"] = N.conditional_score(abar_, point["x_t"], point["x_0"])
    return evaluate_formula(formula, full)


# ----------------------------------------------------------------------------- M3.1

FORWARD_CLAIM = {
    "mean": sp.sqrt(alpha * abp) * x_0,
    "variance": 1 - alpha * abp,
}


def _forward_points(ctx: Context) -> list[dict]:
    rng = random.Random(ctx.seed + 11)
    schedules = [(Fraction(1, 10),),                                  # T = 1: alpha_bar_0 = 1
                 tuple(Fraction(k, 10 ** 6) for k in range(1, 6))]    # tiny betas
    schedules += [tuple(_draw(rng, Fraction(1, 1000), Fraction(1, 2)) for _ in range(5))
                  for _ in range(_count(ctx, 4))]
    out = []
    for betas in schedules:
        prev = Fraction(1)
        for b in betas[:-1]:
            prev *= 1 - b
        out.append({"betas": betas, "x_0": _draw(rng, Fraction(-3), Fraction(3)),
                    "alpha": 1 - betas[-1], "alpha_bar_prev": prev})
    return out


register(Entry(
    id="ddpm.forward_marginal",
    title="The forward kernels compose to q(x_t|x_0) = N(sqrt(alpha_bar_t) x_0, 1 - alpha_bar_t)",
    kind="identity",
    statement=(r"x_{t-1}|x_0 \sim N(\sqrt{\bar\alpha_{t-1}}x_0, 1-\bar\alpha_{t-1}),\ "
               r"q(x_t|x_{t-1}) = N(\sqrt{\alpha_t}x_{t-1}, \beta_t) \Rightarrow "
               r"x_t|x_0 \sim N(\sqrt{\alpha_t\bar\alpha_{t-1}}x_0, 1-\alpha_t\bar\alpha_{t-1})"),
    source=Ref("M3.1", "Maleki & Pourmoazemi 2025, Eq. 5-13; Lu, Movement III (L3.1)",
               ("Ho+20 Eq. 4",)),
    claim=FORWARD_CLAIM,
    checks=(
        symbolic_reparametrised(lru_cache(1)(lambda: I.forward_step()),
                                description="sympy: induction step, moments of sqrt(alpha) x_{t-1} "
                                            "+ sqrt(beta) z by the Gaussian moment table"),
        numeric_route(lambda p, dps: N.forward_moments(p["betas"], p["x_0"], dps), _forward_points,
                      description="exact raw-moment recursion of the one-step kernels over T = 5 "
                                  "steps (variance in rationals) against the closed form"),
    ),
    mutants=(
        Mutant("variance_sums_betas", "variances add without the alpha_t shrinkage: "
               "(1 - alpha_bar_{t-1}) + beta_t (i.e. sum of betas)",
               replace(FORWARD_CLAIM, variance=(1 - abp) + (1 - alpha))),
        Mutant("mean_without_sqrt", "mean alpha_bar_t x_0 instead of sqrt(alpha_bar_t) x_0",
               replace(FORWARD_CLAIM, mean=alpha * abp * x_0)),
    ),
    assumptions=(ALPHA, ALPHA_BAR_PREV),
    notes="The numeric points include T = 1 (alpha_bar_0 = 1) and a schedule of betas ~1e-6.",
))


# ----------------------------------------------------------------------------- M3.2

POSTERIOR_CLAIM = {
    "posterior_mean": (sp.sqrt(alpha) * (1 - abp) / (1 - abar)) * x_t
                      + (sp.sqrt(abp) * beta / (1 - abar)) * x_0,
    "posterior_variance": (1 - abp) * beta / (1 - abar),
    "posterior_precision": alpha / beta + 1 / (1 - abp),
}


def _posterior_derived() -> dict:
    post = I.posterior()
    return {"posterior_mean": post["mean"], "posterior_variance": post["variance"],
            "posterior_precision": post["precision"]}


def _bayes_reference(point: Mapping[str, Any], dps: int) -> dict:
    post = N.posterior_by_bayes(point["alpha"], point["alpha_bar_prev"], point["x_t"],
                                point["x_0"], dps)
    return {"posterior_mean": post["mean"], "posterior_variance": post["variance"],
            "posterior_precision": 1 / post["variance"]}


register(Entry(
    id="ddpm.posterior_mean_variance",
    title="The DDPM posterior q(x_{t-1}|x_t, x_0) is N(mu_tilde, beta_tilde)",
    kind="identity",
    statement=(r"q(x_{t-1}|x_t,x_0)=N\Big(\tfrac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}"
               r"{1-\bar\alpha_t}x_t"
               r"+\tfrac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t}x_0,\ "
               r"\tilde\beta_t=\tfrac{(1-\bar\alpha_{t-1})\beta_t}{1-\bar\alpha_t}\Big),\ "
               r"\tilde\beta_t^{-1}=\tfrac{\alpha_t}{\beta_t}+\tfrac{1}{1-\bar\alpha_{t-1}}"),
    source=Ref("M3.2", "Maleki & Pourmoazemi 2025, Eq. 14-17, Eq. 3-1", ("Ho+20 Eq. 6-7",)),
    claim=POSTERIOR_CLAIM,
    checks=(
        symbolic_reparametrised(_posterior_derived,
                                description="sympy: completing the square (Poly coefficients in "
                                            "x_{t-1} of the log joint)"),
        numeric_route(_bayes_reference, _step_points,
                      description="Bayes' rule by quadrature over x_{t-1} of q(x_t|x_{t-1}) "
                                  "q(x_{t-1}|x_0): mean and variance of the normalised product"),
    ),
    mutants=(
        Mutant("beta_tilde_swapped_indices", "beta_tilde = (1 - alpha_bar_t) beta_t / "
               "(1 - alpha_bar_{t-1})",
               replace(POSTERIOR_CLAIM, posterior_variance=(1 - abar) * beta / (1 - abp))),
        Mutant("mean_coefficients_swapped", "coefficients of x_t and x_0 exchanged",
               replace(POSTERIOR_CLAIM,
                       posterior_mean=(sp.sqrt(alpha) * (1 - abp) / (1 - abar)) * x_0
                       + (sp.sqrt(abp) * beta / (1 - abar)) * x_t)),
    ),
    assumptions=(ALPHA, ALPHA_BAR_PREV),
    notes="At alpha_bar_{t-1} = 1 (t = 1) the posterior is the point mass at x_0 (beta_tilde_1 = "
          "0); the quadrature route uses alpha_bar_{t-1} < 1.",
))


# ----------------------------------------------------------------------------- M3.2 eps-form, L3.3

EPS_FORM_CLAIM = {
    "posterior_mean_eps": (x_t - beta * eps / sp.sqrt(1 - abar)) / sp.sqrt(alpha),
    "posterior_mean_score": (x_t + beta * score) / sp.sqrt(alpha),
}


def _bayes_mean_reference(point: Mapping[str, Any], dps: int) -> dict:
    mean = N.posterior_by_bayes(point["alpha"], point["alpha_bar_prev"], point["x_t"],
                                point["x_0"], dps)["mean"]
    return {"posterior_mean_eps": mean, "posterior_mean_score": mean}


register(Entry(
    id="ddpm.posterior_mean_eps_form",
    title="The posterior mean in eps-form and in score form",
    kind="identity",
    statement=(r"\tilde\mu_t=\tfrac{1}{\sqrt{\alpha_t}}\Big(x_t-"
               r"\tfrac{\beta_t}{\sqrt{1-\bar\alpha_t}}"
               r"\epsilon\Big)=\tfrac{x_t+\beta_t s}{\sqrt{\alpha_t}},\ x_0=\tfrac{x_t-"
               r"\sqrt{1-\bar\alpha_t}\epsilon}{\sqrt{\bar\alpha_t}},\ s=-\tfrac{\epsilon}"
               r"{\sqrt{1-\bar\alpha_t}}"),
    source=Ref("M3.2", "Maleki & Pourmoazemi 2025, Eq. 17 (eps-form); Lu, Movement III, "
               "'Gaussian reverse kernels' (L3.3)", ("Ho+20 Eq. 11",)),
    claim=EPS_FORM_CLAIM,
    checks=(
        symbolic_reparametrised(
            lru_cache(1)(lambda: {"posterior_mean_eps": I.posterior_mean_from_eps(),
                                  "posterior_mean_score": I.posterior_mean_from_score()}),
            description="sympy: mu_tilde(x_t, x_0) with x_0 = eps_to_x0(x_t, eps), eps = "
                        "score_to_eps(score)"),
        numeric_route(_bayes_mean_reference, _step_points, evaluate=_with_noise,
                      description="posterior mean by Bayes quadrature; eps from x_t = "
                                  "sqrt(ab) x_0 + sqrt(1-ab) eps, score = d/dx_t log q(x_t|x_0) "
                                  "by mpmath.diff"),
    ),
    mutants=(
        Mutant("sqrt_alpha_bar_in_place_of_sqrt_alpha", "divides by sqrt(alpha_bar_t) instead "
               "of sqrt(alpha_t)",
               replace(EPS_FORM_CLAIM,
                       posterior_mean_eps=(x_t - beta * eps / sp.sqrt(1 - abar)) / sp.sqrt(abar))),
        Mutant("score_sign_flipped", "(x_t - beta_t s)/sqrt(alpha_t)",
               replace(EPS_FORM_CLAIM, posterior_mean_score=(x_t - beta * score) / sp.sqrt(alpha))),
    ),
    assumptions=(ALPHA, ALPHA_BAR_PREV),
))


# ----------------------------------------------------------------------------- M3.4

_BETA_TILDE = (1 - abp) * beta / (1 - abar)
KL_CLAIM = {
    "kl": beta / (2 * (1 - beta) * (1 - abp)) * (eps - eps_hat) ** 2,
    "kl_ho_weight": beta ** 2 / (2 * _BETA_TILDE * alpha * (1 - abar)) * (eps - eps_hat) ** 2,
}


@lru_cache(maxsize=1)
def _kl_derived() -> dict:
    kl = I.noise_prediction_kl()
    return {"kl": kl, "kl_ho_weight": kl}


def _kl_reference(point: Mapping[str, Any], dps: int) -> dict:
    kl = N.noise_prediction_kl(point["alpha"], point["alpha_bar_prev"], point["x_t"],
                               point["x_0"], point["eps_hat"], dps)
    return {"kl": kl, "kl_ho_weight": kl}


register(Entry(
    id="ddpm.kl_term_noise_prediction_weight",
    title="The KL of a reverse step is a weighted noise-prediction error",
    kind="identity",
    statement=(r"\mathrm{KL}\big(q(x_{t-1}|x_t,x_0)\,\|\,N(\mu_\theta,\tilde\beta_t)\big)="
               r"\tfrac{\beta_t}{2(1-\beta_t)(1-\bar\alpha_{t-1})}|\epsilon-\hat\epsilon|^2="
               r"\tfrac{\beta_t^2}{2\sigma_t^2\alpha_t(1-\bar\alpha_t)}|\epsilon-\hat\epsilon|^2,"
               r"\ \sigma_t^2=\tilde\beta_t"),
    source=Ref("M3.4", "Maleki & Pourmoazemi 2025, Eq. 3-2, 3-3", ("Ho+20 Eq. 12",)),
    claim=KL_CLAIM,
    checks=(
        symbolic_reparametrised(_kl_derived,
                                description="sympy: KL as E_p[log p - log q] with the Gaussian "
                                            "moment table, means from the eps-form"),
        numeric_route(_kl_reference, _kl_points,
                      evaluate=_with_noise,
                      description="quadrature of p log(p/q): p the Bayes posterior, q = "
                                  "N(mu_theta, sigma^2) with sigma^2 the quadrature variance"),
    ),
    mutants=(
        Mutant("weight_without_one_minus_beta", "beta_t / (2 (1 - alpha_bar_{t-1}))",
               replace(KL_CLAIM, kl=beta / (2 * (1 - abp)) * (eps - eps_hat) ** 2)),
        Mutant("alpha_bar_t_in_place_of_alpha_bar_prev",
               "beta_t / (2 (1 - beta_t)(1 - alpha_bar_t))",
               replace(KL_CLAIM, kl=beta / (2 * (1 - beta) * (1 - abar)) * (eps - eps_hat) ** 2)),
    ),
    assumptions=(ALPHA, ALPHA_BAR_PREV),
    notes="Dropping the weight gives Ho's L_simple.",
))


# ----------------------------------------------------------------------------- M3.3

@dataclass(frozen=True)
class BoundDecomposition:
    """A claimed decomposition of the variational bound: ``terms(chain, x_0, log)`` returns the
    named terms (generic arithmetic: sympy with ``sympy.log``, exact with ``N.log_exact``)."""

    description: str
    terms: Callable[[N.FiniteChain, int, Callable], dict]

    def total(self, chain: N.FiniteChain, x_0_: int, log: Callable) -> Any:
        return sum(self.terms(chain, x_0_, log).values(), 0)


def _terms_unconditioned(chain: N.FiniteChain, x_0_: int, log: Callable) -> dict:
    terms = I.variational_bound_terms(chain, x_0_, log)
    for t in range(2, chain.steps + 1):
        mt, rev = I.chain_marginal(chain, x_0_, t), I.chain_reverse(chain, t)
        terms[f"posterior_kl_{t}"] = sum(
            (mt[j] * I.kl_divergence(rev[j], chain.reverse[t - 1][j], log)
             for j in range(chain.states)), 0)
    return terms


def _terms_without_prior(chain: N.FiniteChain, x_0_: int, log: Callable) -> dict:
    terms = I.variational_bound_terms(chain, x_0_, log)
    del terms["prior_kl"]
    return terms


BOUND_CLAIM = BoundDecomposition(
    "KL(q(x_T|x_0)||p(x_T)) - E log p(x_0|x_1) + sum_t E KL(q(x_{t-1}|x_t,x_0)||p(x_{t-1}|x_t))",
    I.variational_bound_terms)


@lru_cache(maxsize=1)
def _symbolic_chain() -> N.FiniteChain:
    return I.two_state_chain(2)


def _bound_symbolic(claim: BoundDecomposition, ctx: Context) -> Outcome:
    chain = _symbolic_chain()
    syms = sorted(set().union(*(e.free_symbols for k in chain.forward + chain.reverse
                                for row in k for e in row),
                                *(e.free_symbols for e in chain.prior + chain.data)),
                  key=sp.default_sort_key)
    for state in range(chain.states):
        lhs = N.bound_by_paths(chain, state, sp.log)
        rhs = claim.total(chain, state, sp.log)
        # First look for a verified counterexample on the original expressions (cheap); only a
        # claim that survives it goes to the canonical form, which is the proof.
        found = _chain_counterexample(lhs - rhs, syms, ctx)
        if found is not None:
            gap, point = found
            return Outcome(Status.FAIL, f"x_0 = {state}: definition - decomposition = "
                                        f"{mpmath.nstr(gap, 5)} at a random chain",
                           value=float(gap),
                           counterexample={"x_0": state, "point": {s.name: str(p) for s, p
                                                                   in zip(syms, point)}})
        atoms: dict = {}
        left, _ = I.log_canonical(lhs, atoms)
        right, _ = I.log_canonical(rhs, atoms)
        if sp.cancel(sp.together(left - right)) != 0:
            return Outcome(Status.INCONCLUSIVE,
                           f"x_0 = {state}: not reduced to 0, and no counterexample found")
    return Outcome(Status.PROVED, f"2-state T = 2 chains ({len(syms)} free kernel parameters), "
                                  "x_0 in {0, 1}: reduced to 0 (logs over irreducible factors, "
                                  "cancel)")


def _chain_counterexample(diff_expr: sp.Expr, syms: list, ctx: Context, tries: int = 6):
    """A point (positive rationals for the row parameters) where |diff| is of order one at dps
    and at dps + 20 digits; None if none of ``tries`` random points is one."""
    diff = sp.lambdify(syms, diff_expr, modules="mpmath")
    rng = random.Random(ctx.seed)
    for _ in range(tries):
        point = [Fraction(rng.randint(1, 40), rng.randint(1, 40)) for _ in syms]
        gaps = []
        for dps in (ctx.dps, ctx.dps + EXTRA_DIGITS):
            with workdps(dps):
                gaps.append(abs(diff(*[mpmath.mpf(p.numerator) / p.denominator for p in point])))
        # a true discrepancy is of order one; rounding stays below 10^-(dps/2) at both precisions
        if all(g > mpmath.mpf(10) ** (-(ctx.dps // 2)) for g in gaps):
            return gaps[0], point
    return None


def _bound_numeric(claim: BoundDecomposition, ctx: Context) -> Outcome:
    tol = identity_tolerance(ctx.dps)
    worst, worst_at, worst_gap, compared = mpmath.mpf(0), None, mpmath.mpf(0), 0
    for k in range(_count(ctx, 2)):
        chain = N.random_chain(3, 3, seed=1000 * ctx.seed + k)
        for state in range(chain.states):
            ref = N.variational_bound_by_paths(chain, state, ctx.dps)
            ref_high = N.variational_bound_by_paths(chain, state, ctx.dps + EXTRA_DIGITS)
            with workdps(ctx.dps):
                stated = claim.total(chain, state, N.log_exact)
                err = relative_error(stated, ref)
            with workdps(ctx.dps + EXTRA_DIGITS):
                worst_gap = max(worst_gap, relative_error(ref, ref_high))
            compared += 1
            if worst_at is None or err > worst:
                worst, worst_at = err, (k, state, stated, ref)
    metric = (f"max rel err {mpmath.nstr(worst, 2)} over {compared} (chain, x_0) pairs of 3-state "
              f"T = 3 chains (tol {mpmath.nstr(tol, 1)}); dps/dps+{EXTRA_DIGITS} gap "
              f"{mpmath.nstr(worst_gap, 2)}")
    if worst_gap > tol:
        return Outcome(Status.INCONCLUSIVE, metric,
                       detail="the path sums disagree at two precisions")
    if worst > tol:
        k, state, stated, ref = worst_at
        return Outcome(Status.FAIL, metric, value=float(worst),
                       counterexample={"chain_seed": 1000 * ctx.seed + k, "x_0": state,
                                       "stated": mpmath.nstr(stated, 20),
                                       "reference": mpmath.nstr(ref, 20)})
    return Outcome(Status.CONFIRMED, metric, value=float(worst))


register(Entry(
    id="ddpm.variational_bound_decomposition",
    title="The variational bound splits into prior KL, decoder NLL and posterior KLs",
    kind="identity",
    statement=(r"\mathbb{E}_q\log\tfrac{q(x_{1:T}|x_0)}{p_\theta(x_{0:T})}=\mathrm{KL}(q(x_T|x_0)\|"
               r"p(x_T))-\mathbb{E}_q\log p_\theta(x_0|x_1)+\sum_{t\ge2}\mathbb{E}_q\mathrm{KL}"
               r"(q(x_{t-1}|x_t,x_0)\|p_\theta(x_{t-1}|x_t))\ \text{(proved: 2-state, }T=2\text{ "
               r"chains; confirmed: 3-state, }T=3)"),
    source=Ref("M3.3", "Maleki & Pourmoazemi 2025, Sec. 3.3", ("Ho+20 Eq. 5",
                                                               "Sohl-Dickstein+15")),
    claim=BOUND_CLAIM,
    checks=(
        Check("symbolic", _bound_symbolic, budget=30.0,
              description="sympy, 2-state T = 2 chains with symbolic kernels (rows (1, r)/(1+r)): "
                          "definition (sum over paths) minus decomposition reduced to 0 with logs "
                          "of positive rational functions expanded over irreducible factors"),
        Check("exact", _bound_numeric, budget=30.0,
              description="random 3-state T = 3 chains with exact rational kernels: path sum of "
                          "q log(q/p) against the decomposition from the Bayes posterior, logs at "
                          "dps digits"),
    ),
    mutants=(
        Mutant("posterior_without_x0", "posterior KLs taken with q(x_{t-1}|x_t) (x_0 drawn from "
               "the data) instead of q(x_{t-1}|x_t, x_0)",
               BoundDecomposition("telescoping with q(x_{t-1}|x_t)", _terms_unconditioned)),
        Mutant("prior_term_dropped", "KL(q(x_T|x_0)||p(x_T)) omitted",
               BoundDecomposition("without the prior KL", _terms_without_prior)),
    ),
    notes="The symbolic route is a proof only for 2-state chains with T = 2; larger chains are "
          "checked exactly (rational probabilities, 50-digit logs).",
))


# ----------------------------------------------------------------------------- L3.4

AFFINE_CLAIM = {
    "eps_from_score": -sp.sqrt(1 - ab) * score,
    "x0_from_score": (x_t + (1 - ab) * score) / sp.sqrt(ab),
    "score_from_eps": -eps / sp.sqrt(1 - ab),
    "x0_from_eps": (x_t - sp.sqrt(1 - ab) * eps) / sp.sqrt(ab),
    "eps_from_x0": (x_t - sp.sqrt(ab) * x_0) / sp.sqrt(1 - ab),
    "v_from_eps_x0": sp.sqrt(ab) * eps - sp.sqrt(1 - ab) * x_0,
    "x0_from_v": sp.sqrt(ab) * x_t - sp.sqrt(1 - ab) * v,
    "eps_from_v": sp.sqrt(1 - ab) * x_t + sp.sqrt(ab) * v,
}

#: what each converter must return at the optimal predictors (keys of mixture_denoising_targets)
_AFFINE_TARGET = {"eps_from_score": "eps", "x0_from_score": "x_0", "score_from_eps": "score",
                  "x0_from_eps": "x_0", "eps_from_x0": "eps", "v_from_eps_x0": "v",
                  "x0_from_v": "x_0", "eps_from_v": "eps"}

#: two-component 1-D Gaussian mixture prior (weights, means, variances), exact
_MIXTURE = ((Fraction(3, 10), Fraction(7, 10)), (Fraction(-1), Fraction(2)),
            (Fraction(1, 4), Fraction(9, 16)))


def _mixture_targets(point: Mapping[str, Any], dps: int) -> dict:
    return N.mixture_denoising_targets(point["alpha_bar"], point["x_t"], *point["mixture"],
                                       dps=dps)


def _affine_reference(point: Mapping[str, Any], dps: int) -> dict:
    targets = _mixture_targets(point, dps)
    return {name: targets[key] for name, key in _AFFINE_TARGET.items()}


def _at_optimal_predictors(formula: Any, point: Mapping[str, Any]) -> mpmath.mpf:
    """Evaluate a converter at x_t with eps*, x_0*, v*, score* of the mixture prior."""
    full = dict(point)
    full.update(_mixture_targets(point, mpmath.mp.dps))
    return evaluate_formula(formula, full)


def _affine_points(ctx: Context) -> list[dict]:
    rng = random.Random(ctx.seed + 47)
    pairs = [(Fraction(1, 10 ** 3), Fraction(1, 2)), (1 - Fraction(1, 10 ** 3), Fraction(-2))]
    pairs += [(_draw(rng, Fraction(1, 20), Fraction(19, 20)), _draw(rng, Fraction(-3), Fraction(3)))
              for _ in range(_count(ctx, 3))]
    return [{"alpha_bar": a_, "x_t": xt, "mixture": _MIXTURE} for a_, xt in pairs]


register(Entry(
    id="ddpm.parametrisation_affine_maps",
    title="eps-, x_0-, score- and v-prediction are related by affine maps",
    kind="identity",
    statement=(r"\epsilon^*=-\sqrt{1-\bar\alpha}\,\nabla\log q_t,\ x_0^*=\tfrac{x_t+(1-\bar\alpha)"
               r"\nabla\log q_t}{\sqrt{\bar\alpha}},\ v=\sqrt{\bar\alpha}\epsilon-"
               r"\sqrt{1-\bar\alpha}"
               r"x_0,\ x_0=\sqrt{\bar\alpha}x_t-\sqrt{1-\bar\alpha}v,\ \epsilon=\sqrt{1-\bar\alpha}"
               r"x_t+\sqrt{\bar\alpha}v"),
    source=Ref("L3.4", "Lu, Movement III, 'denoiser parametrisation equivalence' (reconstructed)",
               ("Vincent 2011", "Ho+20", "Kingma+21", "Salimans & Ho 2022")),
    claim=AFFINE_CLAIM,
    checks=(
        symbolic_reparametrised(
            lru_cache(1)(lambda: {
                "eps_from_score": I.score_to_eps(), "x0_from_score": I.score_to_x0(),
                "score_from_eps": I.eps_to_score(), "x0_from_eps": I.eps_to_x0(),
                "eps_from_x0": I.x0_to_eps(), "v_from_eps_x0": I.v_from_eps_x0(),
                "x0_from_v": I.v_to_x0(), "eps_from_v": I.v_to_eps()}),
            description="sympy: solve the reparametrisation, the conditional score "
                        "d/dx_t log q(x_t|x_0) and the v system for each variable"),
        numeric_route(_affine_reference, _affine_points, evaluate=_at_optimal_predictors,
                      description="Gaussian-mixture prior: E[eps|x_t], E[x_0|x_t], E[v|x_t] by "
                                  "posterior quadrature, score by mpmath.diff of log q_t"),
    ),
    mutants=(
        Mutant("eps_from_score_sign_flipped", "eps* = +sqrt(1 - alpha_bar) score",
               replace(AFFINE_CLAIM, eps_from_score=sp.sqrt(1 - ab) * score)),
        Mutant("x0_from_score_missing_inverse_sqrt_alpha_bar",
               "x_0* = x_t + (1 - alpha_bar) score (1/sqrt(alpha_bar) dropped)",
               replace(AFFINE_CLAIM, x0_from_score=x_t + (1 - ab) * score)),
    ),
    assumptions=(ALPHA_BAR,),
    notes="The score-to-eps/x_0 maps hold for the optimal predictors by Tweedie's formula "
          "(grad log q_t(x_t) = E[grad log q(x_t|x_0) | x_t]); the numeric route checks them at "
          "the optimal predictors of a two-component mixture prior.",
))
