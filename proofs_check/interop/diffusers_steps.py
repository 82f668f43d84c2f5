"""diffusers: conversions, variances and single steps against their exact formulas.

RC-04 (x0-hat = -v-hat at zero terminal SNR), RC-07 (add_noise, get_velocity, scale_model_input,
x0-hat of every prediction type, the norm identity), RC-08 (every variance_type), RC-09 (DDIM
step, eq. 16 sigma, clipping conventions), RC-13 (first-order steps of DDIM, Euler,
DPM-Solver-1 and DPM-Solver++-1), RC-16 (EDM preconditioning and step), RC-18 (DPM-Solver++(2M)
midpoint and heun, SDE-DPM-Solver++).  Each value is compared with the exact formula of
``steps.py`` at the float inputs the scheduler received, with the alpha_bar / sigma errors of a
float32 table propagated (``steps.propagate``) plus the step's own roundings.
"""

from __future__ import annotations

import mpmath
import numpy as np

from numerics.precision import mpf_from_float
from proofs_check.interop import steps as st
from proofs_check.interop.common import (PASS, WARN, Result, RunContext, compare, error_result,
                                         prop, to_float64)
from proofs_check.interop.diffusers import SCHEDULES, exact_for, make

PREDICTIONS = ("epsilon", "v_prediction", "sample")
#: Timesteps probed in T = 1000 chains: both ends, the middle, and a spread.
PROBE_T = (0, 1, 2, 10, 100, 250, 500, 750, 900, 998, 999)


def _mp(v):
    return mpf_from_float(float(v))


def _vec(ctx: RunContext, n: int, scale: float = 1.0):
    import torch

    return torch.tensor(ctx.rng.standard_normal(n) * scale, dtype=torch.float32)


def _points(F, rows, names, errs_of, k):
    """Exact values of F and their bounds (units of u) over rows of mp parameters; ``names``
    are F's parameters, ``errs_of(row)`` the relative errors of its inputs."""
    vals, bounds = [], []
    for row in rows:
        v, b = st.propagate(F, {n: row[n] for n in names}, errs_of(row), k)
        vals.append(v)
        bounds.append(b)
    return vals, np.array(bounds)


# ------------------------------------------------------------------ RC-07 VP conversions
def check_vp_conversions(ctx: RunContext) -> list[Result]:
    import torch

    out = []
    for label, config, spec, _ in (SCHEDULES[0], SCHEDULES[3], SCHEDULES[6]):
        exs = exact_for(spec, ctx.dps)
        ts = [t for t in PROBE_T if t < spec[1]]
        n = 4
        x0 = torch.stack([_vec(ctx, n) for _ in ts])
        eps = torch.stack([_vec(ctx, n) for _ in ts])
        tt = torch.tensor(ts)
        for cls in ("DDPMScheduler", "DDIMScheduler", "DPMSolverMultistepScheduler"):
            where = f"{cls} {label}"
            sch = make(cls, **config)
            rows = [dict(x0=_mp(x0[i, j]), eps=_mp(eps[i, j]), ab=exs.alpha_bar(t), t=t)
                    for i, t in enumerate(ts) for j in range(n)]
            errs = lambda row: {"ab": exs.err(row["t"])}
            names = ("x0", "eps", "ab")
            try:
                got = sch.add_noise(x0, eps, tt)
                want, b = _points(st.q_sample, rows, names, errs, 4)
                res = compare("RC-07", "add_noise = a x0 + s eps (no set_timesteps: training use)", where,
                              got, want, dtype="float32", bound_u=b, dps=ctx.dps,
                              labels=[f"timestep {t}, element {j}" for t in ts for j in range(n)],
                              how="alpha_bar error E_t through sqrt, + 4u")
                if res.status != PASS:
                    res.explanation = _index_diagnosis("q_sample", got, x0, eps, ts, exs) + "; " + res.explanation
                out.append(res)
                if hasattr(sch, "get_velocity"):
                    v = sch.get_velocity(x0, eps, tt)
                    want, b = _points(st.velocity, rows, names, errs, 4)
                    out.append(compare("RC-07", "get_velocity = a eps - s x0", where, v, want,
                                       dtype="float32", bound_u=b, dps=ctx.dps,
                                       how="alpha_bar error E_t through sqrt, + 4u"))
                    out.append(_norm_identity(got, v, x0, eps, where))
            except Exception as exc:
                out.append(error_result("RC-07", "add_noise / get_velocity", where, exc))
        # x0-hat of every prediction type, from DDPMScheduler.step
        for pred in PREDICTIONS:
            where = f"DDPMScheduler {label} prediction_type={pred}"
            sch = make("DDPMScheduler", prediction_type=pred, clip_sample=False, **config)
            got, rows = [], []
            for i, t in enumerate(ts):
                if pred == "epsilon" and exs.alpha_bar(t) == 0:
                    continue  # x0-hat = (x - eps)/0: undefined at zero terminal SNR (RC-04 uses v)
                m, x = eps[i], x0[i]
                r = sch.step(m[None], t, x[None], generator=torch.Generator().manual_seed(0))
                got.append(to_float64(r.pred_original_sample))
                rows += [dict(m=_mp(m[j]), x=_mp(x[j]), ab=exs.alpha_bar(t), t=t) for j in range(n)]
            vals, bounds = _points(lambda m, x, ab: st.x0_from(pred, m, x, ab), rows, ("m", "x", "ab"),
                                   lambda row: {"ab": exs.err(row["t"])}, 5)
            out.append(compare("RC-07", "step pred_original_sample (x0-hat)", where, np.concatenate(got),
                               vals, dtype="float32", bound_u=bounds, dps=ctx.dps,
                               how="x0-hat formula with alpha_bar error E_t propagated, + 5u"))
        ctx.progress(f"diffusers VP conversions: {label}")
    return out


