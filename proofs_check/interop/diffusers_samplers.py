"""diffusers: sampler steps against their exact formulas (RC-09, RC-12, RC-13, RC-16, RC-18).

DDIM (every prediction type, eta in {0, 0.5, 1}, supplied noise), the eq. 16 variance on
adjacent steps, x0 clipping; one first-order step of DDIM, Euler, DPM-Solver-1 and
DPM-Solver++-1 from a common state (all equal x/sqrt(ab) + (sigma_prev - sigma_t) eps in VE);
EDM preconditioning and the EDM Euler step; DPM-Solver++(2M) midpoint and heun, DPM-Solver(2M)
and SDE-DPM-Solver++ steps.  Inputs are the float32 values the scheduler received (exact);
alpha_bar and sigma errors of the float32 tables are propagated (``steps.propagate``).
"""

from __future__ import annotations

import mpmath
import numpy as np

from proofs_check.interop import steps as st
from proofs_check.interop.common import (Result, RunContext, compare, compare_convention,
                                         error_result, to_float64)
from proofs_check.interop.diffusers import SCHEDULES, exact_for, make

PREDICTIONS = ("epsilon", "v_prediction", "sample")


def _mp(v):
    from numerics.precision import mpf_from_float

    return mpf_from_float(float(v))


def _vec(ctx: RunContext, n: int, scale: float = 1.0):
    import torch

    return torch.tensor(ctx.rng.standard_normal(n) * scale, dtype=torch.float32)


