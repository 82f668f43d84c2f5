"""The ``openai PATH`` checks of the reverse process and the bits-per-dim terms.

RC-06 ``p_mean_variance`` (x0-hat from eps or taken as is, clamped or not; mean; variance and
log-variance for FIXED_SMALL, FIXED_LARGE, LEARNED and LEARNED_RANGE), RC-09 the single steps
of ``p_sample``, ``ddim_sample`` (eta 0 and 1) and ``ddim_reverse_sample``, RC-23
``_prior_bpd``, ``_vb_terms_bpd`` (the KL terms with the clipped log-variance, and the t = 0
decoder NLL) and ``calc_bpd_loop``'s assembly (total = sum of its vb terms + prior, vb[:, k] the
term of t = T - 1 - k).  Everything is compared elementwise with mpmath values computed from the
exact float inputs (the model's float32 outputs are inputs: the checks judge the diffusion
code's arithmetic, not the model) and the exact tables of the chain (reference_targets.md §4).

Tolerances are first-order bounds in units of float32's u: the conditioning of each formula in
its inputs (central differences, :func:`proofs_check.interop.steps.propagate`) times the
inputs' errors (each float64 table cast to float32 on lookup: 1u; each product: 1u more on an
input), plus one rounding of the result.  A formula that cancels beyond its conditioning (the
textbook KL, -1 - Delta + e^Delta, for nearly equal variances) therefore FAILs: that is a real
loss of digits in float32, as RC-21 reports for ``normal_kl`` itself.
"""

from __future__ import annotations

import mpmath
import numpy as np

from numerics.precision import mpf_from_float, workdps
from proofs_check.interop.common import Result, RunContext, compare, compare_convention, error_result, prop
from proofs_check.interop.steps import propagate, sqrt_
from proofs_check.interop.tables import exact_cached

T = 100                       # linear chain (OpenAI's 1000/T scale: betas 0.001 .. 0.2)
TS = (0, 1, 50, 99)           # one timestep per batch element
SHAPE = (4, 2, 3)             # batch, channels, pixels


def _toy(learned: bool):
    """A deterministic stand-in for the network: eps-hat (or x0-hat) = tanh(0.8 x + 0.002 t -
    0.1); for learned variances a second half of channels v = tanh(0.6 x - 0.2) in (-1, 1)."""
    import torch

    def model(x, t, **kwargs):
        tt = t.float().view(-1, *([1] * (x.dim() - 1)))
        out = torch.tanh(0.8 * x + 0.002 * tt - 0.1)
        return torch.cat([out, torch.tanh(0.6 * x - 0.2)], dim=1) if learned else out
    return model


def _flat(tensor) -> list:
    return [mpf_from_float(float(v)) for v in tensor.detach().double().reshape(-1)]


def _same(fn):
    """A formula whose bound is its conditioning: (value, value) for propagate."""
    def F(**p):
        v = fn(**p)
        return v, v
    return F


