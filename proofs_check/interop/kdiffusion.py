"""The ``k-diffusion`` target: ``k_diffusion/sampling.py`` and ``external.py`` loaded by path.

``import k_diffusion`` needs scikit-image and more (its ``__init__`` imports every submodule),
so the two modules are loaded by file path under a stub parent package whose ``utils`` provides
only ``append_dims`` (reference_targets.md section 2).  The package directory is the installed
wheel's (found without importing it) or a PATH the user gives.

Checks: RC-14 ``get_sigmas_karras``; RC-15 ``get_ancestral_step`` (exact values and the
properties sigma_down^2 + sigma_up^2 = sigma_to^2, sigma_up <= sigma_to, eta = 0, sigma_to = 0,
monotone in eta); ``to_d``; single steps of ``sample_euler``, ``sample_heun``,
``sample_dpmpp_2m`` (RC-18) and the step to sigma = 0; RC-16 ``VDenoiser`` scalings and its
t <-> sigma maps, the sigma grid of ``DiscreteEpsDDPMDenoiser`` (RC-02); RC-17 convergence
orders, and diffusers' Euler against the same recurrence when diffusers is installed.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import types

import mpmath
import numpy as np

from numerics.errors import InvalidParameter
from numerics.precision import mpf_from_float, workdps
from proofs_check.interop import exact as ex
from proofs_check.interop import steps as st
from proofs_check.interop.common import (Report, Result, RunContext, compare, error_result,
                                         prop, to_float64)

U64 = 2.0 ** -53


def find_package(path=None) -> pathlib.Path:
    """The k_diffusion package directory: ``path`` (the package or a checkout containing it),
    else the installed wheel's, located without importing it."""
    if path is not None:
        p = pathlib.Path(str(path))
        for cand in (p, p / "k_diffusion"):
            if (cand / "sampling.py").is_file():
                return cand
        raise InvalidParameter("PATH", str(path), "a k_diffusion package directory (with sampling.py) "
                               "or a checkout containing one")
    spec = importlib.util.find_spec("k_diffusion")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidParameter("TARGET", "k-diffusion", "an installed k-diffusion or a PATH",
                               "pip install k-diffusion --no-deps; pip install torchdiffeq torchsde tqdm")
    return pathlib.Path(list(spec.submodule_search_locations)[0])