# ------------------------------------------------------------------ RC-09 DDIM
def check_ddim_steps(ctx: RunContext) -> list[Result]:
    out = []
    N, n = 50, 4
    for (label, config, spec, _), one in ((SCHEDULES[0], True), (SCHEDULES[2], False)):
        exs = exact_for(spec, ctx.dps)
        T = spec[1]
        extra = {} if one else {"steps_offset": 1}
        final_t = -1 if one else 0  # set_alpha_to_one=False moves the last step to alpha_bar_0
        for pred in PREDICTIONS:
            for eta in (0.0, 0.5, 1.0):
                where = (f"DDIMScheduler {label} set_alpha_to_one={one} N={N} "
                         f"prediction_type={pred} eta={eta}")
                sch = make("DDIMScheduler", prediction_type=pred, clip_sample=False,
                           set_alpha_to_one=one, **extra, **config)
                sch.set_timesteps(N)
                ts = [int(t) for t in sch.timesteps]
                got, vals, bounds, labels = [], [], [], []
                for k in (0, 1, N // 2, N - 2, N - 1):
                    t = ts[k]
                    prev = t - T // N
                    m, x, z = _vec(ctx, n), _vec(ctx, n), _vec(ctx, n)
                    try:
                        r = sch.step(m, t, x, eta=eta, variance_noise=z)
                    except Exception as exc:
                        out.append(error_result("RC-09", "step", where, exc))
                        break
                    got.append(to_float64(r.prev_sample))
                    ab = exs.alpha_bar(t)
                    ap = exs.alpha_bar(prev) if prev >= 0 else exs.alpha_bar(final_t)
                    e_ap = exs.err(prev) if prev >= 0 else exs.err(final_t)

                    def F(m, x, z, ab, ap):
                        x0 = st.x0_from(pred, m, x, ab)[0]
                        e = st.eps_from(pred, m, x, ab)[0]
                        return st.ddim_step(x0, e, z, ab, ap, mpmath.mpf(eta))

                    for j in range(n):
                        v, b = st.propagate(F, dict(m=_mp(m[j]), x=_mp(x[j]), z=_mp(z[j]), ab=ab, ap=ap),
                                            {"ab": exs.err(t), "ap": e_ap}, 12)
                        vals.append(v)
                        bounds.append(b)
                        labels.append(f"k={k} t={t}->{prev if prev >= 0 else 'final'} elem {j}")
                else:
                    out.append(compare("RC-09", "step prev_sample", where, np.concatenate(got), vals,
                                       dtype="float32", bound_u=np.array(bounds), labels=labels, dps=ctx.dps,
                                       how="DDIM eq. 12/16 with alpha_bar errors E_t, E_prev propagated, + 12u"))
        ctx.progress(f"diffusers DDIM steps: {label}")
    out += _ddim_adjacent_variance(ctx)
    out += _ddim_clipping(ctx)
    return out


def _ddim_adjacent_variance(ctx) -> list[Result]:
    """eta = 1 on adjacent steps: sigma_t^2 = beta_tilde_t (DDIM is then DDPM)."""
    label, config, spec, _ = SCHEDULES[0]
    exs = exact_for(spec, ctx.dps)
    sch = make("DDIMScheduler", **config)
    T = spec[1]
    got = np.array([float(sch._get_variance(t, t - 1)) for t in range(1, T)])
    bound = exs.bounds["posterior_variance"][0][1:]
    return [compare("RC-09", "_get_variance(t, t-1) = beta_tilde_t (eta = 1, adjacent)",
                    f"DDIMScheduler {label} t = 1..T-1", got, exs.tabs["posterior_variance"][1:],
                    dtype="float32", bound_u=bound, dps=ctx.dps,
                    how="(1-ab_prev)/(1-ab) (1 - ab/ab_prev): the beta_tilde bound")]


def _ddim_clipping(ctx) -> list[Result]:
    """x0-hat clipped to [-1, 1]: eps re-derived from the clipped x0 is the consistent DDIM step;
    diffusers keeps the raw eps unless use_clipped_model_output=True (section 8)."""
    label, config, spec, _ = SCHEDULES[0]
    exs = exact_for(spec, ctx.dps)
    out = []
    n = 6
    for use_clipped in (True, False):
        where = f"DDIMScheduler {label} clip_sample=True use_clipped_model_output={use_clipped} N=50 eta=0"
        sch = make("DDIMScheduler", clip_sample=True, **config)
        sch.set_timesteps(50)
        got, want, faithful, bounds = [], [], [], []
        for k in (0, 10, 25, 40):
            t = int(sch.timesteps[k])
            prev = t - 20
            m = _vec(ctx, n, 3.0)  # a model that drives |x0-hat| > 1
            x = _vec(ctx, n, 0.5)
            got.append(to_float64(sch.step(m, t, x, eta=0.0, use_clipped_model_output=use_clipped).prev_sample))
            ab, ap = exs.alpha_bar(t), exs.alpha_bar(prev)

            def F(m, x, ab, ap, raw=False):
                x0 = st.x0_from("epsilon", m, x, ab)[0]
                x0c = max(min(x0, mpmath.mpf(1)), mpmath.mpf(-1))
                e = m if raw else (x - mpmath.sqrt(ab) * x0c) / mpmath.sqrt(1 - ab)
                return st.ddim_step(x0c, e, 0, ab, ap, 0)

            for j in range(n):
                p = dict(m=_mp(m[j]), x=_mp(x[j]), ab=ab, ap=ap)
                v, b = st.propagate(F, p, {"ab": exs.err(t), "ap": exs.err(prev)}, 14)
                want.append(v)
                faithful.append(F(**p, raw=True)[0])
                bounds.append(b)
        if use_clipped:
            out.append(compare("RC-12", "step with clipped x0-hat", where, np.concatenate(got), want,
                               dtype="float32", bound_u=np.array(bounds), dps=ctx.dps,
                               how="clip(x0-hat) and eps re-derived from it; errors propagated, + 14u"))
        else:
            out += compare_convention(
                "RC-12", "step with clipped x0-hat", where, np.concatenate(got), want, faithful,
                dtype="float32", bound_u=np.array(bounds), dps=ctx.dps,
                how="clip(x0-hat) and eps re-derived from it; errors propagated, + 14u",
                convention="diffusers keeps the raw eps-hat unless use_clipped_model_output=True "
                           "(iDDPM re-derives it, section 8)")
    return out


# ------------------------------------------------------------------ RC-13 first-order steps
def check_first_order(ctx: RunContext) -> list[Result]:
    import torch

    label, config, spec, _ = SCHEDULES[0]
    exs = exact_for(spec, ctx.dps)
    out = []
    n = 4
    pairs = ((750, 500), (250, 0))
    custom = [750, 500, 250, 0]

    def exact_vp(x, m, ab, ap):  # sqrt(ap) (x/sqrt(ab) + (sigma_p - sigma_t) m)
        sp, stt = mpmath.sqrt((1 - ap) / ap), mpmath.sqrt((1 - ab) / ab)
        a = x / mpmath.sqrt(ab)
        return mpmath.sqrt(ap) * (a + (sp - stt) * m), mpmath.sqrt(ap) * (abs(a) + abs((sp - stt) * m)) * 3

    def exact_ve(x, m, ab, ap):  # x + (sigma_p - sigma_t) m
        sp, stt = mpmath.sqrt((1 - ap) / ap), mpmath.sqrt((1 - ab) / ab)
        return x + (sp - stt) * m, abs(x) + abs(sp * m) + abs(stt * m)

    makers = {
        "DDIMScheduler eta=0": (lambda: _set(make("DDIMScheduler", clip_sample=False, **config), 4), "vp"),
        "DPMSolverMultistepScheduler dpmsolver order 1": (
            lambda: _set(make("DPMSolverMultistepScheduler", algorithm_type="dpmsolver", solver_order=1,
                              final_sigmas_type="sigma_min", **config), timesteps=custom), "vp"),
        "DPMSolverMultistepScheduler dpmsolver++ order 1": (
            lambda: _set(make("DPMSolverMultistepScheduler", algorithm_type="dpmsolver++", solver_order=1,
                              **config), timesteps=custom), "vp"),
        "EulerDiscreteScheduler": (lambda: _set(make("EulerDiscreteScheduler", **config), timesteps=custom), "ve"),
    }
    for name, (build, coords) in makers.items():
        where = f"{name} {label} steps 750->500 and 250->0"
        got, vals, bounds = [], [], []
        try:
            sch = build()
            for t, prev in pairs:
                k = custom.index(t)
                m = _vec(ctx, n)
                x = _vec(ctx, n)
                ab, ap = exs.alpha_bar(t), exs.alpha_bar(prev)
                if coords == "ve":
                    x = (x / float(np.sqrt(exs.ab[t]))).to(torch.float32)
                    sch._step_index = k
                    sch.scale_model_input(x, sch.timesteps[k])
                    r = sch.step(m, sch.timesteps[k], x)
                elif name.startswith("DDIM"):
                    r = sch.step(m, t, x, eta=0.0)
                else:
                    sch._step_index = k
                    r = sch.step(m, t, x)
                got.append(to_float64(r.prev_sample))
                F = exact_ve if coords == "ve" else exact_vp
                for j in range(n):
                    v, b = st.propagate(F, dict(x=_mp(x[j]), m=_mp(m[j]), ab=ab, ap=ap),
                                        {"ab": exs.err(t), "ap": exs.err(prev)}, 10)
                    vals.append(v)
                    bounds.append(b)
        except Exception as exc:
            out.append(error_result("RC-13", "first-order step", where, exc))
            continue
        out.append(compare("RC-13", "one first-order step = x/sqrt(ab) + (sigma_prev - sigma_t) eps (VE)",
                           where, np.concatenate(got), vals, dtype="float32", bound_u=np.array(bounds),
                           dps=ctx.dps, how="alpha_bar errors E_t, E_prev propagated, + 10u"))
    ctx.progress("diffusers first-order steps")
    return out


def _set(sch, n=None, timesteps=None):
    if timesteps is not None:
        sch.set_timesteps(timesteps=timesteps)
    else:
        sch.set_timesteps(n)
    return sch


# ------------------------------------------------------------------ RC-16 EDM
def check_edm(ctx: RunContext) -> list[Result]:
    import torch

    out = []
    sigmas = np.geomspace(0.002, 80.0, 9).astype(np.float32)
    for sd in (0.5, 1.0):
        for pred in ("epsilon", "v_prediction"):
            where = f"EDMEulerScheduler sigma_data={sd} prediction_type={pred}"
            sch = make("EDMEulerScheduler", sigma_data=sd, prediction_type=pred)
            got_in, got_noise, got_out, w_in, w_noise, w_out, b_out = [], [], [], [], [], [], []
            for s in sigmas:
                S = torch.tensor(s)
                x, m = _vec(ctx, 2), _vec(ctx, 2)
                got_in.append(to_float64(sch.precondition_inputs(x, S)))
                got_noise.append(float(sch.precondition_noise(S)))
                got_out.append(to_float64(sch.precondition_outputs(x, m, S)))
                c_skip, c_out, c_in, c_noise = st.edm_scalings(_mp(s), _mp(sd), pred == "v_prediction")
                w_in += [c_in * _mp(v) for v in x]
                w_noise.append(c_noise)
                for j in range(2):
                    val = c_skip * _mp(x[j]) + c_out * _mp(m[j])
                    mag = abs(c_skip * _mp(x[j])) + abs(c_out * _mp(m[j]))
                    w_out.append(val)
                    b_out.append(float(8 * mag / abs(val)) if val != 0 else 1e300)
            out.append(compare("RC-16", "precondition_inputs = c_in x", where, np.concatenate(got_in), w_in,
                               dtype="float32", bound_u=6.0, dps=ctx.dps,
                               how="1/sqrt(s^2 + sd^2) times x: 6 roundings"))
            out.append(compare("RC-16", "precondition_noise = ln(sigma)/4", where, got_noise, w_noise,
                               dtype="float32", bound_u=3.0, floor=1.0, dps=ctx.dps,
                               how="log and a product: 3u (absolute below 1)"))
            out.append(compare("RC-16", "precondition_outputs = c_skip x + c_out F", where,
                               np.concatenate(got_out), w_out, dtype="float32", bound_u=np.array(b_out),
                               dps=ctx.dps, how="EDM Table 1 (c_out negated for v): 8u of the terms' sum"))
        out += _edm_step(ctx, sd)
    ctx.progress("diffusers EDM")
    return out


def _edm_step(ctx, sd) -> list[Result]:
    where = f"EDMEulerScheduler sigma_data={sd} N=10 first step"
    sch = make("EDMEulerScheduler", sigma_data=sd)
    sch.set_timesteps(10)
    x, m = _vec(ctx, 4, 80.0), _vec(ctx, 4)
    s0, s1 = float(sch.sigmas[0]), float(sch.sigmas[1])
    sch.scale_model_input(x, sch.timesteps[0])
    r = sch.step(m, sch.timesteps[0], x)
    vals, bounds = [], []
    for j in range(4):
        def F(x, m, s, sn):
            c_skip, c_out, _, _ = st.edm_scalings(s, _mp(sd))
            d = c_skip * x + c_out * m
            return st.euler_ve(x, d, s, sn)
        v, b = st.propagate(F, dict(x=_mp(x[j]), m=_mp(m[j]), s=_mp(s0), sn=_mp(s1)), {}, 14)
        vals.append(v)
        bounds.append(b)
    return [compare("RC-16", "step = x + (x - D)/sigma (sigma_next - sigma)", where, r.prev_sample, vals,
                    dtype="float32", bound_u=np.array(bounds), dps=ctx.dps,
                    how="EDM denoiser then an Euler step, at the scheduler's float32 sigmas: 14u of the terms")]


# ------------------------------------------------------------------ RC-18 DPM-Solver steps
def check_dpm_steps(ctx: RunContext) -> list[Result]:
    out = []
    label, config, spec, _ = SCHEDULES[0]
    exs = exact_for(spec, ctx.dps)
    n = 4
    e_sig = lambda t: float(exs.bounds["sigmas"][0][t])
    variants = [("dpmsolver++", "midpoint", "sample"), ("dpmsolver++", "heun", "sample"),
                ("dpmsolver", "midpoint", "epsilon"), ("sde-dpmsolver++", "midpoint", "sample")]
    for algo, solver_type, pred in variants:
        where = f"DPMSolverMultistepScheduler {label} {algo} {solver_type} order 2 N=10"
        try:
            final = {"final_sigmas_type": "sigma_min"} if algo == "dpmsolver" else {}
            sch = make("DPMSolverMultistepScheduler", algorithm_type=algo, solver_type=solver_type,
                       prediction_type=pred, solver_order=2, **final, **config)
            sch.set_timesteps(10)
            ts = [int(t) for t in sch.timesteps]
            x0 = _vec(ctx, n, 10.0)
            m0, m1 = _vec(ctx, n), _vec(ctx, n)
            z0, z1 = _vec(ctx, n), _vec(ctx, n)
            kw0 = {"variance_noise": z0} if algo.startswith("sde") else {}
            kw1 = {"variance_noise": z1} if algo.startswith("sde") else {}
            x1 = sch.step(m0, ts[0], x0, **kw0).prev_sample
            x2 = sch.step(m1, ts[1], x1, **kw1).prev_sample
        except Exception as exc:
            out.append(error_result("RC-18", "step", where, exc))
            continue
        s = [exs.tabs["sigmas"][t] for t in ts[:3]]
        errs = {"s0": e_sig(ts[0]), "s1": e_sig(ts[1]), "s2": e_sig(ts[2])}
        v1, b1, v2, b2 = [], [], [], []
        for j in range(n):
            p1 = dict(x=_mp(x0[j]), m=_mp(m0[j]), z=_mp(z0[j]), s0=s[0], s1=s[1])
            F1 = lambda x, m, z, s0, s1: st.dpm_first(algo, x, m, s0, s1, z)
            v, b = st.propagate(F1, p1, {"s0": errs["s0"], "s1": errs["s1"]}, 10)
            v1.append(v)
            b1.append(b)
            p2 = dict(x=_mp(x1[j]), m0=_mp(m1[j]), m1=_mp(m0[j]), z=_mp(z1[j]), s0=s[0], s1=s[1], s2=s[2])
            v, b = st.propagate(lambda **p: _second(algo, solver_type, **p), p2, errs, 16)
            v2.append(v)
            b2.append(b)
        out.append(compare("RC-18", "first step (first order)", where, x1, v1, dtype="float32",
                           bound_u=np.array(b1), dps=ctx.dps,
                           how="VP first-order update, sigma errors propagated, + 10u"))
        out.append(compare("RC-18", "second step (2M multistep)", where, x2, v2, dtype="float32",
                           bound_u=np.array(b2), dps=ctx.dps,
                           how="Lu et al. 2022b multistep update, sigma errors propagated, + 16u"))
    ctx.progress("diffusers DPM-Solver steps")
    return out


def _second(algo, solver_type, x, m0, m1, z, s0, s1, s2):
    """Second multistep update from s1 to s2 with outputs m0 (at s1) and m1 (at s0)."""
    if algo == "dpmsolver++":
        return st.dpm_second(solver_type, x, m0, m1, s0, s1, s2)
    a_t, v_t, l_t = st.vp_of(s2)
    a_s, v_s, l_s = st.vp_of(s1)
    _, _, l_p = st.vp_of(s0)
    h, h0 = l_t - l_s, l_s - l_p
    D0, D1 = m0, (m0 - m1) / (h0 / h)
    if algo == "dpmsolver":  # midpoint, Lu et al. 2022a
        terms = ((a_t / a_s) * x, -v_t * mpmath.expm1(h) * D0, -v_t * mpmath.expm1(h) * D1 / 2)
    else:  # sde-dpmsolver++ midpoint
        e2 = -mpmath.expm1(-2 * h)
        terms = ((v_t / v_s) * mpmath.exp(-h) * x, a_t * e2 * D0, a_t * e2 * D1 / 2,
                 v_t * mpmath.sqrt(e2) * z)
    return sum(terms), sum(abs(t) for t in terms) + abs(terms[1]) + abs(terms[2])
