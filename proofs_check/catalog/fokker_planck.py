"""Catalog: Fokker-Planck stationarity, Gaussian OU laws, probability flow (L1.4, M5.2, M5.3, L2.6).

Entries:

* ``fokker_planck.gibbs_density_is_stationary``: pi = e^{-V} is stationary for
  dX = -grad V dt + sqrt(2) dB (generic V, d = 1, 2, 3, 5).
* ``fokker_planck.ou_gaussian_solves_fp``: N(m0 e^{-t}, v0 e^{-2t} + 1 - e^{-2t}) solves the
  Fokker-Planck equation of dX = -X dt + sqrt(2) dB, and N(m0 e^{-B/2}, v0 e^{-B} + 1 - e^{-B})
  that of the VP SDE dX = -beta X/2 dt + sqrt(beta) dW (B = int beta, any schedule).
* ``fokker_planck.probability_flow_transports_marginals``: v = f - (g^2/2) grad log p_t solves
  the continuity equation of the VP marginals; the lambda family
  dY = [-f + ((1 + lambda^2)/2) g^2 grad log p] dtau + lambda g dB keeps the marginals.

Routes: *symbolic*, residuals from :mod:`identities.fokker_planck` (divided by the density,
i.e. written through log p) reduced to 0 by :func:`identities.prove_zero`, with time
reparametrised (u = e^{-t}, alpha = e^{-B/2}, beta = B'); mixtures via
:func:`identities.fokker_planck.exponential_jets`.  *numeric*, the same residuals with every
derivative taken by ``mpmath.diff`` at concrete potentials, schedules and mixture data
(:mod:`numerics.fokker_planck`): |residual| / sum |terms| below 10^-(dps-10) at dps and below
10^-(dps+10) at dps + 20.

References: Pavliotis 2014; Song et al. 2021; Anderson 1982; Zhang & Chen 2023; Lu 2026;
Maleki & Pourmoazemi 2025, Lemma 5.3 and Theorem 5.4.
"""

from __future__ import annotations

import random
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import mpmath
import sympy as sp
from sympy.core.function import AppliedUndef

from identities import fokker_planck as fp
from identities import prove_zero
from numerics import fokker_planck as nf
from numerics.errors import InvalidParameter
from numerics.precision import EXTRA_DIGITS, identity_tolerance, mpf_exact, workdps
from proofs_check.catalog import (Assumption, Check, Context, Entry, Mutant, Outcome, Ref,
                                  Status, register)
from proofs_check.routes import rational_points

__all__ = ["GIBBS_DIMENSIONS", "MIXTURE_DATA"]

#: Dimensions of the generic-potential stationarity proof.
GIBBS_DIMENSIONS = (1, 2, 3, 5)
#: Mixture data of the probability-flow checks: (weights, means, variances).
MIXTURE_DATA = (
    ((Fraction(3, 10), Fraction(7, 10)), (Fraction(-1), Fraction(3, 2)),
     (Fraction(1, 2), Fraction(1, 3))),
    ((Fraction(1, 2), Fraction(1, 2)), (Fraction(-2), Fraction(2)),
     (Fraction(1, 4), Fraction(1))),
)
#: Proof budget of one residual (seconds).
_PROOF_BUDGET = 5.0

_U = sp.Symbol("u", positive=True)          # u = e^{-t}
_ALPHA = sp.Symbol("alpha", positive=True)  # alpha = e^{-B(t)/2}
_BETA = sp.Symbol("beta", positive=True)    # beta = B'(t)
_MU = sp.Symbol("mu", real=True)
_VAR = sp.Symbol("v", positive=True)


def _count(ctx: Context, base: int) -> int:
    return max(1, round(base * ctx.effort))


def _formula(claim: Mapping, name: str, allowed: Sequence[sp.Basic]) -> sp.Expr:
    """claim[name], checked to be a sympy expression in the allowed placeholders only."""
    if not isinstance(claim, Mapping) or name not in claim:
        raise InvalidParameter("claim", claim, f"a mapping with the formula {name!r}")
    expr = claim[name]
    if not isinstance(expr, sp.Expr):
        raise InvalidParameter(name, expr, "a sympy expression")
    allowed_symbols = set().union(*(a.free_symbols for a in allowed))
    allowed_functions = {a for a in allowed if isinstance(a, AppliedUndef)}
    extra = (expr.free_symbols - allowed_symbols) | (expr.atoms(AppliedUndef) - allowed_functions)
    if extra:
        raise InvalidParameter(name, expr, f"an expression in {', '.join(map(str, allowed))}",
                               f"unknown {sorted(map(str, extra))}")
    return expr


