"""The ``diffusers`` target: the installed package's schedulers against the exact mathematics.

Schedulers: DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler,
EDMEulerScheduler (reference_targets.md section 3).  This module holds the table and timestep
checks (RC-01 to RC-06, RC-10, RC-11, RC-14) and runs the rest: single steps and conversions
(``diffusers_steps.py``: RC-04, RC-07 to RC-09, RC-13, RC-16, RC-18) and the convergence order
on the exact Gaussian PF-ODE (``ode.py``: RC-17).

Every check is generic: it compares what a public method returns with the exact value of the
mathematical quantity it names, at the timestep it names, with a tolerance from the float32
error analysis of the quantity (``tolerances.py``, ``steps.propagate``).
"""

from __future__ import annotations

import numpy as np

from numerics.errors import InvalidParameter
from numerics.precision import mpf_exact, mpf_from_float, workdps
from proofs_check.interop import exact as ex
from proofs_check.interop.common import (PASS, Report, Result, RunContext, compare,
                                         compare_convention, error_result, prop, to_float64)
from proofs_check.interop.tables import check_tables, check_timesteps, exact_cached

U32 = 2.0 ** -24

#: (label, scheduler config, (exact schedule, T, beta_start, beta_end, zero_snr), classes)
SCHEDULES = [
    ("linear", {}, ("linear", 1000, "0.0001", "0.02", False), "all"),
    ("linear T=100 beta 0.0002..0.03", dict(num_train_timesteps=100, beta_start=0.0002, beta_end=0.03),
     ("linear", 100, "0.0002", "0.03", False), "all"),
    ("scaled_linear SD", dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
     ("scaled_linear", 1000, "0.00085", "0.012", False), "all"),
    ("cosine T=1000", dict(beta_schedule="squaredcos_cap_v2"), ("cosine", 1000, "0.0001", "0.02", False), "all"),
    ("cosine T=50", dict(beta_schedule="squaredcos_cap_v2", num_train_timesteps=50),
     ("cosine", 50, "0.0001", "0.02", False), "all"),
    ("sigmoid", dict(beta_schedule="sigmoid"), ("sigmoid", 1000, "0.0001", "0.02", False), "ddpm"),
    ("linear zero-SNR", dict(rescale_betas_zero_snr=True), ("linear", 1000, "0.0001", "0.02", True), "all"),
    ("scaled_linear SD zero-SNR", dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                       rescale_betas_zero_snr=True),
     ("scaled_linear", 1000, "0.00085", "0.012", True), "all"),
]
VP_CLASSES = ("DDPMScheduler", "DDIMScheduler", "EulerDiscreteScheduler", "DPMSolverMultistepScheduler")
#: Numbers of inference steps: divisors and non-divisors of T = 1000, with rounding ties
#: (trailing N = 16, 80: T/N has a .5; linspace N = 3, 1000/999 ...), N = 1 and N = T.
STEP_COUNTS = (1, 3, 7, 10, 16, 50, 80, 333, 999, 1000)


def import_diffusers():
    try:
        import torch  # noqa: F401  (availability check)
    except ImportError:
        raise InvalidParameter("TARGET", "diffusers", "torch installed (diffusers needs it)",
                               "pip install torch==2.13.0") from None
    try:
        import diffusers
    except ImportError:
        raise InvalidParameter("TARGET", "diffusers", "an installed diffusers package",
                               "pip install diffusers") from None
    return diffusers


def make(name: str, **config):
    import diffusers

    return getattr(diffusers, name)(**config)


def exact_for(spec, dps: int, float64_betas: bool = False):
    schedule, T, b0, b1, zsnr = spec
    return exact_cached(schedule, T, b0, b1, zero_snr=zsnr, dps=dps,
                        float64_betas=float64_betas or schedule == "cosine")