def _norm_identity(xt, v, x0, eps, where) -> Result:
    """||x_t||^2 + ||v||^2 = ||x0||^2 + ||eps||^2 (a rotation), per row."""
    xt, v, x0, eps = (to_float64(a).reshape(len(a), -1) for a in (xt, v, x0, eps))
    lhs = (xt ** 2).sum(1) + (v ** 2).sum(1)
    rhs = (x0 ** 2).sum(1) + (eps ** 2).sum(1)
    rel = np.abs(lhs - rhs) / rhs
    # x_t and v each within ~(E/2 + 4)u of exact, E <= 2T: squares double it; 2 x (T + 8)u
    tol = 2 * (1000 + 8) * 2.0 ** -24 * 2
    i = int(np.argmax(rel))
    return prop("RC-07", "||x_t||^2 + ||v||^2 = ||x0||^2 + ||eps||^2", where, bool(rel.max() <= tol),
                f"rotation identity; tolerance 2 x 2(E_max/2 + 4)u with E_max <= 2T; worst row {i}",
                value=float(rel.max()), tolerance=tol, worst=i)


# ------------------------------------------------------------------ RC-07 VE (Euler) conversions
def check_euler_conversions(ctx: RunContext) -> list[Result]:
    import torch

    out = []
    label, config, spec, _ = SCHEDULES[2]  # scaled_linear SD
    exs = exact_for(spec, ctx.dps)
    N = 50
    n = 4
    for pred in PREDICTIONS:
        where = f"EulerDiscreteScheduler {label} leading offset=1 N={N} prediction_type={pred}"
        sch = make("EulerDiscreteScheduler", prediction_type=pred, timestep_spacing="leading",
                   steps_offset=1, **config)
        sch.set_timesteps(N)
        ts = [int(t) for t in sch.timesteps]
        sig_e = lambda t: exs.tabs["sigmas"][t]
        e_sig = lambda t: float(exs.bounds["sigmas"][0][t])
        got_x0, rows_x0, got_scaled, rows_scaled = [], [], [], []
        for k, t in enumerate(ts):
            x = _vec(ctx, n, 2.0)
            m = _vec(ctx, n)
            scaled = sch.scale_model_input(x, sch.timesteps[k])
            got_scaled.append(to_float64(scaled))
            rows_scaled += [dict(x=_mp(x[j]), s=sig_e(t), t=t) for j in range(n)]
            r = sch.step(m, sch.timesteps[k], x)
            got_x0.append(to_float64(r.pred_original_sample))
            rows_x0 += [dict(m=_mp(m[j]), x=_mp(x[j]), s=sig_e(t), t=t) for j in range(n)]

        def x0_ve(m, x, s):
            if pred == "epsilon":
                return x - s * m, abs(x) + abs(s * m)
            if pred == "v_prediction":  # c_skip x + c_out v, c_skip = 1/(s^2+1), c_out = -s/sqrt(s^2+1)
                a, b = x / (s * s + 1), -s / mpmath.sqrt(s * s + 1) * m
                return a + b, abs(a) + abs(b)
            return +m, abs(m)

        vals, bounds = _points(x0_ve, rows_x0, ("m", "x", "s"), lambda row: {"s": e_sig(row["t"])}, 6)
        out.append(compare("RC-07", "step pred_original_sample (x0-hat, VE)", where, np.concatenate(got_x0),
                           vals, dtype="float32", bound_u=bounds, dps=ctx.dps,
                           how="VE x0-hat with sigma error propagated, + 6u"))
        if pred == "epsilon":
            F = lambda x, s: (x / mpmath.sqrt(s * s + 1), abs(x / mpmath.sqrt(s * s + 1)))
            vals, bounds = _points(F, rows_scaled, ("x", "s"), lambda row: {"s": e_sig(row["t"])}, 4)
            out.append(compare("RC-07", "scale_model_input = x/sqrt(sigma^2+1)", where,
                               np.concatenate(got_scaled), vals, dtype="float32", bound_u=bounds,
                               dps=ctx.dps, how="sigma error propagated, + 4u"))
            # add_noise / get_velocity at the timesteps they are given
            x0 = torch.stack([_vec(ctx, n) for _ in ts])
            eps = torch.stack([_vec(ctx, n) for _ in ts])
            tt = sch.timesteps.clone()
            try:
                got = sch.add_noise(x0, eps, tt)
                rows = [dict(x0=_mp(x0[i, j]), eps=_mp(eps[i, j]), s=sig_e(t), t=t)
                        for i, t in enumerate(ts) for j in range(n)]
                Fn = lambda x0, eps, s: (x0 + s * eps, abs(x0) + abs(s * eps))
                vals, bounds = _points(Fn, rows, ("x0", "eps", "s"), lambda row: {"s": e_sig(row["t"])}, 3)
                out.append(compare("RC-07", "add_noise = x0 + sigma eps (VE)", where.replace(f" prediction_type={pred}", ""),
                                   got, vals, dtype="float32", bound_u=bounds, dps=ctx.dps,
                                   how="sigma of the named timestep, its error propagated, + 3u"))
                v = sch.get_velocity(x0, eps, tt)
                rows = [dict(x0=_mp(x0[i, j]), eps=_mp(eps[i, j]), ab=exs.alpha_bar(t), t=t)
                        for i, t in enumerate(ts) for j in range(n)]
                vals, bounds = _points(st.velocity, rows, ("x0", "eps", "ab"),
                                       lambda row: {"ab": exs.err(row["t"])}, 4)
                labels = [f"timestep {t} (row {i}), element {j}" for i, t in enumerate(ts) for j in range(n)]
                res = compare("RC-07", "get_velocity = a_t eps - s_t x0 at the named timestep",
                              where.replace(f" prediction_type={pred}", ""), v, vals, dtype="float32",
                              bound_u=bounds, labels=labels, dps=ctx.dps,
                              how="alpha_bar of the named timestep, E_t propagated, + 4u")
                if res.status != PASS:
                    res.explanation = _index_diagnosis("velocity", v, x0, eps, ts, exs) + "; " + res.explanation
                out.append(res)
            except Exception as exc:
                out.append(error_result("RC-07", "add_noise / get_velocity", where, exc))
    ctx.progress("diffusers Euler conversions")
    return out