def _lambdify(claim: Mapping, name: str, args: Sequence[sp.Basic]) -> Callable:
    expr = _formula(claim, name, args)
    dummies = [sp.Dummy(str(a)) if not isinstance(a, sp.Symbol) else a for a in args]
    expr = expr.xreplace({a: d for a, d in zip(args, dummies) if a is not d})
    return sp.lambdify(dummies, expr, modules="mpmath")


def _schedule_to_symbols(expr: sp.Expr) -> sp.Expr:
    """B'(t) -> beta, B''(t)... -> fresh reals, then B(t) -> -2 log alpha (alpha = e^{-B/2})."""
    b = fp.BETA_INTEGRAL(fp.T)
    orders = {}
    for d in expr.atoms(sp.Derivative):
        if d.expr == b:
            n = d.derivative_count
            orders[d] = _BETA if n == 1 else sp.Symbol(f"beta_d{n}", real=True)
    out = expr.xreplace(orders).xreplace({b: -2 * sp.log(_ALPHA)})
    if out.has(fp.T):
        raise InvalidParameter("claim", expr, "formulas in which t enters through B(t) only")
    return out


def _declared(assumptions, expr: sp.Expr):
    """The assumptions on symbols that still occur (a residual may have lost some)."""
    if not assumptions:
        return None
    return {k: v for k, v in assumptions.items() if k in expr.free_symbols} or None


def _prove_all(residuals: Sequence[tuple[str, sp.Expr, dict]]) -> Outcome:
    """prove_zero on each labelled residual; FAIL at the first verified counterexample."""
    proved, open_ = [], []
    for label, expr, assumptions in residuals:
        result = prove_zero(expr, _declared(assumptions, expr), budget=_PROOF_BUDGET)
        if result.status == "FAIL":
            return Outcome(Status.FAIL, f"{label}: residual is not zero",
                           detail=str(result), counterexample={"case": label,
                                                               **(result.counterexample or {})})
        (proved if result.proved else open_).append((label, result))
    if open_:
        return Outcome(Status.INCONCLUSIVE, f"{len(proved)} of {len(residuals)} residuals proved",
                       detail="; ".join(f"{label}: {r}" for label, r in open_))
    methods = sorted({r.method or "?" for _, r in proved})
    return Outcome(Status.PROVED, f"{len(proved)} residual(s) reduced to 0 ({', '.join(methods)})")


def _residual_route(residuals: Callable, description: str, budget: float = 30.0) -> Check:
    """Numeric route: ``residuals(claim, ctx, dps)`` -> [(label, point, nf.Residual)]."""

    def run(claim, ctx: Context) -> Outcome:
        low = residuals(claim, ctx, ctx.dps)
        high = residuals(claim, ctx, ctx.dps + EXTRA_DIGITS)
        tol_low, tol_high = identity_tolerance(ctx.dps), identity_tolerance(ctx.dps + EXTRA_DIGITS)
        worst_low = max(r.relative for _, _, r in low)
        worst_high = max(r.relative for _, _, r in high)
        metric = (f"max |residual|/sum|terms| {mpmath.nstr(worst_low, 2)} at {len(low)} points "
                  f"(tol {mpmath.nstr(tol_low, 1)}); {mpmath.nstr(worst_high, 2)} at "
                  f"dps+{EXTRA_DIGITS} (tol {mpmath.nstr(tol_high, 1)})")
        # a genuine discrepancy stays large at both precisions; rounding shrinks with digits
        bad = [(lo, hi, label, point) for (label, point, lo), (_, _, hi) in zip(low, high)
               if lo.relative > tol_low and hi.relative > tol_low]
        if bad:
            lo, hi, label, point = max(bad, key=lambda b: b[0].relative)
            return Outcome(Status.FAIL, metric, value=float(lo.relative),
                           counterexample={"case": label,
                                           "point": {k: str(v) for k, v in point.items()},
                                           "residual": mpmath.nstr(lo.value, 15),
                                           "scale": mpmath.nstr(lo.scale, 15)})
        if worst_low > tol_low or worst_high > tol_high:
            return Outcome(Status.INCONCLUSIVE, metric,
                           detail="the residual did not shrink with the precision")
        return Outcome(Status.CONFIRMED, metric, value=float(worst_low))

    return Check("numeric", run, description=description, budget=budget)