class _Chain:
    """Exact tables of the linear T = 100 chain, indexed per flattened element."""

    def __init__(self, dps: int):
        self.exs = exact_cached("openai_linear", T, dps=dps)
        tab = self.exs.tabs
        plv = tab["posterior_log_variance"]
        with workdps(dps + 10):
            self.tab = {
                "A": [1 / mpmath.sqrt(a) for a in tab["alphas_cumprod"]],        # sqrt(1/ab)
                "B": list(tab["sqrt_recipm1_alphas_cumprod"]),                    # sqrt(1/ab - 1)
                "c1": list(tab["posterior_mean_coef1"]), "c2": list(tab["posterior_mean_coef2"]),
                "ab": list(tab["alphas_cumprod"]), "abp": list(tab["alphas_cumprod_prev"]),
                "abn": list(tab["alphas_cumprod_next"]),
                "var_small": list(tab["posterior_variance"]),
                "lv_small": [plv[1]] + list(plv[1:]),                          # clipped at t = 0
                "var_large": [tab["posterior_variance"][1]] + list(tab["betas"][1:]),
                "log_beta": [mpmath.log(b) for b in tab["betas"]],
            }
            self.tab["lv_large"] = [mpmath.log(v) for v in self.tab["var_large"]]
        per = int(np.prod(SHAPE[1:]))
        self.t_of = [TS[i // per] for i in range(int(np.prod(SHAPE)))]

    def __call__(self, name: str, i: int):
        return self.tab[name][self.t_of[i]]


def _pmv_reference(ch: _Chain, x, m, v, mean_type: str, var_type: str, clip: bool):
    """Exact p_mean_variance per element, with bounds (units of u): dict of (values, bounds)."""
    out = {k: ([], []) for k in ("pred_xstart", "mean", "variance", "log_variance")}
    for i, (xi, mi) in enumerate(zip(x, m)):
        if mean_type == "EPSILON":
            x0, b0 = propagate(_same(lambda x, m, A, B: A * x - B * m),
                               {"x": xi, "m": mi, "A": ch("A", i), "B": ch("B", i)},
                               {"A": 2, "B": 2}, 1)
        else:
            x0, b0 = mi, 0.0
        if clip and abs(x0) > 1:
            x0, b0 = mpmath.sign(x0), b0 * float(abs(x0))   # clamp: the absolute error carries
        mean, bm = propagate(_same(lambda c1, c2, x0, x: c1 * x0 + c2 * x),
                             {"c1": ch("c1", i), "c2": ch("c2", i), "x0": x0, "x": xi},
                             {"c1": 2, "c2": 2, "x0": b0 + 1}, 1)
        if var_type == "FIXED_SMALL":
            var, bv, lv, bl = ch("var_small", i), 2.0, ch("lv_small", i), 2.0
        elif var_type == "FIXED_LARGE":
            var, bv, lv, bl = ch("var_large", i), 2.0, ch("lv_large", i), 2.0
        else:
            if var_type == "LEARNED":
                lv, bl = v[i], 1.0
            else:
                lv, bl = propagate(_same(lambda f, lo, hi: f * hi + (1 - f) * lo),
                                   {"f": (v[i] + 1) / 2, "lo": ch("lv_small", i), "hi": ch("log_beta", i)},
                                   {"f": 1, "lo": 2, "hi": 2}, 1)
            var, bv = mpmath.exp(lv), bl * float(abs(lv)) + 2
        for key, val, b in (("pred_xstart", x0, b0 + 1), ("mean", mean, bm), ("variance", var, bv),
                            ("log_variance", lv, bl)):
            out[key][0].append(val)
            out[key][1].append(b)
    return out


def _diffusion(gd, mean_type: str, var_type: str):
    return gd.GaussianDiffusion(betas=gd.get_named_beta_schedule("linear", T),
                                model_mean_type=getattr(gd.ModelMeanType, mean_type),
                                model_var_type=getattr(gd.ModelVarType, var_type),
                                loss_type=gd.LossType.KL)


def _inputs(ctx: RunContext):
    import torch

    x = torch.tensor(ctx.rng.uniform(-1.5, 1.5, SHAPE), dtype=torch.float32)
    return x, torch.tensor(TS)


def check_p_mean_variance(gd, ctx: RunContext, pkg: str) -> list[Result]:
    ch = _Chain(ctx.dps)
    x, t = _inputs(ctx)
    out = []
    combos = [("EPSILON", vt, True) for vt in ("FIXED_SMALL", "FIXED_LARGE", "LEARNED", "LEARNED_RANGE")]
    combos += [("EPSILON", "FIXED_SMALL", False), ("START_X", "FIXED_SMALL", True)]
    for mean_type, var_type, clip in combos:
        where = f"{pkg} {mean_type} {var_type} clip={clip}, linear T={T}, t={list(TS)}, float32"
        learned = var_type.startswith("LEARNED")
        try:
            diff = _diffusion(gd, mean_type, var_type)
            model = _toy(learned)
            got = diff.p_mean_variance(model, x, t, clip_denoised=clip)
            raw = model(x, t)
        except Exception as exc:
            out.append(error_result("RC-06", "p_mean_variance", where, exc))
            continue
        C = x.shape[1]
        m = _flat(raw[:, :C])
        v = _flat(raw[:, C:]) if learned else None
        with workdps(ctx.dps):
            ref = _pmv_reference(ch, _flat(x), m, v, mean_type, var_type, clip)
        for key in ("pred_xstart", "mean", "variance", "log_variance"):
            if key in ("variance", "log_variance") and mean_type == "START_X":
                continue                       # the same as EPSILON's rows
            vals, bounds = ref[key]
            out.append(compare("RC-06", f"p_mean_variance {key}", where, got[key], vals, dtype="float32",
                               bound_u=np.array(bounds, dtype=float), dps=ctx.dps, floor=1e-3,
                               how="conditioning of the formula times its inputs' errors (tables cast to "
                                   "float32 1u, products 1u) + 1u"))
    ctx.progress("openai p_mean_variance")
    return out


def check_samplers(gd, ctx: RunContext, pkg: str) -> list[Result]:
    import torch

    ch = _Chain(ctx.dps)
    x, t = _inputs(ctx)
    xs = _flat(x)
    mask = [0 if ch.t_of[i] == 0 else 1 for i in range(len(xs))]
    out = []
    state = torch.get_rng_state()
    try:
        for var_type in ("FIXED_SMALL", "LEARNED_RANGE"):
            where = f"{pkg} p_sample EPSILON {var_type}, linear T={T}, t={list(TS)}, float32"
            try:
                diff = _diffusion(gd, "EPSILON", var_type)
                model = _toy(var_type.startswith("LEARNED"))
                torch.manual_seed(ctx.seed)
                got = diff.p_sample(model, x, t, clip_denoised=True)["sample"]
                torch.manual_seed(ctx.seed)
                z = _flat(torch.randn_like(x))
                raw = model(x, t)
            except Exception as exc:
                out.append(error_result("RC-09", "p_sample", where, exc))
                continue
            C = x.shape[1]
            with workdps(ctx.dps):
                ref = _pmv_reference(ch, xs, _flat(raw[:, :C]), _flat(raw[:, C:]) if C < raw.shape[1] else None,
                                     "EPSILON", var_type, True)
                vals, bounds = [], []
                for i in range(len(xs)):
                    val, b = propagate(_same(lambda mu, lv, z, k: mu + k * mpmath.exp(lv / 2) * z),
                                       {"mu": ref["mean"][0][i], "lv": ref["log_variance"][0][i], "z": z[i],
                                        "k": mask[i]},
                                       {"mu": ref["mean"][1][i], "lv": ref["log_variance"][1][i] + 1, "z": 2}, 1)
                    vals.append(val)
                    bounds.append(b)
            out.append(compare("RC-09", "p_sample: mean + 1[t>0] exp(log_var/2) z", where, got, vals,
                               dtype="float32", bound_u=np.array(bounds), dps=ctx.dps, floor=1e-3,
                               how="z redrawn from the same seed; conditioning x inputs' errors + 1u"))
        diff = _diffusion(gd, "EPSILON", "FIXED_SMALL")
        model = _toy(False)
        raw = _flat(model(x, t))
        with workdps(ctx.dps):
            ref = _pmv_reference(ch, xs, raw, None, "EPSILON", "FIXED_SMALL", True)
            eps, beps = [], []
            for i in range(len(xs)):
                e, b = propagate(_same(lambda x, x0, A, B: (A * x - x0) / B),
                                 {"x": xs[i], "x0": ref["pred_xstart"][0][i], "A": ch("A", i), "B": ch("B", i)},
                                 {"x0": ref["pred_xstart"][1][i], "A": 2, "B": 2}, 1)
                eps.append(e)
                beps.append(b)
        for eta in (0.0, 1.0):
            where = f"{pkg} ddim_sample eta={eta:g} EPSILON FIXED_SMALL, linear T={T}, t={list(TS)}, float32"
            try:
                torch.manual_seed(ctx.seed)
                got = diff.ddim_sample(model, x, t, clip_denoised=True, eta=eta)["sample"]
                torch.manual_seed(ctx.seed)
                z = _flat(torch.randn_like(x))
            except Exception as exc:
                out.append(error_result("RC-09", "ddim_sample", where, exc))
                continue

            def ddim(x0, e, z, ab, abp, k, eta=eta):
                sig = eta * sqrt_((1 - abp) / (1 - ab)) * sqrt_(1 - ab / abp)
                return x0 * sqrt_(abp) + sqrt_(1 - abp - sig ** 2) * e + k * sig * z

            with workdps(ctx.dps):
                vals, bounds = [], []
                for i in range(len(xs)):
                    val, b = propagate(_same(ddim), {"x0": ref["pred_xstart"][0][i], "e": eps[i], "z": z[i],
                                                     "ab": ch("ab", i), "abp": ch("abp", i), "k": mask[i]},
                                       {"x0": ref["pred_xstart"][1][i] + 2, "e": beps[i] + 2, "z": 3,
                                        "ab": 3, "abp": 3}, 1)
                    vals.append(val)
                    bounds.append(b)
            out.append(compare("RC-09", "ddim_sample: sqrt(ab_prev) x0 + sqrt(1-ab_prev-sigma^2) eps + sigma z",
                               where, got, vals, dtype="float32", bound_u=np.array(bounds), dps=ctx.dps,
                               floor=1e-3, how="DDIM eq. 12/16 with eps re-derived from the clipped x0; "
                                               "conditioning x inputs' errors + 1u"))
        where = f"{pkg} ddim_reverse_sample EPSILON FIXED_SMALL, linear T={T}, t={list(TS)}, float32"
        try:
            got = diff.ddim_reverse_sample(model, x, t, clip_denoised=True)["sample"]
            with workdps(ctx.dps):
                vals, bounds = [], []
                for i in range(len(xs)):
                    val, b = propagate(_same(lambda x0, e, abn: x0 * sqrt_(abn) + sqrt_(1 - abn) * e),
                                       {"x0": ref["pred_xstart"][0][i], "e": eps[i], "abn": ch("abn", i)},
                                       {"x0": ref["pred_xstart"][1][i] + 2, "e": beps[i] + 2, "abn": 2}, 1)
                    vals.append(val)
                    bounds.append(b)
            out.append(compare("RC-09", "ddim_reverse_sample: sqrt(ab_next) x0 + sqrt(1-ab_next) eps", where, got,
                               vals, dtype="float32", bound_u=np.array(bounds), dps=ctx.dps, floor=1e-3,
                               how="the deterministic inverse with alpha_bar_next; conditioning x errors + 1u"))
        except Exception as exc:
            out.append(error_result("RC-09", "ddim_reverse_sample", where, exc))
    finally:
        torch.set_rng_state(state)
    ctx.progress("openai samplers")
    return out


# ------------------------------------------------------------------ RC-23 bits per dim

def _kl(m1, lv1, m2, lv2):
    return (-1 + lv2 - lv1 + mpmath.exp(lv1 - lv2) + (m1 - m2) ** 2 * mpmath.exp(-lv2)) / 2


def _per_batch(values, bounds, D: int):
    """mean over the D values of each batch element / ln 2, with its bound: the largest of the
    terms' (they are nonnegative) + (D - 1) for the sum + 2 for the mean and the division."""
    ln2 = mpmath.log(2)                         # at the caller's working precision
    vals = [mpmath.fsum(values[b * D:(b + 1) * D]) / (D * ln2) for b in range(len(values) // D)]
    bnds = [max(bounds[b * D:(b + 1) * D]) + D + 1 for b in range(len(values) // D)]
    return vals, np.array(bnds)


def _image(ctx: RunContext):
    import torch

    k = ctx.rng.integers(0, 256, SHAPE)
    k.flat[0], k.flat[1] = 0, 255                    # both edge bins at t = 0
    return torch.tensor(k / 127.5 - 1, dtype=torch.float32)


def check_bpd(gd, ctx: RunContext, pkg: str) -> list[Result]:
    import torch

    ch = _Chain(ctx.dps)
    x0 = _image(ctx)
    t = torch.tensor(TS)
    D = int(np.prod(SHAPE[1:]))
    out = []
    diff = _diffusion(gd, "EPSILON", "LEARNED_RANGE")
    model = _toy(True)
    where = f"{pkg} EPSILON LEARNED_RANGE, linear T={T}, float32 images on the 256-level grid"
    # _prior_bpd: KL(N(sqrt(ab) x0, 1 - ab) || N(0, 1)) at t = T - 1, mean over dims / ln 2
    try:
        got = diff._prior_bpd(x0)
        with workdps(ctx.dps):
            ab = ch.tab["ab"][T - 1]
            vals, bnds = [], []
            for xi in _flat(x0):
                v, b = propagate(_same(lambda x, s, lv: _kl(s * x, lv, 0, 0)),
                                 {"x": xi, "s": mpmath.sqrt(ab), "lv": mpmath.log(1 - ab)}, {"s": 2, "lv": 1}, 1)
                vals.append(v)
                bnds.append(b)
            vals, bnds = _per_batch(vals, bnds, D)
        out.append(compare("RC-23", "_prior_bpd", where, got, vals, dtype="float32", bound_u=bnds, dps=ctx.dps,
                           how="KL's conditioning in (sqrt(ab) x0, log(1 - ab)) x their errors + 1u, + D + 1 "
                               "for the mean and / ln 2"))
    except Exception as exc:
        out.append(error_result("RC-23", "_prior_bpd", where, exc))
    state = torch.get_rng_state()
    try:
        out += _vb_terms(diff, model, x0, t, ch, ctx, where, D)
        out += _bpd_loop(diff, model, x0, ctx, where)
    finally:
        torch.set_rng_state(state)
    ctx.progress("openai bits per dim")
    return out


def _vb_terms(diff, model, x0, t, ch, ctx, where, D) -> list[Result]:
    import torch

    torch.manual_seed(ctx.seed)
    try:
        x_t = diff.q_sample(x0, t, noise=torch.randn_like(x0))
        got = diff._vb_terms_bpd(model, x0, x_t, t, clip_denoised=True)["output"]
        raw = model(x_t, t)
    except Exception as exc:
        return [error_result("RC-23", "_vb_terms_bpd", where, exc)]
    C = x0.shape[1]
    xs, x0s = _flat(x_t), _flat(x0)
    out = []
    with workdps(ctx.dps):
        ref = _pmv_reference(ch, xs, _flat(raw[:, :C]), _flat(raw[:, C:]), "EPSILON", "LEARNED_RANGE", True)
        kl, bkl, nll, nll_f, bnll = [], [], [], [], []
        h = mpmath.mpf(1) / 255
        phi_t = lambda z: (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (z + mpmath.mpf("0.044715") * z ** 3))) / 2
        for i in range(len(xs)):
            mu, lv = ref["mean"][0][i], ref["log_variance"][0][i]
            if ch.t_of[i] > 0:
                tm, btm = propagate(_same(lambda c1, c2, a, b: c1 * a + c2 * b),
                                    {"c1": ch("c1", i), "c2": ch("c2", i), "a": x0s[i], "b": xs[i]},
                                    {"c1": 2, "c2": 2}, 1)
                v, b = propagate(_same(_kl), {"m1": tm, "lv1": ch("lv_small", i), "m2": mu, "lv2": lv},
                                 {"m1": btm + 1, "lv1": 2, "m2": ref["mean"][1][i] + 1,
                                  "lv2": ref["log_variance"][1][i] + 1}, 10)
                kl.append(v)
                bkl.append(b)
                continue
            xv = float(x0s[i])

            def nll_of(cdf, mu, ls, xi=x0s[i], xv=xv):
                inv = mpmath.exp(-ls)
                zp, zm = inv * (xi - mu + h), inv * (xi - mu - h)
                p = cdf(zp) if xv < -0.999 else 1 - cdf(zm) if xv > 0.999 else cdf(zp) - cdf(zm)
                return -mpmath.log(max(p, mpmath.mpf("1e-12")))

            nll.append(nll_of(mpmath.ncdf, mu, lv / 2))
            val, b = propagate(_same(lambda mu, ls: nll_of(phi_t, mu, ls)), {"mu": mu, "ls": lv / 2},
                               {"mu": ref["mean"][1][i] + 1, "ls": ref["log_variance"][1][i] + 2}, 4)
            nll_f.append(val)
            inv = mpmath.exp(-lv / 2)
            fp, fm = phi_t(inv * (x0s[i] - mu + h)), phi_t(inv * (x0s[i] - mu - h))
            bnll.append(b + (6 * float((fp + fm) / abs(fp - fm)) if -0.999 < xv < 0.999 else 12.0))
        n_kl = len(kl) // D
        kv, kb = _per_batch(kl, bkl, D)
        nv, nb = _per_batch(nll, bnll, D)
        nf, _ = _per_batch(nll_f, bnll, D)
    g = got.detach().double().numpy()
    first = [b for b in range(len(TS)) if TS[b] == 0]
    rest = [b for b in range(len(TS)) if TS[b] > 0]
    out.append(compare("RC-23", "_vb_terms_bpd: KL(q(x_t-1|x_t,x0) || p) / ln 2, t > 0", where
                       + f", t={[TS[b] for b in rest]}", g[rest], kv[:n_kl], dtype="float32", bound_u=kb,
                       dps=ctx.dps, how="(KL's conditioning x its inputs' errors + 10)u, + D + 1 for the mean "
                                        "and / ln 2 (the RC-21 rule: cancellation beyond it is a FAIL)"))
    out += compare_convention("RC-23", "_vb_terms_bpd: decoder NLL / ln 2, t = 0", where + ", t=0", g[first],
                              nv, nf, dtype="float32", bound_u=nb, floor=1.0, dps=ctx.dps,
                              how="the likelihood's cond (F+ + F-)/(F+ - F-) x 6u + the mean's and "
                                  "log-variance's errors, + D + 1",
                              convention="Phi replaced by its tanh approximation (iDDPM's "
                                         "approx_standard_normal_cdf)")
    return out


def _bpd_loop(diff, model, x0, ctx, where) -> list[Result]:
    import torch

    torch.manual_seed(ctx.seed)
    try:
        res = diff.calc_bpd_loop(model, x0, clip_denoised=True)
        torch.manual_seed(ctx.seed)
        noise = [torch.randn_like(x0) for _ in range(T)]
        prior = diff._prior_bpd(x0)
        terms = {}
        for k in (0, T - 1):
            tk = torch.tensor([T - 1 - k] * x0.shape[0])
            x_t = diff.q_sample(x0, tk, noise=noise[k])
            terms[k] = diff._vb_terms_bpd(model, x0, x_t, tk, clip_denoised=True)["output"]
    except Exception as exc:
        return [error_result("RC-23", "calc_bpd_loop", where, exc)]
    vb = res["vb"].detach().double().numpy()
    total = res["total_bpd"].detach().double().numpy()
    p = res["prior_bpd"].detach().double().numpy()
    s = vb.sum(axis=1) + p
    scale = np.abs(vb).sum(axis=1) + np.abs(p)
    u = 2.0 ** -24
    tol = (T + 1) * u * scale / np.abs(s)
    rel = np.abs(total - s) / np.abs(s)
    out = [prop("RC-23", "calc_bpd_loop: total_bpd = sum_t vb_t + prior_bpd", where,
                bool(np.all(rel <= tol)), f"float32 sum of T + 1 terms: (T + 1)u of sum |terms|; worst "
                f"relative gap {rel.max():.2g}", value=float(rel.max()), tolerance=float(tol.max()))]
    same = all(np.array_equal(terms[k].detach().double().numpy(), vb[:, k]) for k in terms)
    out.append(prop("RC-23", "calc_bpd_loop: vb[:, k] is the term of t = T - 1 - k", where, same,
                    "the first and last columns recomputed with _vb_terms_bpd on the same noise (drawn "
                    "in the loop's order from the same seed) must be identical"))
    out.append(prop("RC-23", "calc_bpd_loop: prior_bpd = _prior_bpd(x0)", where,
                    bool(np.array_equal(prior.detach().double().numpy(), p)), "identical values expected"))
    return out
