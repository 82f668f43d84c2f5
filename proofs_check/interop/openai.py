"""The ``openai PATH`` target: a user's improved-diffusion or guided-diffusion checkout.

The checkout root goes on ``sys.path`` for the duration of the import; ``improved_diffusion``
(or ``guided_diffusion``) ``.gaussian_diffusion``, ``.losses`` and ``.respace`` are imported (they
need numpy and torch) and removed from ``sys.modules`` afterwards, so two checkouts can be checked
in one process.  Nothing of OpenAI's code is vendored: this module only calls the public names
listed in reference_targets.md section 4.

Checks: RC-01 (``get_named_beta_schedule`` linear with its 1000/T scale, cosine), RC-05 / RC-06
(every ``GaussianDiffusion`` table; t = 0 conventions of section 8), RC-06 on respaced chains
(``SpacedDiffusion``), RC-07 (``q_sample``), RC-11 (``space_timesteps`` "N", "N,M", "ddimN"), RC-21
(``normal_kl``: random and nearly equal pairs), RC-22 (``discretized_gaussian_log_likelihood``
against Phi and against the documented tanh approximation; ``approx_standard_normal_cdf``), and in
:mod:`proofs_check.interop.openai_sampling` RC-06 ``p_mean_variance``, RC-09 ``p_sample`` /
``ddim_sample`` / ``ddim_reverse_sample`` and RC-23 ``_prior_bpd`` / ``_vb_terms_bpd`` /
``calc_bpd_loop``.
The tables are float64 (judged in float64 ulps); ``q_sample`` casts them to float32.
"""

from __future__ import annotations

import contextlib
import importlib
import pathlib
import sys

import mpmath
import numpy as np

from numerics.errors import InvalidParameter
from numerics.precision import mpf_from_float, workdps
from proofs_check.interop import exact as ex
from proofs_check.interop import openai_sampling as sampling
from proofs_check.interop.common import (Report, Result, RunContext, compare, compare_convention,
                                         error_result, exact_list, to_float64)
from proofs_check.interop.tables import ExactSchedule, check_tables

PACKAGES = ("improved_diffusion", "guided_diffusion")
TABLES = ("betas", "alphas_cumprod", "alphas_cumprod_prev", "alphas_cumprod_next", "sqrt_alphas_cumprod",
          "sqrt_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
          "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1",
          "posterior_mean_coef2")


@contextlib.contextmanager
def imported(path):
    """Import the checkout's modules with its root first on sys.path; undo everything after."""
    root = pathlib.Path(str(path))
    if not root.is_dir():
        raise InvalidParameter("PATH", str(path), "the root directory of an improved-diffusion or "
                               "guided-diffusion checkout")
    pkg = next((p for p in PACKAGES if (root / p / "gaussian_diffusion.py").is_file()), None)
    if pkg is None:
        raise InvalidParameter("PATH", str(path), "a checkout root containing improved_diffusion/ or "
                               "guided_diffusion/ with gaussian_diffusion.py")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise InvalidParameter("TARGET", "openai", "torch installed (the checkout imports it)",
                               "pip install torch==2.13.0") from None
    saved = {k: v for k, v in sys.modules.items() if k == pkg or k.startswith(pkg + ".")}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(root))
    try:
        mods = {}
        for name in ("gaussian_diffusion", "losses", "respace"):
            try:
                mods[name] = importlib.import_module(f"{pkg}.{name}")
            except ImportError as exc:
                raise InvalidParameter("PATH", str(path), f"an importable {pkg}.{name}", str(exc)) from None
        yield pkg, mods
    finally:
        sys.path.remove(str(root))
        for k in [k for k in sys.modules if k == pkg or k.startswith(pkg + ".")]:
            del sys.modules[k]
        sys.modules.update(saved)


def _diffusion(gd, betas, spaced=None, respace=None):
    kw = dict(betas=betas, model_mean_type=gd.ModelMeanType.EPSILON,
              model_var_type=gd.ModelVarType.FIXED_SMALL, loss_type=gd.LossType.MSE)
    if spaced is not None:
        return respace.SpacedDiffusion(use_timesteps=spaced, **kw)
    return gd.GaussianDiffusion(**kw)


