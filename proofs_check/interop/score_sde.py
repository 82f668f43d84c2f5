"""The ``score_sde PATH`` target: ``sde_lib`` of a score_sde_pytorch checkout, imported by path.

The checkout root goes first on ``sys.path`` while ``sde_lib`` is imported (it needs torch and
numpy), then everything is restored.  Checks (reference_targets.md section 6):

RC-19  ``marginal_prob`` of VPSDE, subVPSDE, VESDE: mean coefficient and std against the closed
       forms (``numerics.schedules.sde_marginal``, with expm1 for 1 - e^x) for t from the
       likelihood cut-off 1e-5 to 1.
RC-20  ``sde`` drift and diffusion, ``discretize`` (f, G) between grid points and at t = 0, 1,
       ``prior_logp``, the discrete VP table against its exact cumulative product, and the
       continuous VP alpha_bar(t) against the discrete table (a documented O(1/N) difference).
RC-25  ``likelihood.get_likelihood_fn`` bpd on Gaussian data with its exact score, against the
       closed form of the affine probability-flow map (:mod:`.score_sde_likelihood`).

Tolerances: float32 evaluation of each closed form, with the rounding of the exponent c(t)
(4u) propagated through the formula's condition number (``steps.propagate``); where the target
reads a float32 table (alphas, sigmas), the table entries' rounding is propagated.  A formula
that cancels beyond that (1 - exp(2c) at small t instead of -expm1(2c)) FAILs.
"""

from __future__ import annotations

import contextlib
import importlib
import pathlib
import sys

import mpmath
import numpy as np

from numerics.errors import InvalidParameter
from numerics.precision import mpf_exact, mpf_from_float, workdps
from proofs_check.interop import exact as ex
from proofs_check.interop.common import (WARN, Report, Result, RunContext, compare, error_result,
                                         to_float64)
from proofs_check.interop.score_sde_likelihood import check_likelihood
from proofs_check.interop.steps import propagate

TS = (1e-5, 1e-4, 1e-3, 0.01, 0.1, 0.25, 0.5, 0.75, 1.0)


@contextlib.contextmanager
def imported(path):
    root = pathlib.Path(str(path))
    if not (root / "sde_lib.py").is_file():
        raise InvalidParameter("PATH", str(path), "the root of a score_sde_pytorch checkout (with sde_lib.py)")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise InvalidParameter("TARGET", "score_sde", "torch installed (sde_lib imports it)",
                               "pip install torch==2.13.0") from None
    names = ("sde_lib", "likelihood", "models", "models.utils")
    saved = {k: sys.modules.pop(k) for k in names if k in sys.modules}
    sys.path.insert(0, str(root))
    try:
        try:
            yield importlib.import_module("sde_lib")
        except ImportError as exc:
            raise InvalidParameter("PATH", str(path), "an importable sde_lib", str(exc)) from None
    finally:
        sys.path.remove(str(root))
        for k in names:
            sys.modules.pop(k, None)
        sys.modules.update(saved)


def _mp(v):
    return mpf_from_float(float(v))


def _c(t, b0, b1):
    return -t * t * (b1 - b0) / 4 - t * b0 / 2