def _coords(rng: random.Random, d: int, lo: int = -3, hi: int = 3) -> list[Fraction]:
    return [Fraction(rng.randrange(lo * 40, hi * 40 + 1), 40) for _ in range(d)]


# ----------------------------------------------------------------------------- L1.4 Gibbs

def _gibbs_symbolic(claim, ctx: Context) -> Outcome:
    allowed = (fp.POTENTIAL, fp.GRAD_V)
    log_density = _formula(claim, "log_density", allowed)
    drift = _formula(claim, "drift", allowed)
    noise = _formula(claim, "noise", allowed)
    cases = []
    for d in GIBBS_DIMENSIONS:
        xs = sp.symbols(f"x1:{d + 1}", real=True)
        V = sp.Function("V")(*xs)
        L = log_density.xreplace({fp.POTENTIAL: V})
        f = [drift.xreplace({fp.GRAD_V: sp.diff(V, x), fp.POTENTIAL: V}) for x in xs]
        g = noise.xreplace({fp.POTENTIAL: V})
        cases.append((f"d={d}", fp.log_fokker_planck_residual(L, f, g, xs), None))
    return _prove_all(cases)


def _gibbs_points(ctx: Context) -> list[tuple[str, list]]:
    rng = random.Random(ctx.seed)
    # the barrier top of the double well: the drift nearly vanishes, the Laplacian dominates
    out = [("double_well_1d", [Fraction(0)])]
    for name, (d, _) in nf.POTENTIALS.items():
        out += [(name, _coords(rng, d, -2, 2)) for _ in range(_count(ctx, 2))]
    return out


def _gibbs_residuals(claim, ctx: Context, dps: int) -> list:
    L = _lambdify(claim, "log_density", (fp.POTENTIAL,))
    drift = _lambdify(claim, "drift", (fp.POTENTIAL, fp.GRAD_V))
    noise = _lambdify(claim, "noise", (fp.POTENTIAL,))
    out = []
    for name, x in _gibbs_points(ctx):
        V = nf.POTENTIALS[name][1]
        r = nf.fokker_planck_residual(
            lambda *a: mpmath.exp(L(V(*a))),
            lambda *a: [drift(V(*a), g) for g in nf.gradient(V, a)],
            lambda *a: noise(V(*a)) ** 2, x, dps=dps)
        out.append((name, {f"x{i + 1}": c for i, c in enumerate(x)}, r))
    return out


_GIBBS = fp.gibbs_formulas()

register(Entry(
    id="fokker_planck.gibbs_density_is_stationary",
    title="The Gibbs density e^{-V} is stationary for overdamped Langevin dynamics",
    kind="identity",
    statement=r"\nabla\cdot(e^{-V}\nabla V)+\Delta e^{-V}=0,\ \text{so }\pi\propto e^{-V}"
              r"\text{ is stationary for }dX=-\nabla V(X)\,dt+\sqrt2\,dB",
    source=Ref(catalog="L1.4", notes="Lu 2026, Langevin dynamics: Fokker-Planck equation and "
               "stationarity (reconstructed)", literature=("Pavliotis 2014", "Jordan, "
               "Kinderlehrer & Otto 1998")),
    claim=_GIBBS,
    checks=(
        Check("symbolic", _gibbs_symbolic, budget=30.0,
              description="sympy: generic V (undefined function) in d = 1, 2, 3, 5; the "
                          "residual divided by e^{-V} (log form) reduces to 0"),
        _residual_route(_gibbs_residuals,
                        "mpmath.diff: residual of exp(-V) at concrete non-polynomial V in "
                        "1, 2, 3 dimensions"),
    ),
    mutants=(
        Mutant("density_squared", "pi = e^{-2V}", dict(_GIBBS, log_density=-2 * fp.POTENTIAL)),
        Mutant("density_inverted", "pi = e^{+V}", dict(_GIBBS, log_density=fp.POTENTIAL)),
        Mutant("drift_doubled", "drift -2 grad V with the same noise sqrt(2)",
               dict(_GIBBS, drift=-2 * fp.GRAD_V)),
    ),
    assumptions=(
        Assumption("smooth_potential", "V in C^2(R^d)"),
        Assumption("integrable", "e^{-V} integrable, so pi can be normalised"),
    ),
    notes="Stationarity is the vanishing of d_t p = div(p grad V) + Laplacian p at p = e^{-V}; "
          "the normalising constant does not enter.",
))