def check_tables_all(gd, ctx: RunContext, pkg: str) -> list[Result]:
    out = []
    for name, T in (("linear", 1000), ("linear", 100), ("linear", 4000), ("cosine", 1000), ("cosine", 50)):
        where = f"{pkg} {name} T={T}"
        try:
            betas = gd.get_named_beta_schedule(name, T)
            diff = _diffusion(gd, betas)
        except Exception as exc:
            out.append(error_result("RC-01", "schedule", where, exc))
            continue
        sched = "openai_linear" if name == "linear" else "cosine"
        exs = ExactSchedule(sched, T, dps=ctx.dps)
        arrays = {k: getattr(diff, k) for k in TABLES if hasattr(diff, k)}
        out += check_tables(arrays, exs, dtype="float64", where=where)
        ctx.progress(f"openai tables {where}")
    return out


def check_respaced(gd, respace, ctx: RunContext, pkg: str) -> list[Result]:
    out = []
    T = 1000
    base = ExactSchedule("openai_linear", T, dps=ctx.dps)
    for spec in ("10", "50", "ddim50", "ddim25", "10,15,20", "250"):
        where = f"{pkg} space_timesteps({T}, {spec!r})"
        try:
            kept = sorted(int(t) for t in respace.space_timesteps(T, spec))
        except Exception as exc:
            out.append(error_result("RC-11", "space_timesteps", where, exc))
            continue
        want = ex.ns.openai_respacing(T, spec)
        out.append(exact_list("RC-11", "kept timesteps", where, kept, want,
                              "exact rule: sections of equal size, stride (S-1)/(n-1) rounded half to even; "
                              "ddimN the smallest stride giving N steps"))
        if spec not in ("ddim50", "10"):
            continue
        spaced = _diffusion(gd, gd.get_named_beta_schedule("linear", T), spaced=want, respace=respace)
        # the respaced chain: beta'_k = 1 - alpha_bar[t_k]/alpha_bar[t_{k-1}], from the exact table
        ab = [base.alpha_bar(t) for t in want]
        with workdps(ctx.dps + 10):
            beta_k = [1 - ab[0]] + [1 - ab[k] / ab[k - 1] for k in range(1, len(ab))]
        E = base.E[want]
        E_prev = np.concatenate([[0.0], E[:-1]])
        a = np.array([float(1 - b) for b in beta_k])
        e_beta = (E + E_prev + 1) * a / np.maximum(1 - a, 1e-300) + 1
        exs = ExactSchedule.from_betas(beta_k, e_beta, ctx.dps)
        arrays = {k: getattr(spaced, k) for k in ("alphas_cumprod", "posterior_variance",
                                                  "posterior_mean_coef1", "posterior_mean_coef2")}
        out += check_tables(arrays, exs, dtype="float64", where=f"{pkg} SpacedDiffusion({spec!r})")
    ctx.progress("openai respacing")
    return out


def check_q_sample(gd, ctx: RunContext, pkg: str) -> list[Result]:
    import torch

    T = 1000
    exs = ExactSchedule("openai_linear", T, dps=ctx.dps)
    diff = _diffusion(gd, gd.get_named_beta_schedule("linear", T))
    ts = [0, 1, 10, 500, 998, 999]
    x0 = torch.tensor(ctx.rng.standard_normal((len(ts), 4)), dtype=torch.float32)
    eps = torch.tensor(ctx.rng.standard_normal((len(ts), 4)), dtype=torch.float32)
    got = diff.q_sample(x0, torch.tensor(ts), noise=eps)
    vals, bounds = [], []
    for i, t in enumerate(ts):
        for j in range(4):
            a, s = mpmath.sqrt(exs.alpha_bar(t)), mpmath.sqrt(1 - exs.alpha_bar(t))
            x, e = mpf_from_float(float(x0[i, j])), mpf_from_float(float(eps[i, j]))
            vals.append(a * x + s * e)
            bounds.append(float(4 * (abs(a * x) + abs(s * e)) / abs(a * x + s * e)))
    return [compare("RC-07", "q_sample = sqrt(ab) x0 + sqrt(1-ab) eps", f"{pkg} linear T=1000, float32",
                    got, vals, dtype="float32", bound_u=np.array(bounds), dps=ctx.dps,
                    how="float64 tables cast to float32 (1u each), a product and a sum: 4u of the terms")]