def check_marginals(sde_lib, ctx: RunContext) -> list[Result]:
    import torch

    out = []
    t = torch.tensor(TS, dtype=torch.float32)
    x = torch.ones(len(TS), 1, 2, 2)
    b0, b1 = mpf_exact("0.1"), mpf_exact("20")

    def mean_F(c):
        return mpmath.exp(c), mpmath.exp(c)

    std_F = {"VPSDE": lambda c: (mpmath.sqrt(-mpmath.expm1(2 * c)),) * 2,
             "subVPSDE": lambda c: (-mpmath.expm1(2 * c),) * 2}
    for cls in ("VPSDE", "subVPSDE"):
        where = f"{cls}(beta_min=0.1, beta_max=20), t in [1e-5, 1], float32"
        try:
            mean, std = getattr(sde_lib, cls)().marginal_prob(x, t)
        except Exception as exc:
            out.append(error_result("RC-19", "marginal_prob", where, exc))
            continue
        with workdps(ctx.dps):
            cs = [_c(_mp(v), b0, b1) for v in t]
            mres = [propagate(mean_F, {"c": c}, {"c": 4}, 2) for c in cs]
            sres = [propagate(std_F[cls], {"c": c}, {"c": 4}, 4) for c in cs]
            ref = [ex.ns.sde_marginal("vp" if cls == "VPSDE" else "subvp", _mp(v), dps=ctx.dps) for v in t]
        out.append(compare("RC-19", "marginal_prob mean coefficient e^c", where, to_float64(mean)[::4],
                           [r["mean_coef"] for r in ref], dtype="float32", bound_u=np.array([b for _, b in mres]),
                           dps=ctx.dps, how="c(t) with 4u propagated through exp (cond |c|), + 2u"))
        out.append(compare("RC-19", "marginal_prob std", where, std, [r["std"] for r in ref], dtype="float32",
                           bound_u=np.array([b for _, b in sres]), dps=ctx.dps,
                           how="c(t) with 4u propagated through -expm1(2c) (cond ~1 at small t), + 4u; "
                               "1 - exp(2c) loses digits beyond this at small t"))
    where = "VESDE(sigma_min=0.01, sigma_max=50), t in [1e-5, 1], float32"
    try:
        mean, std = sde_lib.VESDE().marginal_prob(x, t)
        F = lambda smin, ratio, t: (smin * ratio ** t,) * 2
        with workdps(ctx.dps):
            ratio = mpf_exact("50") / mpf_exact("0.01")
            res = [propagate(F, {"smin": mpf_exact("0.01"), "ratio": ratio, "t": _mp(v)}, {"ratio": 1}, 3) for v in t]
            ref = [ex.ns.sde_marginal("ve", _mp(v), dps=ctx.dps)["std"] for v in t]
        out.append(compare("RC-19", "marginal_prob mean = x", where, to_float64(mean), to_float64(x),
                           dtype="float32", bound_u=0.0, dps=ctx.dps, how="the identity: exact"))
        out.append(compare("RC-19", "marginal_prob std", where, std, ref, dtype="float32",
                           bound_u=np.array([b for _, b in res]), dps=ctx.dps,
                           how="sigma_min (sigma_max/sigma_min)^t: the ratio's rounding times t ln(ratio), + 3u"))
    except Exception as exc:
        out.append(error_result("RC-19", "marginal_prob", where, exc))
    ctx.progress("score_sde marginals")
    return out


