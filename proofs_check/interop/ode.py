"""RC-17: convergence order of ODE samplers on the exact probability-flow ODE of Gaussian data.

Data x0 ~ N(mu, s^2) in VE coordinates have the exact denoiser D(x, sigma) = (s^2 x + sigma^2
mu)/(s^2 + sigma^2) and the exact PF-ODE flow x(sigma) = mu + (x(sigma_max) - mu)
sqrt(s^2 + sigma^2)/sqrt(s^2 + sigma_max^2).  A sampler is driven by the exact denoiser on Karras
grids of increasing N from sigma_max down to sigma_min (the final step to sigma = 0, which every
sampler replaces by "return D", is excluded: it is checked as a single step elsewhere), and its
error against the exact flow at sigma_min is fitted to C N^-p.  PASS when the fitted p is within
ORDER_TOL of the method's nominal order (1 for Euler, 2 for Heun and DPM-Solver++(2M)).
"""

from __future__ import annotations

import mpmath
import numpy as np

from proofs_check.interop.common import FAIL, PASS, Result, RunContext, to_float64

#: Data distribution and noise range (Stable Diffusion's VE range).
MU, S2 = 0.5, 0.25
SIGMA_MIN, SIGMA_MAX = 0.0292, 14.6
#: Step counts: the errors at the largest N stay > 100x the float32 rounding floor.
NS = (8, 16, 32, 64)
#: Allowed distance of the fitted slope from the nominal order.  Reason: on these N the
#: leading error term dominates the next one (relative size O(1/N) <= 1/8); a log-log fit over
#: three doublings then moves by at most ~0.2; 0.3 leaves a margin yet rejects a wrong order
#: (a first-order method claimed as second order is off by 1).
ORDER_TOL = 0.3


def denoiser(x, sigma):
    """Exact D(x, sigma) for N(MU, S2) data (float64 numpy or torch)."""
    return (S2 * x + sigma ** 2 * MU) / (S2 + sigma ** 2)


def exact_flow(x_start: np.ndarray, s_start: float, s_end: float, dps: int) -> list:
    """Exact flow values at s_end from float starts, at dps digits."""
    from numerics.precision import mpf_from_float, workdps

    with workdps(dps):
        mu, s2 = mpmath.mpf(MU), mpmath.mpf(S2)
        a, b = mpf_from_float(float(s_start)), mpf_from_float(float(s_end))
        ratio = mpmath.sqrt(s2 + b * b) / mpmath.sqrt(s2 + a * a)
        return [mu + (mpf_from_float(float(x)) - mu) * ratio for x in x_start]


def start_points(ctx: RunContext, n: int = 16) -> np.ndarray:
    return MU + np.sqrt(S2 + SIGMA_MAX ** 2) * ctx.rng.standard_normal(n)


def order_result(check: str, method: str, where: str, Ns, errors, nominal: float, floor: float) -> Result:
    Ns, errors = np.asarray(Ns, dtype=float), np.asarray(errors, dtype=float)
    usable = errors > 100 * floor
    if usable.sum() < 2:
        return Result(check, f"convergence order of {method}", where, None, None, None, ORDER_TOL,
                      FAIL, f"errors {errors.tolist()} at N={Ns.tolist()} reach the rounding floor "
                            f"{floor:.2g}: no order can be measured")
    slope = -np.polyfit(np.log(Ns[usable]), np.log(errors[usable]), 1)[0]
    ok = abs(slope - nominal) <= ORDER_TOL
    text = (f"fitted order {slope:.3f}, nominal {nominal:g} (|diff| <= {ORDER_TOL}: leading term "
            f"dominates at N >= {int(Ns[usable][0])}); errors {', '.join(f'{e:.2e}' for e in errors)} "
            f"at N = {', '.join(str(int(n)) for n in Ns)}")
    if not ok:
        text = f"measured order {slope:.3f} departs from the nominal {nominal:g}; " + text
    return Result(check, f"convergence order of {method}", where, float(errors[usable][-1]), None,
                  f"N={int(Ns[usable][-1])}", ORDER_TOL, PASS if ok else FAIL, text)


def _rel_err(got, want) -> float:
    w = np.array([float(v) for v in want])
    return float(np.max(np.abs(to_float64(got) - w)) / np.max(np.abs(w - MU) + np.sqrt(S2)))