# ----------------------------------------------------------------------------- M5.2 OU laws

def _ou_log_density(mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    return fp.gaussian_log_density(fp.X, mean, var)


def _ou_symbolic(claim, ctx: Context) -> Outcome:
    allowed = (fp.M0, fp.V0, fp.T, fp.BETA_INTEGRAL(fp.T))
    b = fp.BETA_INTEGRAL(fp.T)
    x, t = fp.X, fp.T
    L = _ou_log_density(_formula(claim, "mean", allowed), _formula(claim, "variance", allowed))
    ou = fp.log_fokker_planck_residual(L, -x, sp.sqrt(2), [x], t).subs(t, -sp.log(_U))
    L = _ou_log_density(_formula(claim, "vp_mean", allowed),
                        _formula(claim, "vp_variance", allowed))
    vp = fp.log_fokker_planck_residual(L, -sp.diff(b, t) * x / 2, sp.sqrt(sp.diff(b, t)), [x], t)
    return _prove_all([("OU dX = -X dt + sqrt(2) dB (u = e^-t)", ou, {_U: "unit_interval"}),
                       ("VP dX = -beta X/2 dt + sqrt(beta) dW (alpha = e^-B/2)",
                        _schedule_to_symbols(vp), {_ALPHA: "unit_interval"})])


def _ou_points(ctx: Context) -> list[dict]:
    domains = {"m0": (Fraction(-2), Fraction(2)), "v0": (Fraction(1, 10), Fraction(3)),
               "x": (Fraction(-3), Fraction(3))}
    # v0 = 1 starts at the stationary variance (only the mean moves); t small: near the start
    edges = [{"m0": "3/2", "v0": 1, "x": "1/2", "t": "1/2"},
             {"m0": "-1", "v0": "1/4", "x": "-1", "t": "1/100"}]
    ou = rational_points(domains | {"t": (Fraction(1, 20), Fraction(2))}, _count(ctx, 2),
                         ctx.seed, edges)
    vp = rational_points(domains | {"t": (Fraction(1, 100), Fraction(1))}, _count(ctx, 2),
                         ctx.seed + 1, edges)
    return [p | {"sde": "ou"} for p in ou] + [p | {"sde": "vp"} for p in vp]


def _ou_residuals(claim, ctx: Context, dps: int) -> list:
    b = sp.Dummy("B")
    bt = fp.BETA_INTEGRAL(fp.T)
    args = (fp.M0, fp.V0, fp.T)
    mean, var = _lambdify(claim, "mean", args), _lambdify(claim, "variance", args)
    vp_claim = {k: claim[k].xreplace({bt: b}) for k in ("vp_mean", "vp_variance") if k in claim}
    vp_mean = _lambdify(vp_claim, "vp_mean", args + (b,))
    vp_var = _lambdify(vp_claim, "vp_variance", args + (b,))
    beta, integral = nf.linear_vp_schedule()
    out = []
    for p in _ou_points(ctx):
        with workdps(dps):
            m0, v0 = mpf_exact(p["m0"]), mpf_exact(p["v0"])
        if p["sde"] == "ou":
            def density(x, t, m0=m0, v0=v0):
                return mpmath.npdf(x, mean(m0, v0, t), mpmath.sqrt(var(m0, v0, t)))
            r = nf.fokker_planck_residual(density, lambda x, t: [-x], lambda x, t: 2,
                                          [p["x"]], p["t"], dps=dps)
        else:
            def density(x, t, m0=m0, v0=v0):
                B = integral(t)
                return mpmath.npdf(x, vp_mean(m0, v0, t, B), mpmath.sqrt(vp_var(m0, v0, t, B)))
            r = nf.fokker_planck_residual(density, lambda x, t: [-beta(t) * x / 2],
                                          lambda x, t: beta(t), [p["x"]], p["t"], dps=dps)
        out.append((p["sde"], p, r))
    return out


_OU = fp.ou_marginal_formulas()
_BT = fp.BETA_INTEGRAL(fp.T)

register(Entry(
    id="fokker_planck.ou_gaussian_solves_fp",
    title="The Gaussian OU / VP marginals solve the Fokker-Planck equation",
    kind="identity",
    statement=r"p_t=\mathcal N\!\bigl(m_0e^{-t},\,v_0e^{-2t}+1-e^{-2t}\bigr)\text{ solves }"
              r"\partial_tp=\partial_x(xp)+\partial_x^2p;\ \text{VP: }\mathcal N(m_0e^{-B/2},"
              r"v_0e^{-B}+1-e^{-B})\text{ solves }\partial_tp=\tfrac\beta2\partial_x(xp)+"
              r"\tfrac\beta2\partial_x^2p",
    source=Ref(catalog="M5.2", notes="Maleki & Pourmoazemi 2025, Lemma 5.3 (Fokker-Planck for "
               "additive noise); Lu 2026 OU convention (L1.4 check)",
               literature=("Pavliotis 2014", "Song et al. 2021")),
    claim=_OU,
    checks=(
        Check("symbolic", _ou_symbolic, budget=30.0,
              description="sympy: log-form Fokker-Planck residual with u = e^{-t} (OU) and "
                          "alpha = e^{-B/2}, beta = B' for a generic schedule (VP) cancels to 0"),
        _residual_route(_ou_residuals,
                        "mpmath.diff in t and x of the stated Gaussian (OU; VP with the "
                        "linear schedule beta = 1/10 + 19.9 t)"),
    ),
    mutants=(
        Mutant("variance_exponent_halved", "variance v0 e^{-t} + 1 - e^{-t}",
               dict(_OU, variance=fp.V0 * sp.exp(-fp.T) + 1 - sp.exp(-fp.T))),
        Mutant("vp_variance_exponent_halved", "VP variance v0 e^{-B/2} + 1 - e^{-B/2}",
               dict(_OU, vp_variance=fp.V0 * sp.exp(-_BT / 2) + 1 - sp.exp(-_BT / 2))),
        Mutant("mean_decay_halved", "mean m0 e^{-t/2} (the VP rate with beta = 1)",
               dict(_OU, mean=fp.M0 * sp.exp(-fp.T / 2))),
    ),
    assumptions=(
        Assumption("gaussian_start", "X_0 ~ N(m0, v0) with v0 > 0",
                   lambda p: Fraction(p["v0"]) > 0),
        Assumption("positive_schedule", "beta(t) > 0 and B(t) = int_0^t beta(s) ds"),
    ),
    notes="With beta = 2 the VP SDE is Lu's OU; the symbolic VP case holds for every schedule "
          "because B is an undefined function.",
))


# ----------------------------------------------------------------------------- M5.3 / L2.6

_PF_ARGS = (fp.DRIFT, fp.NOISE, fp.SCORE, fp.LAMBDA)


def _pf_fields(claim, f, g, score) -> tuple:
    rep = {fp.DRIFT: f, fp.NOISE: g, fp.SCORE: score}
    return tuple(_formula(claim, k, _PF_ARGS).xreplace(rep)
                 for k in ("velocity", "lambda_drift", "lambda_noise"))


def _pf_symbolic(claim, ctx: Context) -> Outcome:
    x, t = fp.X, fp.T
    bdot = sp.diff(fp.BETA_INTEGRAL(t), t)
    f, g = -bdot * x / 2, sp.sqrt(bdot)
    a = sp.exp(-fp.BETA_INTEGRAL(t) / 2)
    # Gaussian data N(mu, v): everything through L = log p_t
    L = fp.gaussian_log_density(x, a * _MU, a**2 * _VAR + 1 - a**2)
    vel, drift, noise = _pf_fields(claim, f, g, sp.diff(L, x))
    dom = {_ALPHA: "unit_interval"}
    outcome = _prove_all([
        ("continuity, Gaussian data", _schedule_to_symbols(
            fp.log_continuity_residual(L, vel, [x], t)), dom),
        ("lambda family, Gaussian data", _schedule_to_symbols(
            fp.log_fokker_planck_residual(L, drift, noise, [x], t, reverse_time=True)), dom),
    ])
    if outcome.status is not Status.PROVED:
        return outcome
    mixture = _mixture_residuals(claim)
    proved = [(label, prove_zero(r, _declared(dom, r), budget=_PROOF_BUDGET))
              for label, r, _ in mixture]
    if all(res.proved for _, res in proved):
        return Outcome(Status.PROVED, f"{len(proved) + 2} residuals reduced to 0 (Gaussian data "
                       "N(mu, v); mixture data with e^{L_k} as independent symbols)")
    return _refute_mixture(mixture, [label for label, res in proved if not res.proved])


@lru_cache(maxsize=1)
def _mixture_components() -> tuple:
    w, mu, v = ([sp.Rational(q.numerator, q.denominator) for q in seq] for seq in MIXTURE_DATA[0])
    comps = fp.vp_mixture_components(w, mu, v)
    phis = [sp.Function(f"phi{k + 1}")(fp.X, fp.T) for k in range(len(comps))]
    Es = [sp.Symbol(f"E{k + 1}", positive=True) for k in range(len(comps))]
    return tuple(zip(phis, comps, Es))


def _mixture_residuals(claim) -> list:
    """Residuals for the first mixture of MIXTURE_DATA, each component e^{L_k} as E_k."""
    x, t = fp.X, fp.T
    bdot = sp.diff(fp.BETA_INTEGRAL(t), t)
    comps = _mixture_components()
    p = sum(w * phi for phi, (w, _), _ in comps)
    vel, drift, noise = _pf_fields(claim, -bdot * x / 2, sp.sqrt(bdot), sp.diff(p, x) / p)
    jets = {phi: (L, E) for phi, (_, L), E in comps}
    density = sum(w * E for _, (w, _), E in comps)
    out = []
    for label, r in (("continuity, mixture data", fp.continuity_residual(p, vel, [x], t)),
                     ("lambda family, mixture data",
                      fp.fokker_planck_residual(p, drift, noise, [x], t, reverse_time=True))):
        out.append((label, _schedule_to_symbols(fp.exponential_jets(r, jets)), density))
    return out


def _refute_mixture(mixture: list, labels: list) -> Outcome:
    """The jets form was not 0: evaluate it with E_k = e^{L_k} at exact points, two precisions."""
    comps = _mixture_components()
    logs = [_schedule_to_symbols(L) for _, (_, L), _ in comps]
    rng = random.Random(0)
    for label, expr, density in mixture:
        if label not in labels:
            continue
        ratio = expr / density
        symbols = sorted(ratio.free_symbols - {E for *_, E in comps}, key=str)
        fn = sp.lambdify(symbols + [E for *_, E in comps], ratio, modules="mpmath")
        log_fns = [sp.lambdify(symbols, L, modules="mpmath") for L in logs]
        for _ in range(8):
            point = {s: Fraction(rng.randrange(1, 40), 40) if s == _ALPHA else
                     Fraction(rng.randrange(1, 61), 20) if s.is_nonnegative else
                     Fraction(rng.randrange(-60, 61), 20) for s in symbols}
            values = []
            for dps in (30, 50):
                with workdps(dps):
                    args = [mpf_exact(point[s]) for s in symbols]
                    values.append(fn(*args, *[mpmath.exp(lf(*args)) for lf in log_fns]))
            if all(abs(v) > mpmath.mpf(10) ** -12 for v in values):
                return Outcome(Status.FAIL, f"{label}: residual/p = {mpmath.nstr(values[1], 8)}",
                               counterexample={"case": label,
                                               "point": {str(s): str(v) for s, v in point.items()}})
    return Outcome(Status.INCONCLUSIVE, "mixture residuals neither reduced to 0 nor refuted",
                   detail=", ".join(labels))


def _pf_points(ctx: Context) -> list[dict]:
    # lambda = 0 is the probability-flow ODE itself, lambda = 1 Anderson's reverse SDE
    edges = [{"x": "1/2", "t": "1/10", "lambda": 0}, {"x": "-2", "t": "1/2", "lambda": 1}]
    pts = rational_points({"x": (Fraction(-3), Fraction(3)), "t": (Fraction(1, 20), Fraction(1)),
                           "lambda": (Fraction(0), Fraction(3))}, _count(ctx, 2), ctx.seed, edges)
    return [p | {"mixture": i % len(MIXTURE_DATA)} for i, p in enumerate(pts)]


def _pf_residuals(claim, ctx: Context, dps: int) -> list:
    vel_fn = _lambdify(claim, "velocity", _PF_ARGS)
    drift_fn = _lambdify(claim, "lambda_drift", _PF_ARGS)
    noise_fn = _lambdify(claim, "lambda_noise", _PF_ARGS)
    beta, integral = nf.linear_vp_schedule()
    out = []
    for p in _pf_points(ctx):
        w, mu, v = MIXTURE_DATA[p["mixture"]]
        with workdps(dps):
            lam = mpf_exact(p["lambda"])

        def density(x, t, w=w, mu=mu, v=v):
            return nf.vp_mixture_density(w, mu, v, x, t, integral)

        def fields(x, t, fn, density=density, lam=lam):
            score = mpmath.diff(lambda u: mpmath.log(density(u, t)), x)
            return fn(-beta(t) * x / 2, mpmath.sqrt(beta(t)), score, lam)

        cont = nf.continuity_residual(density, lambda x, t: [fields(x, t, vel_fn)],
                                      [p["x"]], p["t"], dps=dps)
        lam_r = nf.fokker_planck_residual(density, lambda x, t: [fields(x, t, drift_fn)],
                                          lambda x, t: fields(x, t, noise_fn) ** 2,
                                          [p["x"]], p["t"], dps=dps, reverse_time=True)
        out += [("continuity", p, cont), ("lambda family", p, lam_r)]
    return out


_PF = fp.probability_flow_formulas()

register(Entry(
    id="fokker_planck.probability_flow_transports_marginals",
    title="The probability-flow velocity and the lambda family preserve the VP marginals",
    kind="identity",
    statement=r"v=f-\tfrac{g^2}{2}\nabla\log p_t\text{ solves }\partial_tp_t+\nabla\cdot(p_tv)=0;"
              r"\ dY=[-f+\tfrac{1+\lambda^2}{2}g^2\nabla\log p_{T-\tau}]d\tau+\lambda g\,d\bar B"
              r"\text{ has marginals }p_{T-\tau}",
    source=Ref(catalog="M5.3", notes="Maleki & Pourmoazemi 2025, Theorem 5.4 (VP case); Lu 2026, "
               "L2.6 (lambda family, reconstructed)",
               literature=("Song et al. 2021", "Anderson 1982", "Zhang & Chen 2023")),
    claim=_PF,
    checks=(
        Check("symbolic", _pf_symbolic, budget=40.0,
              description="sympy: VP SDE with a generic schedule; Gaussian data N(mu, v) in log "
                          "form, then two-component mixture data (components as independent "
                          "exponentials); symbolic lambda"),
        _residual_route(_pf_residuals,
                        "mpmath.diff: mixture data, linear schedule, score by numerical "
                        "differentiation of log p_t; lambda = 0, 1 and drawn values"),
    ),
    mutants=(
        Mutant("score_half_dropped", "v = f - g^2 grad log p_t",
               dict(_PF, velocity=fp.DRIFT - fp.NOISE**2 * fp.SCORE)),
        Mutant("score_sign_flipped", "v = f + (g^2/2) grad log p_t",
               dict(_PF, velocity=fp.DRIFT + fp.NOISE**2 / 2 * fp.SCORE)),
        Mutant("lambda_not_squared", "(1 + lambda)/2 instead of (1 + lambda^2)/2 (right only at "
               "lambda = 0, 1)",
               dict(_PF, lambda_drift=-fp.DRIFT + (1 + fp.LAMBDA) / 2 * fp.NOISE**2 * fp.SCORE)),
        Mutant("lambda_noise_unscaled", "noise g instead of lambda g (right only at lambda = 1)",
               dict(_PF, lambda_noise=fp.NOISE)),
    ),
    assumptions=(
        Assumption("additive_noise", "g depends on t only (state-dependent g needs extra terms, "
                   "Remark 5.5)"),
        Assumption("positive_density", "p_t > 0 and smooth, so grad log p_t exists"),
        Assumption("lambda_nonnegative", "lambda >= 0", lambda p: Fraction(p["lambda"]) >= 0),
    ),
    notes="The key identity is Laplacian p = div(p grad log p).  In the VP case the velocity is "
          "-beta(t)/2 (x + grad log p_t).",
))