def load(pkg_dir: pathlib.Path, names=("sampling", "external")):
    """Load the named modules by path under a stub ``k_diffusion`` package (restored after)."""
    try:
        import torch  # noqa: F401  (availability check)
    except ImportError:
        raise InvalidParameter("TARGET", "k-diffusion", "torch installed", "pip install torch==2.13.0") from None
    saved = {k: v for k, v in sys.modules.items() if k == "k_diffusion" or k.startswith("k_diffusion.")}
    pkg = types.ModuleType("k_diffusion")
    pkg.__path__ = [str(pkg_dir)]
    pkg.utils = types.ModuleType("k_diffusion.utils")
    pkg.utils.append_dims = lambda x, n: x[(...,) + (None,) * (n - x.ndim)]
    sys.modules.update({"k_diffusion": pkg, "k_diffusion.utils": pkg.utils})
    mods = {}
    try:
        for name in names:
            spec = importlib.util.spec_from_file_location(f"k_diffusion.{name}", pkg_dir / f"{name}.py")
            mod = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = mod
            try:
                spec.loader.exec_module(mod)
            except ImportError as exc:
                raise InvalidParameter("TARGET", "k-diffusion", f"the imports of {name}.py available",
                                       f"{exc}; pip install torchdiffeq torchsde tqdm scipy") from None
            setattr(pkg, name, mod)
            mods[name] = mod
    finally:
        for k in [k for k in sys.modules if k == "k_diffusion" or k.startswith("k_diffusion.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    return mods


def _mp(v):
    return mpf_from_float(float(v))


# ------------------------------------------------------------------ RC-14, RC-15, to_d
def check_sigmas(sampling, ctx: RunContext) -> list[Result]:
    out = []
    for lo, hi in ((0.0292, 14.6146), (0.002, 80.0)):
        for n in (1, 2, 10, 40):
            where = f"get_sigmas_karras(n={n}, {lo}, {hi}, rho=7)"
            sig = to_float64(sampling.get_sigmas_karras(n, lo, hi, rho=7.0))
            out.append(compare("RC-14", "karras sigmas", where, sig[:-1], ex.karras_sigmas(n, lo, hi, dps=ctx.dps),
                               dtype="float32", bound_u=7 * 4 + 4, dps=ctx.dps,
                               how="float32 ramp; the power rho = 7 amplifies 4 base roundings: 32u"))
            out.append(prop("RC-14", "appended final sigma", where, len(sig) == n + 1 and sig[-1] == 0.0,
                            f"n + 1 values ending in 0: got {len(sig)} values ending in {sig[-1]}"))
    return out


def check_ancestral(sampling, ctx: RunContext) -> list[Result]:
    import torch

    rng = ctx.rng
    s_from = 10.0 ** rng.uniform(-2, 2, 64)
    s_to = s_from * rng.uniform(0, 1, 64)
    etas = rng.uniform(0, 1.5, 64)
    got_d, got_u, w_d, w_u, b, bu = [], [], [], [], [], []
    for a, c, e in zip(s_from, s_to, etas):
        d, u = sampling.get_ancestral_step(torch.tensor(a, dtype=torch.float64),
                                           torch.tensor(c, dtype=torch.float64), eta=float(e))
        got_d.append(float(d))
        got_u.append(float(u))
        with workdps(ctx.dps):
            A, C, E = _mp(a), _mp(c), _mp(e)
            up = min(C, E * mpmath.sqrt(C ** 2 * (A ** 2 - C ** 2) / A ** 2))
            w_u.append(up)
            w_d.append(mpmath.sqrt(C ** 2 - up ** 2))
            b.append(float(6 + 2 * C ** 2 / (C ** 2 - up ** 2)) if C > up else 1e300)
            bu.append(float((A ** 2 + C ** 2) / (A ** 2 - C ** 2)) + 6 if A > C else 1e300)
    where = "get_ancestral_step, 64 random (sigma_from, sigma_to, eta), float64"
    out = [compare("RC-15", "sigma_up", where, got_u, w_u, dtype="float64", bound_u=np.array(bu), dps=ctx.dps,
                   how="min(sigma_to, eta sqrt(sigma_to^2 (sigma_from^2 - sigma_to^2)/sigma_from^2)): the "
                       "difference of squares has cond (A^2 + C^2)/(A^2 - C^2), halved by sqrt, + 6u"),
           compare("RC-15", "sigma_down", where, got_d, w_d, dtype="float64", bound_u=np.array(b), dps=ctx.dps,
                   how="sqrt(sigma_to^2 - sigma_up^2): cancellation sigma_to^2/(sigma_to^2 - sigma_up^2), + 6u")]
    gd, gu, st_ = np.array(got_d), np.array(got_u), s_to
    resid = np.abs(gd ** 2 + gu ** 2 - st_ ** 2) / st_ ** 2
    out.append(prop("RC-15", "sigma_down^2 + sigma_up^2 = sigma_to^2", where, bool(resid.max() <= 16 * U64),
                    "energy split of the ancestral step: 16u", value=float(resid.max()), tolerance=16 * U64))
    out.append(prop("RC-15", "sigma_up <= sigma_to", where, bool(np.all(gu <= st_)), "the noise never exceeds sigma_to"))
    d0, u0 = sampling.get_ancestral_step(2.0, 1.0, eta=0.0)
    out.append(prop("RC-15", "eta = 0 gives (sigma_to, 0)", "get_ancestral_step(2, 1, eta=0)",
                    float(d0) == 1.0 and float(u0) == 0.0, f"got ({float(d0)}, {float(u0)})"))
    d1, u1 = sampling.get_ancestral_step(torch.tensor(2.0), torch.tensor(0.0), eta=1.0)
    out.append(prop("RC-15", "sigma_to = 0 gives (0, 0)", "get_ancestral_step(2, 0)",
                    float(d1) == 0.0 and float(u1) == 0.0, f"got ({float(d1)}, {float(u1)})"))
    ups = [float(sampling.get_ancestral_step(torch.tensor(3.0, dtype=torch.float64),
                                             torch.tensor(1.5, dtype=torch.float64), eta=e)[1])
           for e in np.linspace(0, 2, 21)]
    out.append(prop("RC-15", "sigma_up nondecreasing in eta", "get_ancestral_step(3, 1.5, eta in [0, 2])",
                    bool(np.all(np.diff(ups) >= 0)), "monotone in eta"))
    # to_d
    x = torch.tensor(rng.standard_normal(8))
    den = torch.tensor(rng.standard_normal(8))
    s = torch.tensor(2.5, dtype=torch.float64)
    got = sampling.to_d(x, s, den)
    want = [(_mp(a) - _mp(c)) / _mp(2.5) for a, c in zip(x, den)]
    bnd = np.array([float((abs(_mp(a)) + abs(_mp(c))) / abs(_mp(a) - _mp(c))) * 2 + 1 for a, c in zip(x, den)])
    out.append(compare("RC-13", "to_d = (x - D)/sigma", "float64", got, want, dtype="float64", bound_u=bnd,
                       dps=ctx.dps, how="a difference (cancellation |x|+|D| over |x-D|) and a division"))
    return out


# ------------------------------------------------------------------ single steps
MU, S2 = "0.5", "0.25"


def _D(x, s):
    mu, s2 = mpmath.mpf(MU), mpmath.mpf(S2)
    return (s2 * x + s ** 2 * mu) / (s2 + s ** 2)


def check_steps(sampling, ctx: RunContext) -> list[Result]:
    import torch

    from proofs_check.interop.ode import denoiser

    out = []
    model = lambda x, sigma, **kw: denoiser(x, sigma)
    x = torch.tensor(ctx.rng.standard_normal(6) * 5.0 + 0.5, dtype=torch.float64)
    grid = [5.0, 3.0, 1.7, 0.9]
    sig = torch.tensor(grid, dtype=torch.float64)
    xs = [_mp(v) for v in x]
    S = [_mp(v) for v in grid]

    def heun(x, s0, s1):
        d = (x - _D(x, s0)) / s0
        x2 = x + d * (s1 - s0)
        d2 = (x2 - _D(x2, s1)) / s1
        v = x + (d + d2) / 2 * (s1 - s0)
        return v, abs(x) + abs((d + d2) / 2 * (s1 - s0)) * 4

    def euler(x, s0, s1):
        return st.euler_ve(x, _D(x, s0), s0, s1)

    def dpm3(x, s0, s1, s2, s3):  # three DPM-Solver++(2M) steps on the grid
        D0 = _D(x, s0)
        x1 = st.dpmpp_2m_ve(x, D0, None, None, s0, s1)[0]
        D1 = _D(x1, s1)
        x2 = st.dpmpp_2m_ve(x1, D1, D0, s0, s1, s2)[0]
        D2 = _D(x2, s2)
        v, mag = st.dpmpp_2m_ve(x2, D2, D1, s1, s2, s3)
        return v, mag * 4

    for name, F, n_sig, k in (("euler", euler, 2, 8), ("heun", heun, 2, 16), ("dpmpp_2m", dpm3, 4, 32)):
        where = f"sample_{name}, float64, exact Gaussian denoiser, sigmas {grid[:n_sig]}"
        try:
            got = getattr(sampling, f"sample_{name}")(model, x.clone(), sig[:n_sig], disable=True)
        except Exception as exc:
            out.append(error_result("RC-18" if name == "dpmpp_2m" else "RC-13", "sample", where, exc))
            continue
        vals, bounds = [], []
        for xv in xs:
            params = dict(x=xv, **{f"s{i}": S[i] for i in range(n_sig)})
            v, b = st.propagate(F, params, {}, k)
            vals.append(v)
            bounds.append(b)
        out.append(compare("RC-18" if name == "dpmpp_2m" else "RC-13", f"sample_{name} steps", where, got, vals,
                           dtype="float64", bound_u=np.array(bounds), dps=ctx.dps,
                           how=f"exact update formula at the float inputs: {k}u of the terms' magnitude"))
    # a step to sigma = 0 returns the denoiser's output
    for name in ("euler", "heun", "dpmpp_2m"):
        got = getattr(sampling, f"sample_{name}")(model, x.clone(), torch.tensor([1.7, 0.0], dtype=torch.float64),
                                                  disable=True)
        want = [_D(v, _mp(1.7)) for v in xs]
        bnd = np.array([float(4 * (abs(v) + abs(v - w)) / abs(w)) + 2 for v, w in zip(xs, want)])
        out.append(compare("RC-18", "a step to sigma = 0 returns D", f"sample_{name}", got, want, dtype="float64",
                           bound_u=bnd, dps=ctx.dps,
                           how="x + (x - D)/sigma (0 - sigma) = D: 4u (|x| + |x - D|)/|D| + 2u (Euler form cancels)"))
    return out


# ------------------------------------------------------------------ external.py (RC-16, RC-02)
def check_external(external, ctx: RunContext) -> list[Result]:
    import torch

    out = []
    vd = external.VDenoiser(torch.nn.Identity())
    sig = np.geomspace(0.01, 100, 9)
    got = [vd.get_scalings(torch.tensor(s, dtype=torch.float64)) for s in sig]
    names = ("c_skip", "c_out", "c_in")
    for i, nm in enumerate(names):
        want = [st.edm_scalings(_mp(s), mpmath.mpf(1), v_pred=True)[[0, 1, 2][i]] for s in sig]
        out.append(compare("RC-16", f"VDenoiser {nm}", "sigma_data = 1, sigma in [0.01, 100], float64",
                           [float(g[i]) for g in got], want, dtype="float64", bound_u=8.0, dps=ctx.dps,
                           how="closed form (c_out negated for v): 8u"))
    ts = vd.sigma_to_t(torch.tensor(sig, dtype=torch.float64))
    back = vd.t_to_sigma(ts)
    want = [2 / mpmath.pi * mpmath.atan(_mp(s)) for s in sig]
    out.append(compare("RC-16", "VDenoiser sigma_to_t = (2/pi) atan sigma", "float64", ts, want,
                       dtype="float64", bound_u=4.0, dps=ctx.dps, how="atan and a product: 4u"))
    out.append(compare("RC-16", "t_to_sigma(sigma_to_t(sigma)) = sigma", "float64", back, [_mp(s) for s in sig],
                       dtype="float64", bound_u=np.array([4 + 4 * float(1 + s * s) * float(mpmath.atan(s)) / s for s in sig]),
                       dps=ctx.dps, how="tan(pi t/2) amplifies the 4u of t by (1 + sigma^2) atan(sigma)/sigma"))
    # DiscreteEpsDDPMDenoiser: sigma grid sqrt((1 - ab)/ab) of the float32 table it is given
    tab = ex.tables(ex.betas("linear", 1000, dps=ctx.dps), ctx.dps)["alphas_cumprod"]
    ab32 = torch.tensor([float(a) for a in tab], dtype=torch.float32)
    den = external.DiscreteEpsDDPMDenoiser(torch.nn.Identity(), ab32, quantize=False)
    with workdps(ctx.dps):
        want = [mpmath.sqrt((1 - _mp(a)) / _mp(a)) for a in ab32]
    out.append(compare("RC-02", "DiscreteEpsDDPMDenoiser sigmas", "linear T=1000 float32 alpha_bar (inputs exact)",
                       den.sigmas, want, dtype="float32", bound_u=4.0, dps=ctx.dps,
                       how="1 - ab, a division and a sqrt at exact inputs: 4u"))
    return out


def cross_check_diffusers(sampling, ctx: RunContext) -> list[Result]:
    """RC-17 (a): diffusers' Euler and sample_euler on one float32 Karras grid against the exact
    Euler recurrence on that grid (skipped when diffusers is not installed)."""
    try:
        import diffusers  # noqa: F401
    except ImportError:
        return []
    import torch

    from proofs_check.interop.ode import MU, S2, SIGMA_MAX, SIGMA_MIN, denoiser

    N = 16
    sig = sampling.get_sigmas_karras(N, SIGMA_MIN, SIGMA_MAX, rho=7.0)[:-1]  # float32, no final 0
    x0 = torch.tensor(ctx.rng.standard_normal(8) * SIGMA_MAX + MU, dtype=torch.float32)
    model = lambda x, sigma, **kw: denoiser(x.double(), torch.as_tensor(sigma).double()).to(x.dtype)
    kd = sampling.sample_euler(model, x0.clone(), sig, disable=True)
    sch = diffusers.EulerDiscreteScheduler(prediction_type="sample")
    sch.set_timesteps(sigmas=[float(s) for s in sig])
    x = x0.clone()
    for k in range(len(sig) - 1):
        sch.scale_model_input(x, sch.timesteps[k])
        x = sch.step(model(x, sch.sigmas[k]), sch.timesteps[k], x).prev_sample
    grid = [_mp(s) for s in sig]
    vals, bounds = [], []
    with workdps(ctx.dps):
        mu, s2 = mpmath.mpf(MU), mpmath.mpf(S2)
        for v in x0:
            y = _mp(v)
            biggest = abs(y)
            for a, b in zip(grid, grid[1:]):
                y = y + (y - (s2 * y + a * a * mu) / (s2 + a * a)) / a * (b - a)
                biggest = max(biggest, abs(y))
            vals.append(y)
            bounds.append(float(12 * (len(grid) - 1) * biggest / abs(y)))
    how = "the Euler recurrence in float32: 12u per step of the largest state, errors add (the map contracts)"
    return [compare("RC-17", "sample_euler on a float32 Karras grid", f"k-diffusion, N={len(sig) - 1}", kd, vals,
                    dtype="float32", bound_u=np.array(bounds), dps=ctx.dps, how=how),
            compare("RC-17", "diffusers EulerDiscreteScheduler on the same grid", f"set_timesteps(sigmas=...), N={len(sig) - 1}",
                    x, vals, dtype="float32", bound_u=np.array(bounds), dps=ctx.dps, how=how)]


def check(path=None, dps: int = 50, seed: int = 0, quiet: bool = True) -> Report:
    pkg_dir = find_package(path)
    mods = load(pkg_dir)
    ctx = RunContext(dps=dps, seed=seed, quiet=quiet)
    from proofs_check.interop import ode

    results: list[Result] = []
    parts = [lambda c: check_sigmas(mods["sampling"], c), lambda c: check_ancestral(mods["sampling"], c),
             lambda c: check_steps(mods["sampling"], c), lambda c: check_external(mods["external"], c),
             lambda c: ode.check_kdiffusion(mods["sampling"], c), lambda c: cross_check_diffusers(mods["sampling"], c)]
    for part in parts:
        try:
            results += part(ctx)
        except InvalidParameter:
            raise
        except Exception as exc:
            results.append(error_result("-", "check", "k-diffusion", exc))
    try:
        from importlib import metadata

        version = metadata.version("k-diffusion") if path is None else "checkout"
    except Exception:
        version = "unknown"
    return Report("k-diffusion", f"k-diffusion {version}", results, ctx.elapsed(), loaded_from=str(pkg_dir))
