"""RC-25: score_sde's ``likelihood.get_likelihood_fn`` on Gaussian data with its exact score.

Data x ~ N(mu, s^2 I) in D = 4 dimensions and a network that returns the exact score of the
noised data (for VP/sub-VP in score_sde's noise-prediction convention, -score std at label
999 t; for VE the score at label sigma_t).  Then every marginal is Gaussian, p_t = N(a_t mu,
v_t I), and the probability-flow ODE is affine: z_t = a_t mu + (x - a_eps mu) sqrt(v_t/v_eps),
so its log-determinant is (D/2) log(v_T/v_eps) and the Rademacher Hutchinson estimate of the
divergence (of a multiple of the identity) is exact.  The reference is therefore closed-form:

    bpd = -(prior_logp(z_T) + (D/2) log(v_T/v_eps)) / (D ln 2) + 7 - inverse_scaler(-1),

from eps = 1e-5 (not corrected to 0, as documented), with the SDE's own prior (N(0, I) for VP,
N(0, sigma_max^2 I) for VE).  Tolerance: the ODE solver's rtol = atol = 1e-5 (times 10 for its
global error; measured on this problem: 4e-7 relative for VP, 2.5e-6 for VE) through
L = prior_logp(z_T) + delta_logp; the offset is checked separately for
centred ([-1, 1], offset 7) and [0, 1] data (offset 8).
"""

from __future__ import annotations

import importlib

import mpmath
import numpy as np

from numerics.precision import mpf_exact, mpf_from_float, workdps
from proofs_check.interop.common import WARN, Result, RunContext, compare, error_result, prop

MU, S = "0.1", "0.5"                      # the data's mean and standard deviation
RTOL = ATOL = 1e-5                        # get_likelihood_fn's defaults
GLOBAL = 10                               # global error / local tolerance allowed for RK45
EPS = mpf_exact("1e-5")


def _params(cls: str, t):
    """(a_t, v_t) of the data noised to time t."""
    s2 = mpf_exact(S) ** 2
    if cls == "VESDE":
        sig = mpf_exact("0.01") * (mpf_exact("50") / mpf_exact("0.01")) ** t
        return mpmath.mpf(1), s2 + sig ** 2
    b0, b1 = mpf_exact("0.1"), mpf_exact("20")
    a = mpmath.exp(-t * t * (b1 - b0) / 4 - t * b0 / 2)
    return a, a * a * s2 + 1 - a * a


def _model(cls: str):
    """The exact network of Gaussian data, in float64 inside and float32 out."""
    import torch

    mu, s2 = float(MU), float(S) ** 2

    def model(x, labels):
        lab = labels.double().view(-1, *([1] * (x.dim() - 1)))
        xd = x.double()
        if cls == "VESDE":
            return (-(xd - mu) / (s2 + lab ** 2)).float()
        t = lab / 999
        a = torch.exp(-0.25 * t ** 2 * (20 - 0.1) - 0.5 * t * 0.1)
        std = torch.sqrt(1 - a ** 2)
        return ((xd - a * mu) / (a ** 2 * s2 + std ** 2) * std).float()
    return model


def check_likelihood(sde_lib, ctx: RunContext) -> list[Result]:
    import torch

    try:
        likelihood = importlib.import_module("likelihood")
    except Exception as exc:                  # scipy, models.utils, or no likelihood.py at all
        return [prop("RC-25", "likelihood_fn", "score_sde likelihood.py", False,
                     f"not checked: likelihood.py is not importable ({type(exc).__name__}: {exc})",
                     status_if_bad=WARN)]
    x = torch.tensor(float(MU) + float(S) * ctx.rng.standard_normal((3, 1, 2, 2)), dtype=torch.float32)
    xs = [[mpf_from_float(float(v)) for v in row] for row in x.double().reshape(3, -1)]
    D = 4
    out = []
    cases = (("VPSDE", "data in [-1, 1]: inverse_scaler(x) = (x + 1)/2", lambda v: (v + 1) / 2, 7),
             ("VPSDE", "data in [0, 1]: inverse_scaler(x) = x", lambda v: v, 8),
             ("VESDE", "data in [-1, 1]: inverse_scaler(x) = (x + 1)/2", lambda v: (v + 1) / 2, 7))
    state = torch.get_rng_state()
    try:
        for cls, scaler, inverse_scaler, offset in cases:
            where = f"{cls} Gaussian data N({MU}, {S}^2) in D = {D}, exact score, {scaler}"
            try:
                fn = likelihood.get_likelihood_fn(getattr(sde_lib, cls)(), inverse_scaler)
                torch.manual_seed(ctx.seed)
                bpd, _, nfe = fn(_model(cls), x)
            except Exception as exc:
                out.append(error_result("RC-25", "likelihood_fn bpd", where, exc))
                continue
            vals, bounds = [], []
            with workdps(ctx.dps):
                a_e, v_e = _params(cls, EPS)
                a_T, v_T = _params(cls, mpmath.mpf(1))
                var_prior = mpf_exact("50") ** 2 if cls == "VESDE" else mpmath.mpf(1)
                mu = mpf_exact(MU)
                for row in xs:
                    z = [a_T * mu + (v - a_e * mu) * mpmath.sqrt(v_T / v_e) for v in row]
                    q = mpmath.fsum(w * w for w in z)
                    prior = -mpmath.mpf(D) / 2 * mpmath.log(2 * mpmath.pi * var_prior) - q / (2 * var_prior)
                    dlogp = mpmath.mpf(D) / 2 * mpmath.log(v_T / v_e)
                    val = -(prior + dlogp) / (D * mpmath.log(2)) + offset
                    tol = GLOBAL * (RTOL * (q / var_prior + abs(dlogp) + D) + ATOL * (D + 1)) / (D * mpmath.log(2))
                    vals.append(val)
                    bounds.append(float(tol / abs(val)) / 2.0 ** -24)
            out.append(compare("RC-25", f"likelihood_fn bpd (offset {offset})", where, bpd, vals, dtype="float32",
                               bound_u=np.array(bounds), dps=ctx.dps,
                               how=f"closed form -(prior_logp(z_T) + (D/2) log(v_T/v_eps))/(D ln 2) + {offset}, from "
                                   f"eps = 1e-5; tolerance {GLOBAL} (rtol, atol = 1e-5) through it ({nfe} evaluations)"))
    finally:
        torch.set_rng_state(state)
    ctx.progress("score_sde likelihood")
    return out