def _index_diagnosis(kind: str, got, x0, eps, ts, exs) -> str:
    """Which alpha_bar index explains the values: the named timestep, or another one."""
    got, x0, eps = (to_float64(a).reshape(len(ts), -1) for a in (got, x0, eps))
    a, s = np.sqrt(exs.ab), np.sqrt(1 - exs.ab)
    used = []
    for i in range(len(ts)):
        cand = (a[:, None] * eps[i] - s[:, None] * x0[i]) if kind == "velocity" else \
            (a[:, None] * x0[i] + s[:, None] * eps[i])
        used.append(int(np.argmin(np.max(np.abs(cand - got[i]), axis=1))))
    k = next((i for i in range(len(ts)) if used[i] != ts[i]), None)
    if k is None:
        return "values consistent with the named timesteps"
    return (f"at timestep {ts[k]} the values match alpha_bar[{used[k]}], not alpha_bar[{ts[k]}] "
            f"(the timestep's position in the scheduler's timesteps is {k})")


# ------------------------------------------------------------------ RC-08 variance types, RC-04
def check_variance_types(ctx: RunContext) -> list[Result]:
    import torch

    out = []
    label, config, spec, _ = SCHEDULES[0]
    exs = exact_for(spec, ctx.dps)
    T = spec[1]
    sch = make("DDPMScheduler", **config)
    ms = [-1.0, -0.5, 0.0, 0.5, 1.0]
    ts = (1, 2, T // 2, T - 1)
    where = f"DDPMScheduler {label}"
    bt = exs.tabs["posterior_variance"]
    e_bt = exs.bounds["posterior_variance"][0]
    # fixed_small_log returns the standard deviation
    got = [float(sch._get_variance(t, variance_type="fixed_small_log")) for t in ts]
    want = [mpmath.sqrt(bt[t]) for t in ts]
    out.append(compare("RC-08", "fixed_small_log = sqrt(beta_tilde_t) (a std)", where, got, want,
                       dtype="float32", bound_u=np.array([e_bt[t] / 2 + 4 for t in ts]), dps=ctx.dps,
                       how="exp(log(v)/2): e_v/2 + 4u"))
    got = [float(sch._get_variance(t, variance_type="fixed_large_log")) for t in ts]
    want = [mpmath.log(exs.beta[t]) for t in ts]
    eb = [_beta_eff_bound(exs, t) for t in ts]
    out.append(compare("RC-08", "fixed_large_log = log beta_t", where, got, want, dtype="float32",
                       floor=1.0, bound_u=np.array([e / max(abs(float(w)), 1) + 1 for e, w in zip(eb, want)]),
                       dps=ctx.dps, how="log of beta_eff (1 - ratio): abs err e u"))
    # learned_range: iDDPM eq. 15, frac log beta + (1 - frac) log beta_tilde
    got, want, bounds = [], [], []
    for t in ts:
        for m in ms:
            got.append(float(sch._get_variance(t, predicted_variance=torch.tensor(m),
                                               variance_type="learned_range")))
            f = mpmath.mpf(m + 1) / 2
            want.append(f * mpmath.log(exs.beta[t]) + (1 - f) * mpmath.log(bt[t]))
            bounds.append((float(f) * _beta_eff_bound(exs, t) + (1 - float(f)) * e_bt[t] + 4)
                          / max(abs(float(want[-1])), 1))
    out.append(compare("RC-08", "learned_range log-variance (iDDPM eq. 15)", where + " t >= 1", got, want,
                       dtype="float32", floor=1.0, bound_u=np.array(bounds), dps=ctx.dps,
                       how="frac e_beta + (1-frac) e_beta_tilde absolute in the logs, + 4u"))
    # t = 0: beta_tilde_0 = 0, its log is -inf; diffusers floors at 1e-20, iDDPM uses beta_tilde_1
    got0 = [float(sch._get_variance(0, predicted_variance=torch.tensor(m), variance_type="learned_range"))
            for m in ms]
    faithful = [(mpmath.mpf(m + 1) / 2) * mpmath.log(exs.beta[0]) + (1 - mpmath.mpf(m + 1) / 2) * mpmath.log(mpmath.mpf("1e-20"))
                for m in ms]
    e0 = _beta_eff_bound(exs, 0)
    b0 = np.array([((m + 1) / 2 * e0 + 8) / max(abs(float(f)), 1) + 2 for m, f in zip(ms, faithful)])
    res = compare("RC-08", "learned_range at t = 0 [impl-faithful: floor 1e-20]", where, got0, faithful,
                  dtype="float32", floor=1.0, bound_u=b0, dps=ctx.dps,
                  how="frac log(beta_eff) + (1-frac) log(1e-20); beta_eff = 1 - alpha_bar_0 cancels: "
                      "frac (E_0 + 1) alpha/beta u + 8u absolute, + 2u relative (float32 1e-20, log)")
    out.append(res)
    out.append(Result("RC-08", "learned_range at t = 0", where, None, None, 0, None,
                      WARN if res.status == PASS else res.status,
                      "convention: log beta_tilde_0 = -inf exactly; diffusers uses log(1e-20) = -46.05 "
                      "as the lower end (iDDPM uses log beta_tilde_1, section 8)"))
    got = sch._get_variance(5, predicted_variance=torch.tensor(0.3), variance_type="learned")
    out.append(prop("RC-08", "learned returns the channel unchanged", where, float(got) == float(np.float32(0.3)),
                    "read as a variance (square-rooted in step); iDDPM reads it as a log-variance (section 8)"))
    out += _step_noise(exs, where, ctx)
    out += _zero_snr_v(ctx)
    ctx.progress("diffusers variance types")
    return out


def _beta_eff_bound(exs, t) -> float:
    ap = exs.alpha_bar(t - 1)
    a = float(exs.alpha_bar(t) / ap)
    return (exs.err(t) + exs.err(t - 1) + 1) * a / max(1 - a, 1e-300) + 1


def _step_noise(exs, where, ctx) -> list[Result]:
    """The noise DDPMScheduler.step adds is sqrt(variance) z, z from the generator (t > 0)."""
    import torch

    sch = make("DDPMScheduler", prediction_type="sample", clip_sample=False)
    z0 = torch.zeros(1, 64)
    got, want, bounds = [], [], []
    reproducible = True
    for t in (1, 10, 500, 999):
        p0 = to_float64(sch.step(z0, t, z0, generator=torch.Generator().manual_seed(7)).prev_sample)
        z = to_float64(torch.randn((1, 64), generator=torch.Generator().manual_seed(7), dtype=torch.float32))
        ratio = p0 / z
        if np.ptp(ratio) > 1e-5 * abs(ratio[0]):
            reproducible = False
            break
        got.append(float(np.median(ratio)))
        want.append(mpmath.sqrt(exs.tabs["posterior_variance"][t]))
        bounds.append(exs.bounds["posterior_variance"][0][t] / 2 + 4)
    if not reproducible:
        return [Result("RC-08", "step noise scale", where, None, None, None, None, WARN,
                       "not checked: the step's noise is not torch.randn of the same generator")]
    return [compare("RC-08", "step noise = sqrt(beta_tilde_t) z (fixed_small)", where, got, want,
                    dtype="float32", bound_u=np.array(bounds), dps=ctx.dps,
                    how="sqrt of the variance: e/2 + 4u")]


def _zero_snr_v(ctx) -> list[Result]:
    """RC-04: with zero terminal SNR and v-prediction, x0-hat = -v-hat at t = T-1."""
    import torch

    label, config, spec, _ = SCHEDULES[6]
    sch = make("DDPMScheduler", prediction_type="v_prediction", clip_sample=False, **config)
    v = _vec(ctx, 8)
    x = _vec(ctx, 8)
    got = sch.step(v[None], spec[1] - 1, x[None], generator=torch.Generator().manual_seed(0)).pred_original_sample
    return [compare("RC-04", "x0-hat = -v-hat at t = T-1", f"DDPMScheduler {label} v_prediction",
                    got, [-_mp(a) for a in v], dtype="float32", bound_u=4.0, dps=ctx.dps,
                    how="a_{T-1} = 0, s_{T-1} = 1 exactly: 4u")]


from proofs_check.interop.diffusers_samplers import (check_ddim_steps, check_dpm_steps,  # noqa: E402
                                                     check_edm, check_first_order)

PARTS = (check_vp_conversions, check_euler_conversions, check_variance_types, check_ddim_steps,
         check_first_order, check_edm, check_dpm_steps)