def check_losses(losses, ctx: RunContext, pkg: str) -> list[Result]:
    import torch

    out = []
    rng = ctx.rng
    # RC-21 normal_kl(mean1, logvar1, mean2, logvar2): random pairs and nearly equal pairs
    n = 48
    m1, m2 = rng.standard_normal(n) * 3, rng.standard_normal(n) * 3
    lv1, lv2 = rng.uniform(-12, 3, n), rng.uniform(-12, 3, n)
    deltas = 10.0 ** -np.arange(1, 13)
    lvb = rng.uniform(-8, 1, len(deltas))
    sets = (("random pairs", m1, lv1, m2, lv2),
            ("nearly equal, Delta = logvar1 - logvar2 in 1e-1..1e-12, exact 1/2(e^Delta - 1 - Delta)",
             np.zeros(len(deltas)), lvb + deltas, np.zeros(len(deltas)), lvb))
    for label, a, b, c, d in sets:
        T = [torch.tensor(v, dtype=torch.float64) for v in (a, b, c, d)]
        got = losses.normal_kl(*T)
        vals, bounds = [], []
        with workdps(ctx.dps):
            for w, x, y, z in zip(*(to_float64(t) for t in T)):
                W, X, Y, Z = (mpf_from_float(float(v)) for v in (w, x, y, z))
                kl = (Z - X + mpmath.exp(X - Z) + (W - Y) ** 2 * mpmath.exp(-Z) - 1) / 2
                # condition number in (mean1, logvar1, mean2, logvar2): sum |x dKL/dx| / |KL|
                r = mpmath.exp(X - Z)
                q = (W - Y) ** 2 * mpmath.exp(-Z)
                cond = (abs(r - 1) * abs(X) + abs(1 - r - q) * abs(Z)) / 2 + abs(W - Y) * (abs(W) + abs(Y)) * mpmath.exp(-Z)
                vals.append(kl)
                bounds.append(float(cond / kl) + 10 if kl != 0 else 1e300)
        out.append(compare("RC-21", "normal_kl (log-variance form)", f"{pkg} {label}, float64", got, vals,
                           dtype="float64", bound_u=np.array(bounds), dps=ctx.dps,
                           how="(kappa + 10)u, kappa = condition number of KL in (mean, logvar) inputs; "
                               "-1 - Delta + e^Delta cancels beyond it when Delta is small"))
    # RC-22 approx_standard_normal_cdf vs Phi
    from proofs_check.interop.steps import propagate

    x = np.linspace(-6, 6, 49)
    got = losses.approx_standard_normal_cdf(torch.tensor(x, dtype=torch.float64))

    def phi_tanh(x, c):  # c = sqrt(2/pi) stands for the argument's 4 roundings (relative error 4u)
        th_ = mpmath.tanh(c * (x + mpmath.mpf("0.044715") * x ** 3))
        return (1 + th_) / 2, (1 + abs(th_)) / 2

    phi, tanh_, bounds = [], [], []
    with workdps(ctx.dps):
        c = mpmath.sqrt(2 / mpmath.pi)
        for v in x:
            X = mpf_from_float(float(v))
            phi.append(mpmath.ncdf(X))
            val, b = propagate(phi_tanh, {"x": X, "c": c}, {"c": 4}, 4)
            tanh_.append(val)
            bounds.append(b)
    out += compare_convention("RC-22", "approx_standard_normal_cdf", f"{pkg} x in [-6, 6], float64", got, phi,
                              tanh_, dtype="float64", bound_u=np.array(bounds), dps=ctx.dps,
                              how="(1 + tanh(y))/2 at float64: the argument's 4u through tanh, "
                                  "cancellation of 1 + tanh for y < 0, + 4u",
                              convention="the tanh (GELU) approximation of Phi, documented by iDDPM")
    out += _discretized(losses, ctx, pkg)
    return out