# ------------------------------------------------------------------ RC-01..05: tables
def check_schedule_tables(ctx: RunContext) -> list[Result]:
    out = []
    for label, config, spec, which in SCHEDULES:
        exs = exact_for(spec, ctx.dps)
        classes = ("DDPMScheduler",) if which == "ddpm" else VP_CLASSES
        for cls in classes:
            where = f"{cls} {label}"
            try:
                sch = make(cls, **config)
            except Exception as exc:
                out.append(error_result("RC-01", "construct", where, exc))
                continue
            arrays = {"alphas_cumprod": to_float64(sch.alphas_cumprod)}
            if cls == "DDPMScheduler":
                arrays["betas"] = to_float64(sch.betas)
            zsnr_final = spec[4] and cls in ("EulerDiscreteScheduler", "DPMSolverMultistepScheduler")
            if zsnr_final:  # section 8: alpha_bar_{T-1} := 2^-24 to keep sigma_max finite
                last = arrays["alphas_cumprod"][-1]
                arrays["alphas_cumprod"] = arrays["alphas_cumprod"].copy()
                arrays["alphas_cumprod"][-1] = 0.0 if last == 2.0 ** -24 else last
            out += check_tables(arrays, exs, dtype="float32", where=where)
            if spec[4]:
                out += _zero_snr_rows(sch, cls, where, exs, zsnr_final)
        ctx.progress(f"diffusers tables: {label}")
    return out


def _zero_snr_rows(sch, cls, where, exs, final_convention) -> list[Result]:
    ab = to_float64(sch.alphas_cumprod)
    rows = []
    if final_convention:
        rows += compare_convention(
            "RC-04", "alphas_cumprod[T-1]", where, ab[-1:], [0], [2.0 ** -24], dtype="float32",
            bound_u=0.0, floor=1.0, how="zero terminal SNR: alpha_bar'_{T-1} = 0 exactly",
            convention="alpha_bar_{T-1} := 2^-24 to keep sigma_max finite (section 8)")
    rows.append(compare("RC-04", "alphas_cumprod[0] = alpha_bar_0 of the unrescaled schedule", where,
                        ab[:1], exs.tabs["alphas_cumprod"][:1], dtype="float32",
                        bound_u=exs.E[0] + 8, how="the rescale keeps alpha_bar_0: E_0 + 8u (sqrt, affine map, square)"))
    if cls == "DDPMScheduler":
        b = to_float64(sch.betas)
        rows.append(compare("RC-04", "betas[T-1] = 1", where, b[-1:], [1], dtype="float32",
                            bound_u=4.0, how="beta'_{T-1} = 1 - 0/alpha_bar'_{T-2} = 1: 4u"))
    return rows