# ------------------------------------------------------------------ diffusers drivers
def _diffusers_euler(x_ve: np.ndarray, N: int):
    import torch

    from proofs_check.interop.diffusers import SCHEDULES, make

    sch = make("EulerDiscreteScheduler", use_karras_sigmas=True, prediction_type="sample", **SCHEDULES[2][1])
    sch.set_timesteps(N)
    sig = sch.sigmas
    x = torch.tensor(x_ve * float(sig[0]) / SIGMA_MAX, dtype=torch.float32)
    x_start = to_float64(x)
    for k in range(N - 1):
        sch.scale_model_input(x, sch.timesteps[k])
        d = denoiser(x.double(), float(sig[k])).float()
        x = sch.step(d, sch.timesteps[k], x).prev_sample
    return x_start, float(sig[0]), float(sig[N - 1]), to_float64(x)


def _diffusers_dpm(x_ve: np.ndarray, N: int, solver_type: str = "midpoint"):
    import torch

    from proofs_check.interop.diffusers import SCHEDULES, make

    sch = make("DPMSolverMultistepScheduler", use_karras_sigmas=True, prediction_type="sample",
               algorithm_type="dpmsolver++", solver_order=2, solver_type=solver_type, **SCHEDULES[2][1])
    sch.set_timesteps(N)
    sig = sch.sigmas
    alpha = lambda s: 1.0 / np.sqrt(1.0 + s * s)
    s0 = float(sig[0])
    x = torch.tensor(x_ve * s0 / SIGMA_MAX * alpha(s0), dtype=torch.float32)  # VP state
    x_start = to_float64(x) / alpha(s0)
    for k in range(N - 1):
        s = float(sig[k])
        d = denoiser(x.double() / alpha(s), s).float()
        x = sch.step(d, sch.timesteps[k], x).prev_sample
    s_end = float(sig[N - 1])
    return x_start, s0, s_end, to_float64(x) / alpha(s_end)


def check_diffusers(ctx: RunContext) -> list[Result]:
    x_ve = start_points(ctx)
    out = []
    for method, runner, p in (("Euler", _diffusers_euler, 1),
                              ("DPM-Solver++(2M) midpoint", _diffusers_dpm, 2),
                              ("DPM-Solver++(2M) heun", lambda x, N: _diffusers_dpm(x, N, "heun"), 2)):
        errs = []
        for N in NS:
            x0, s0, s1, got = runner(x_ve, N)
            errs.append(_rel_err(got, exact_flow(x0, s0, s1, ctx.dps)))
        where = ("EulerDiscreteScheduler" if method == "Euler" else "DPMSolverMultistepScheduler") + \
            " karras SD range, float32, exact Gaussian denoiser"
        out.append(order_result("RC-17", method, where, NS, errs, p, floor=2.0 ** -24 * 8))
    ctx.progress("diffusers PF-ODE convergence orders")
    return out


# ------------------------------------------------------------------ k-diffusion drivers
def kdiff_run(sampling, method: str, x_ve: np.ndarray, N: int, dtype: str = "float64"):
    """Run k-diffusion's sample_<method> on get_sigmas_karras(N) without its final 0."""
    import torch

    dt = getattr(torch, dtype)
    sig = sampling.get_sigmas_karras(N, SIGMA_MIN, SIGMA_MAX, rho=7.0).to(dt)[:-1]
    x = torch.tensor(x_ve, dtype=dt)
    model = lambda x, sigma, **kw: denoiser(x, sigma)
    fn = getattr(sampling, f"sample_{method}")
    out = fn(model, x.clone(), sig, disable=True)
    return to_float64(x), float(sig[0]), float(sig[-1]), to_float64(out)


def check_kdiffusion(sampling, ctx: RunContext) -> list[Result]:
    x_ve = start_points(ctx)
    out = []
    for method, p in (("euler", 1), ("heun", 2), ("dpmpp_2m", 2)):
        errs = []
        for N in NS:
            x0, s0, s1, got = kdiff_run(sampling, method, x_ve, N)
            errs.append(_rel_err(got, exact_flow(x0, s0, s1, ctx.dps)))
        out.append(order_result("RC-17", f"sample_{method}", "k-diffusion karras SD range, float64, "
                                "exact Gaussian denoiser", NS, errs, p, floor=2.0 ** -53 * 8))
    ctx.progress("k-diffusion PF-ODE convergence orders")
    return out