def _discretized(losses, ctx, pkg) -> list[Result]:
    import torch

    # the t = 0 decoder scale: log sigma = 1/2 log beta_tilde_1 of the linear T = 1000 chain
    exs = ExactSchedule("openai_linear", 1000, dps=ctx.dps)
    ls = float(mpmath.log(exs.tabs["posterior_variance"][1]) / 2)
    xs = np.array([-1.0, -1.0 + 2 / 255, -0.5, 0.0, 0.5, 1.0 - 2 / 255, 1.0])
    means = xs + ctx.rng.uniform(-0.01, 0.01, len(xs))
    got = losses.discretized_gaussian_log_likelihood(torch.tensor(xs), means=torch.tensor(means),
                                                     log_scales=torch.full((len(xs),), ls, dtype=torch.float64))
    exact, faithful, bounds = [], [], []
    with workdps(ctx.dps):
        inv = mpmath.exp(-mpf_from_float(ls))
        h = mpmath.mpf(1) / 255
        phi_t = lambda z: (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (z + mpmath.mpf("0.044715") * z ** 3))) / 2
        for x, m in zip(xs, means):
            X, M = mpf_from_float(float(x)), mpf_from_float(float(m))
            zp, zm = inv * (X - M + h), inv * (X - M - h)
            for cdf, dest in ((mpmath.ncdf, exact), (phi_t, faithful)):
                if x < -0.999:
                    p = cdf(zp)
                elif x > 0.999:
                    p = 1 - cdf(zm)
                else:
                    p = cdf(zp) - cdf(zm)
                dest.append(mpmath.log(max(p, mpmath.mpf("1e-12"))))
            pp = phi_t(zp) - phi_t(zm)
            bounds.append(float((phi_t(zp) + phi_t(zm)) / abs(pp) * 6 + 4) if x > -0.999 and x < 0.999 else 12.0)
    return compare_convention(
        "RC-22", "discretized_gaussian_log_likelihood", f"{pkg} bins at x = +-1 and inside, log sigma = "
        "1/2 log beta_tilde_1", got, exact, faithful, dtype="float64", bound_u=np.array(bounds), floor=1.0,
        dps=ctx.dps, how="difference of two cdf values (cond (F+ + F-)/(F+ - F-)) x 6u, then a log",
        convention="Phi replaced by its tanh approximation (iDDPM's approx_standard_normal_cdf)")


def check(path, dps: int = 50, seed: int = 0, quiet: bool = True) -> Report:
    if path is None:
        raise InvalidParameter("PATH", None, "the root of an improved-diffusion or guided-diffusion checkout",
                               "usage: diffusion-proofs check openai PATH")
    ctx = RunContext(dps=dps, seed=seed, quiet=quiet)
    results: list[Result] = []
    with imported(path) as (pkg, mods):
        parts = (lambda: check_tables_all(mods["gaussian_diffusion"], ctx, pkg),
                 lambda: check_respaced(mods["gaussian_diffusion"], mods["respace"], ctx, pkg),
                 lambda: check_q_sample(mods["gaussian_diffusion"], ctx, pkg),
                 lambda: check_losses(mods["losses"], ctx, pkg),
                 lambda: sampling.check_p_mean_variance(mods["gaussian_diffusion"], ctx, pkg),
                 lambda: sampling.check_samplers(mods["gaussian_diffusion"], ctx, pkg),
                 lambda: sampling.check_bpd(mods["gaussian_diffusion"], ctx, pkg))
        for part in parts:
            try:
                results += part()
            except InvalidParameter:
                raise
            except Exception as exc:
                results.append(error_result("-", "check", pkg, exc))
    return Report("openai", f"{pkg} checkout", results, ctx.elapsed(), loaded_from=str(pathlib.Path(str(path)).resolve()))