def check_posterior_variance(ctx: RunContext) -> list[Result]:
    """RC-05: DDPM _get_variance (fixed_small, fixed_large) at every t of every schedule."""
    out = []
    for label, config, spec, _ in SCHEDULES:
        exs = exact_for(spec, ctx.dps)
        sch = make("DDPMScheduler", **config)
        T = spec[1]
        where = f"DDPMScheduler {label}"
        try:
            small = np.array([float(sch._get_variance(t, variance_type="fixed_small")) for t in range(T)])
            large = np.array([float(sch._get_variance(t, variance_type="fixed_large")) for t in range(T)])
        except Exception as exc:
            out.append(error_result("RC-05", "_get_variance", where, exc))
            continue
        out += check_tables({"posterior_variance": small}, exs, dtype="float32",
                            where=where + " fixed_small")
        ab_prev = np.concatenate([[1.0], exs.ab[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            e_beta_eff = (exs.E + np.concatenate([[0.0], exs.E[:-1]]) + 1) * \
                np.where(1 - exs.ab / ab_prev > 0, (exs.ab / ab_prev) / (1 - exs.ab / ab_prev), 1e300) + 1
        out.append(_full_chain_coefficients(exs, config, where, ctx))
        out.append(compare("RC-05", "fixed_large variance = beta_t", where, large, exs.beta,
                           dtype="float32", bound_u=np.minimum(e_beta_eff, 1e300),
                           how="beta_eff = 1 - alpha_bar_t/alpha_bar_prev in float32: "
                               "(E_t + E_prev + 1) alpha/beta + u (cancellation); at t = 0 this is "
                               "beta_0 (iDDPM uses beta_tilde_1 there, section 8)"))
    ctx.progress("diffusers posterior variance")
    return out


def _full_chain_coefficients(exs, config, where, ctx) -> Result:
    """RC-06: the posterior mean coefficients DDPMScheduler.step applies at every t of the full
    chain (no set_timesteps: the previous step is t - 1), probed as an affine map."""
    import torch

    sch = make("DDPMScheduler", prediction_type="sample", clip_sample=False, **config)
    got, want, bounds, labels = [], [], [], []
    for t in range(exs.T):
        c1, c2, (x1, x2) = _ddpm_coeffs(sch, t, torch)
        e1, e2 = _coef_exact(exs, t, t - 1, ctx.dps)
        got += [c1, c2]
        want += [e1[0], e2[0]]
        bounds += [e1[1] + x1, e2[1] + x2]
        labels += [f"t={t} coef1 (of x0)", f"t={t} coef2 (of x_t)"]
    return compare("RC-06", "posterior mean coefficients of step, every t", where, got, want,
                   dtype="float32", bound_u=np.array(bounds), labels=labels, dps=ctx.dps,
                   how="coef1 = sqrt(ab_prev) beta/(1-ab), coef2 = sqrt(alpha)(1-ab_prev)/(1-ab) with "
                       "alpha_bar errors E_t, E_{t-1} propagated, + 6u")


# ------------------------------------------------------------------ RC-11 / RC-10: timesteps
def _float_rule(cls: str, spacing: str, T: int, N: int, offset: int):
    """The documented float64 numpy formula of a spacing rule (section 3.1), to tell a tie
    broken by float rounding (WARN) from a wrong rule (FAIL)."""
    if spacing == "leading":
        return None
    if spacing == "trailing":
        return list(np.round(np.arange(T, 0, -T / N)).astype(np.int64) - 1)
    if cls == "DPMSolverMultistepScheduler":
        return list(np.linspace(0, T - 1, N + 1).round()[::-1][:-1].astype(np.int64))
    return list(np.linspace(0, T - 1, N).round()[::-1].astype(np.int64))


def check_timestep_tables(ctx: RunContext) -> list[Result]:
    out = []
    T = 1000
    for cls in ("DDPMScheduler", "DDIMScheduler", "EulerDiscreteScheduler", "DPMSolverMultistepScheduler"):
        for spacing in ("leading", "trailing", "linspace"):
            for offset in ((0, 1) if spacing == "leading" else (0,)):
                for N in STEP_COUNTS:
                    if cls == "DPMSolverMultistepScheduler" and spacing == "leading" and N + 1 > T:
                        continue
                    where = f"{cls} {spacing} offset={offset} N={N}"
                    sch = make(cls, timestep_spacing=spacing, steps_offset=offset)
                    try:
                        sch.set_timesteps(N)
                    except Exception as exc:
                        out.append(error_result("RC-11", "set_timesteps", where, exc))
                        continue
                    got = to_float64(sch.timesteps)
                    rule = spacing
                    if cls == "DPMSolverMultistepScheduler" and spacing != "trailing":
                        rule = "dpmsolver_" + spacing
                    if cls == "EulerDiscreteScheduler" and spacing == "linspace":
                        out.append(_euler_linspace(got, T, N, where))
                        continue
                    res = check_timesteps(got, rule, T, N, offset if "leading" in rule else 0, where,
                                          float_formula=_float_rule(cls, spacing, T, N, offset))
                    out.append(res)
    ctx.progress("diffusers timestep tables")
    return _collapse(out)


def _euler_linspace(got, T, N, where) -> Result:
    """Euler keeps linspace(0, T-1, N) as float32 values: exact rationals k(T-1)/(N-1)."""
    from fractions import Fraction

    want = [Fraction(T - 1) * k / (N - 1) if N > 1 else Fraction(0) for k in range(N - 1, -1, -1)]
    with_mp = [mpf_exact(w) for w in want]
    return compare("RC-11", "timesteps (float)", where, got, with_mp, dtype="float32", bound_u=3.0,
                   floor=1.0, how="np.linspace in float32: start + k*step, 3u")


def _collapse(rows: list[Result]) -> list[Result]:
    """Many identical PASS rows of one quantity become one row naming how many cases passed."""
    passed = [r for r in rows if r.status == PASS]
    others = [r for r in rows if r.status != PASS]
    groups: dict = {}
    for r in passed:
        groups.setdefault((r.check, r.quantity, r.where.split(" ")[0]), []).append(r)
    out = []
    for (check, quantity, cls), rs in groups.items():
        worst = max(rs, key=lambda r: r.max_rel_err or 0)
        out.append(Result(check, quantity, f"{cls} ({len(rs)} spacing x offset x N cases)",
                          worst.max_rel_err, worst.max_ulps, worst.where, worst.tolerance, PASS,
                          worst.explanation.split(":")[0] + ": every case equals the exact rule"))
    return out + others


def check_previous_timestep(ctx: RunContext) -> list[Result]:
    """RC-10: the alpha_bar a step moves to is the alpha_bar of the next timestep it names."""
    import torch

    out = []
    spec = SCHEDULES[0][2]
    exs = exact_for(spec, ctx.dps)
    cases = [("leading", 0, 50), ("leading", 1, 50), ("leading", 0, 7), ("trailing", 0, 7),
             ("trailing", 0, 50), ("linspace", 0, 333), ("linspace", 0, 50), ("leading", 0, 1),
             ("trailing", 0, 1000)]
    for spacing, offset, N in cases:
        # DDPM: x0-hat coefficient of the step, probed as an affine map (prediction 'sample')
        where = f"DDPMScheduler {spacing} offset={offset} N={N}"
        sch = make("DDPMScheduler", prediction_type="sample", clip_sample=False,
                   timestep_spacing=spacing, steps_offset=offset)
        sch.set_timesteps(N)
        ts = [int(t) for t in sch.timesteps]
        ks = range(len(ts)) if len(ts) <= 60 else list(range(0, len(ts), 37)) + [len(ts) - 1]
        got, want, bounds, labels = [], [], [], []
        for k in ks:
            t, prev = ts[k], (ts[k + 1] if k + 1 < len(ts) else -1)
            c1, c2, (x1, x2) = _ddpm_coeffs(sch, t, torch)
            e_c1, e_c2 = _coef_exact(exs, t, prev, ctx.dps)
            got += [c1, c2]
            want += [e_c1[0], e_c2[0]]
            bounds += [e_c1[1] + x1, e_c2[1] + x2]
            labels += [f"k={k} t={t}->prev {prev} coef1", f"k={k} t={t}->prev {prev} coef2"]
        out.append(compare("RC-10", "posterior mean coefficients of step", where, got, want,
                           dtype="float32", bound_u=np.array(bounds), labels=labels, dps=ctx.dps,
                           how="coef(alpha_bar_t, alpha_bar[next timestep]) with alpha_bar errors "
                               "E_t, E_prev propagated, + 6u for the coefficient"))
        # DDIM: eta = 0 step of a clean state lands on sqrt(alpha_bar_prev)
        out += _ddim_prev(exs, spacing, offset, N, ctx)
    ctx.progress("diffusers previous-timestep consistency")
    return out


def _ddpm_coeffs(sch, t, torch, M: float = 2.0 ** 20):
    """(coef of x0-hat, coef of x_t, extra bound in u) of DDPMScheduler.step at t: the step is
    affine in (x0-hat, x_t) plus noise; the same generator seed makes the noise cancel."""
    z = torch.zeros(1, 4)
    one = torch.full((1, 4), M)
    g = lambda: torch.Generator().manual_seed(1234)
    p0 = to_float64(sch.step(z, t, z, generator=g()).prev_sample)
    p1 = to_float64(sch.step(one, t, z, generator=g()).prev_sample)
    p2 = to_float64(sch.step(z, t, one, generator=g()).prev_sample)
    c1, c2 = float((p1 - p0)[0] / M), float((p2 - p0)[0] / M)
    noise = float(np.max(np.abs(p0)))
    # fl(c M + n) - n has absolute error u(|c M| + |n|): relative u(1 + |n|/(M|c|))
    return c1, c2, (2 + 2 * noise / (M * max(abs(c1), 1e-30)), 2 + 2 * noise / (M * max(abs(c2), 1e-30)))


def _coef_exact(exs, t, prev, dps):
    from proofs_check.interop.steps import propagate
    import mpmath

    ab, ap = exs.alpha_bar(t), exs.alpha_bar(prev)
    errs = {"ab": exs.err(t), "ap": exs.err(prev)}

    def c1(ab, ap):
        v = mpmath.sqrt(ap) * (1 - ab / ap) / (1 - ab)
        return v, v

    def c2(ab, ap):
        v = mpmath.sqrt(ab / ap) * (1 - ap) / (1 - ab)
        return v, v

    return propagate(c1, {"ab": ab, "ap": ap}, errs, 6), propagate(c2, {"ab": ab, "ap": ap}, errs, 6)


def _ddim_prev(exs, spacing, offset, N, ctx) -> list[Result]:
    import torch
    import mpmath
    from proofs_check.interop.steps import propagate

    where = f"DDIMScheduler {spacing} offset={offset} N={N}"
    sch = make("DDIMScheduler", prediction_type="sample", clip_sample=False,
               timestep_spacing=spacing, steps_offset=offset)
    sch.set_timesteps(N)
    ts = [int(t) for t in sch.timesteps]
    final = 1  # set_alpha_to_one=True (the default)
    got, want, faithful, bounds, labels = [], [], [], [], []
    ks = range(len(ts)) if len(ts) <= 60 else list(range(0, len(ts), 37)) + [len(ts) - 1]
    for k in ks:
        t = ts[k]
        nxt = ts[k + 1] if k + 1 < len(ts) else -1
        # model says x0 = 1 and the state is sqrt(alpha_bar_t) * 1: eps-hat ~ 0, so the step
        # returns sqrt(alpha_bar_prev): it identifies the alpha_bar the step moves to
        a_t = torch.tensor(float(sch.alphas_cumprod[t]) ** 0.5, dtype=torch.float32)
        x = torch.full((1, 4), float(a_t))
        y = to_float64(sch.step(torch.ones(1, 4), t, x, eta=0.0).prev_sample)[0]
        conv_prev = t - 1000 // N
        ab_next = exs.alpha_bar(nxt) if nxt >= 0 else final
        ab_conv = exs.alpha_bar(conv_prev) if conv_prev >= 0 else final

        def F(ab, ap, x):
            s = mpmath.sqrt(1 - ab)
            eps = (x - mpmath.sqrt(ab)) / s if s > 0 else 0
            v = mpmath.sqrt(ap) + mpmath.sqrt(1 - ap) * eps
            return v, abs(v) + abs(mpmath.sqrt(1 - ap) * eps)

        xin = mpf_from_float(float(x[0, 0]))
        ab = exs.alpha_bar(t)
        v, b = propagate(F, {"ab": ab, "ap": ab_next, "x": xin},
                         {"ab": exs.err(t), "ap": exs.err(nxt)}, 8)
        vc, _ = propagate(F, {"ab": ab, "ap": ab_conv, "x": xin}, {}, 0)
        got.append(y)
        want.append(v)
        faithful.append(vc)
        bounds.append(b + 4)
        labels.append(f"k={k} t={t} -> next {nxt} (t - T//N = {conv_prev})")
    return compare_convention(
        "RC-10", "DDIM step lands on alpha_bar of the next timestep", where, got, want, faithful,
        dtype="float32", bound_u=np.array(bounds), labels=labels, dps=ctx.dps,
        how="sqrt(alpha_bar_prev) + sqrt(1-alpha_bar_prev) eps-hat with alpha_bar errors propagated, + 4u",
        convention="DDIM moves to alpha_bar[t - T//N] (section 8), which is not the next timestep "
                   "when N does not divide T or spacing is not leading")


# ------------------------------------------------------------------ RC-14: Karras sigmas
def check_karras(ctx: RunContext) -> list[Result]:
    out = []
    spec = SCHEDULES[2][2]  # scaled_linear SD
    exs = exact_for(spec, ctx.dps)
    config = SCHEDULES[2][1]
    T = spec[1]
    s_lo_exact, s_hi_exact = exs.tabs["sigmas"][0], exs.tabs["sigmas"][T - 1]
    for cls in ("EulerDiscreteScheduler", "DPMSolverMultistepScheduler"):
        for N in (10, 25):
            where = f"{cls} use_karras_sigmas scaled_linear SD N={N}"
            sch = make(cls, use_karras_sigmas=True, **config)
            sch.set_timesteps(N)
            sig = to_float64(sch.sigmas)
            ac = to_float64(sch.alphas_cumprod)
            # section 8: endpoints from the float32 alpha_bar table, computed there in float32
            import mpmath
            with workdps(ctx.dps + 10):
                lo32 = mpmath.sqrt((1 - mpf_from_float(ac[0])) / mpf_from_float(ac[0]))
                hi32 = mpmath.sqrt((1 - mpf_from_float(ac[-1])) / mpf_from_float(ac[-1]))
            exact = ex.karras_sigmas(N, s_lo_exact, s_hi_exact, dps=ctx.dps)
            faithful = ex.karras_sigmas(N, lo32, hi32, dps=ctx.dps)
            # sigma_k^(1/7) is an affine combination of the endpoints' 7th roots: relative errors
            # e of the endpoints pass through with factor <= 1; 4 roundings in the base and a
            # 7th power (x 7) give 7*4u; endpoints: sigma from float32 alpha_bar (E/(2(1-ab)) + 3)
            e_end = max(exs.bounds["sigmas"][0][0], exs.bounds["sigmas"][0][T - 1])
            bound = 7 * 4 + e_end + 4
            out += compare_convention(
                "RC-14", "karras sigmas", where, sig[:-1], exact, faithful, dtype="float32",
                bound_u=bound, dps=ctx.dps,
                how=f"7 x 4u for the power-rho ramp + endpoint error {e_end:.3g}u + 4u",
                convention="endpoints sigma_0, sigma_{T-1} taken from the float32 alpha_bar table")
            out.append(prop("RC-14", "final sigma", where, sig[-1] == 0.0,
                            f"final_sigmas_type='zero' appends 0: got {sig[-1]}"))
    # EDMEulerScheduler: its own sigma_min/max (0.002, 80) and rho = 7
    for N in (10, 40):
        where = f"EDMEulerScheduler karras N={N}"
        sch = make("EDMEulerScheduler")
        sch.set_timesteps(N)
        sig = to_float64(sch.sigmas)
        exact = ex.karras_sigmas(N, "0.002", "80", dps=ctx.dps)
        out.append(compare("RC-14", "karras sigmas", where, sig[:-1], exact, dtype="float32",
                           bound_u=7 * 4 + 4, dps=ctx.dps,
                           how="ramp in float64, power rho = 7 amplifies 4 base roundings, cast: 32u"))
        out.append(prop("RC-14", "final sigma", where, sig[-1] == 0.0, f"appends 0: got {sig[-1]}"))
    ctx.progress("diffusers karras sigmas")
    return out


def check(dps: int = 50, seed: int = 0, quiet: bool = True) -> Report:
    diffusers = import_diffusers()
    import torch

    from proofs_check.interop import diffusers_steps, ode

    ctx = RunContext(dps=dps, seed=seed, quiet=quiet)
    torch.manual_seed(seed)
    results: list[Result] = []
    for part in (check_schedule_tables, check_posterior_variance, check_timestep_tables,
                 check_previous_timestep, check_karras, *diffusers_steps.PARTS, ode.check_diffusers):
        try:
            results += part(ctx)
        except InvalidParameter:
            raise
        except Exception as exc:  # a check that crashed on this version: say so, go on
            results.append(error_result("-", part.__name__, "diffusers", exc))
    return Report("diffusers", f"diffusers {diffusers.__version__}, torch {torch.__version__}",
                  results, ctx.elapsed(), loaded_from=str(getattr(diffusers, "__file__", "")))