def check_sde_and_discretize(sde_lib, ctx: RunContext) -> list[Result]:
    import torch

    out = []
    N = 1000
    b0, b1 = mpf_exact("0.1"), mpf_exact("20")
    t_between = [(i + 0.5) / (N - 1) for i in (0, 1, 10, 499, 997)] + [0.0, 1.0]
    t = torch.tensor(t_between, dtype=torch.float32)
    x = torch.tensor(ctx.rng.standard_normal((len(t), 1, 1, 1)), dtype=torch.float32)
    xs = [_mp(v) for v in to_float64(x)]
    ts = [_mp(v) for v in to_float64(t)]
    # VP: sde and discretize
    vp = sde_lib.VPSDE()
    drift, diff = vp.sde(x, t)
    beta_t = [b0 + tt * (b1 - b0) for tt in ts]
    out.append(compare("RC-20", "sde drift = -beta(t) x / 2", "VPSDE float32", drift,
                       [-bt * xv / 2 for bt, xv in zip(beta_t, xs)], dtype="float32", bound_u=6.0, dps=ctx.dps,
                       how="beta(t) by 3 roundings, then 2 products: 6u"))
    out.append(compare("RC-20", "sde diffusion = sqrt(beta(t))", "VPSDE float32", diff,
                       [mpmath.sqrt(bt) for bt in beta_t], dtype="float32", bound_u=4.0, dps=ctx.dps,
                       how="beta(t) 3u halved by sqrt, + u"))
    with workdps(ctx.dps + 10):  # linspace(beta_min/N, beta_max/N, N), exactly
        beta_tab = [b0 / N + (b1 / N - b0 / N) * i / (N - 1) for i in range(N)]
    idx = [int(mpmath.floor(tt * (N - 1))) for tt in ts]
    f, G = vp.discretize(x, t)
    fv, fb, gv, gb = [], [], [], []
    for i, xv in zip(idx, xs):
        alpha = 1 - beta_tab[i]
        v, b = propagate(lambda a, x: ((mpmath.sqrt(a) - 1) * x, abs(mpmath.sqrt(a) * x) + abs(x)),
                         {"a": alpha, "x": xv}, {"a": 1 + 4 * float(beta_tab[i])}, 3)
        fv.append(v)
        fb.append(b)
        gv.append(mpmath.sqrt(beta_tab[i]))
        gb.append(4.0)
    where = "VPSDE discretize, t between grid points and t = 0, 1 (i = floor(t(N-1))), float32"
    out.append(compare("RC-20", "discretize f = (sqrt(1 - beta_i) - 1) x", where, f, fv, dtype="float32",
                       bound_u=np.array(fb), dps=ctx.dps,
                       how="the float32 table alpha_i (1 + beta e_beta)u propagated (cond 1/beta_i), + 3u"))
    out.append(compare("RC-20", "discretize G = sqrt(beta_i)", where, G, gv, dtype="float32",
                       bound_u=np.array(gb), dps=ctx.dps, how="linspace beta_i 3u halved, + 2u"))
    ab = [mpmath.mpf(1)]
    with workdps(ctx.dps + 10):
        for b in beta_tab:
            ab.append(ab[-1] * (1 - b))
    ab = ab[1:]
    E = np.cumsum(1 + np.array([float(b) for b in beta_tab]) * 4) + np.arange(N)
    if hasattr(vp, "alphas_cumprod"):
        out.append(compare("RC-20", "discrete alphas_cumprod", "VPSDE N=1000 float32", vp.alphas_cumprod, ab,
                           dtype="float32", bound_u=E, dps=ctx.dps,
                           how="cumprod of t+1 factors 1 - beta_i: sum of factor errors + t u"))
        with workdps(ctx.dps):
            cont = [mpmath.exp(2 * _c(mpmath.mpf(i) / (N - 1), b0, b1)) for i in range(N)]
            gap = max(abs(c - a) / a for c, a in zip(cont, ab))
        out.append(Result("RC-20", "continuous alpha_bar(t_i) vs discrete table", "VPSDE N=1000", float(gap), None,
                          None, None, WARN, f"documented O(1/N) difference between the continuous schedule "
                          f"e^(2c(t)) at t_i = i/(N-1) and the DDPM table: max relative gap {float(gap):.3g}"))
    # subVP: Euler-Maruyama discretization of its own sde
    sub = sde_lib.subVPSDE()
    f, G = sub.discretize(x, t)
    dF = lambda t, x: (-(b0 + t * (b1 - b0)) * x / 2 / N,) * 2
    gF = lambda t, e: (mpmath.sqrt((b0 + t * (b1 - b0)) * -mpmath.expm1(e * (-2 * b0 * t - (b1 - b0) * t * t))) / mpmath.sqrt(N),) * 2
    fr = [propagate(dF, {"t": tt, "x": xv}, {}, 8) for tt, xv in zip(ts, xs)]
    gr = [propagate(gF, {"t": tt, "e": mpmath.mpf(1)}, {"e": 5}, 6) if tt > 0 else (mpmath.mpf(0), 1.0) for tt in ts]
    where = "subVPSDE discretize (Euler-Maruyama, dt = 1/N), float32"
    out.append(compare("RC-20", "discretize f = drift dt", where, f, [v for v, _ in fr], dtype="float32",
                       bound_u=np.array([b for _, b in fr]), dps=ctx.dps, how="drift/N: 8u"))
    out.append(compare("RC-20", "discretize G = diffusion sqrt(dt)", where, G, [v for v, _ in gr], dtype="float32",
                       bound_u=np.array([b for _, b in gr]), dps=ctx.dps,
                       how="the exponent's 5u through -expm1 (cond ~1), + 6u; 1 - exp cancels beyond it at small t"))
    # VE discretize: G = sqrt(sigma_i^2 - sigma_{i-1}^2)
    ve = sde_lib.VESDE()
    f, G = ve.discretize(x, t)
    with workdps(ctx.dps):
        lo, hi = mpmath.log(mpf_exact("0.01")), mpmath.log(mpf_exact("50"))
        sig = lambda i: mpmath.exp(lo + (hi - lo) * i / (N - 1)) if i >= 0 else mpmath.mpf(0)
        Gf = lambda a, b: (mpmath.sqrt(a * a - b * b),) * 2
        gr = [propagate(Gf, {"a": sig(i), "b": sig(i - 1)},
                        {"a": 3 * float(abs(mpmath.log(sig(i)))) + 2,
                         "b": 3 * float(abs(mpmath.log(sig(i - 1)))) + 2 if i > 0 else 0}, 4) for i in idx]
    where = "VESDE discretize, float32"
    out.append(compare("RC-20", "discretize f = 0", where, f, [0] * len(xs), dtype="float32", bound_u=0.0, floor=1.0,
                       dps=ctx.dps, how="exactly 0"))
    out.append(compare("RC-20", "discretize G = sqrt(sigma_i^2 - sigma_{i-1}^2)", where, G, [v for v, _ in gr],
                       dtype="float32", bound_u=np.array([b for _, b in gr]), dps=ctx.dps,
                       how="sigma_i = exp(linspace) (3|ln sigma| + 2)u propagated through the difference of squares, + 4u"))
    # prior_logp
    z = torch.tensor(ctx.rng.standard_normal((3, 1, 2, 2)), dtype=torch.float32)
    zz = to_float64(z).reshape(3, -1)
    for cls, var in (("VPSDE", mpmath.mpf(1)), ("VESDE", mpf_exact("50") ** 2)):
        got = getattr(sde_lib, cls)().prior_logp(z)
        vals, bnd = [], []
        with workdps(ctx.dps):
            for row in zz:
                q = mpmath.fsum(_mp(v) ** 2 for v in row)
                a, b = -mpmath.mpf(len(row)) / 2 * mpmath.log(2 * mpmath.pi * var), -q / (2 * var)
                vals.append(a + b)
                bnd.append(float(10 * (abs(a) + abs(b)) / abs(a + b)))
        out.append(compare("RC-20", "prior_logp", f"{cls} D=4 float32", got, vals, dtype="float32",
                           bound_u=np.array(bnd), dps=ctx.dps,
                           how="-(D/2) log(2 pi var) - |z|^2/(2 var): 10u of the terms' magnitude"))
    ctx.progress("score_sde sde, discretize, prior")
    return out


def check(path, dps: int = 50, seed: int = 0, quiet: bool = True) -> Report:
    if path is None:
        raise InvalidParameter("PATH", None, "the root of a score_sde_pytorch checkout",
                               "usage: diffusion-proofs check score_sde PATH")
    ctx = RunContext(dps=dps, seed=seed, quiet=quiet)
    results: list[Result] = []
    with imported(path) as sde_lib:
        for part in (check_marginals, check_sde_and_discretize, check_likelihood):
            try:
                results += part(sde_lib, ctx)
            except InvalidParameter:
                raise
            except Exception as exc:
                results.append(error_result("-", part.__name__, "score_sde", exc))
    return Report("score_sde", "checkout", results, ctx.elapsed(),
                  loaded_from=str(pathlib.Path(str(path)).resolve()))
