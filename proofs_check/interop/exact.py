"""Exact reference values for the interop checks, as mpmath numbers or exact integers.

Schedules and tables come from :mod:`numerics.schedules` (the suite's exact tables); this module
only adapts them to the shapes the adapters compare (lists of mpf at ``dps`` digits) and adds the
few quantities the adapters need that are not tables of a schedule: the exact PF-ODE flow and
denoiser of Gaussian data and the Gaussian KL (the single-step formulas are in ``steps.py``).
Every value is computed from exact inputs (decimal strings, integers, fractions) or from the
float inputs a target was given (converted exactly), at ``dps`` digits plus guard digits.
"""

from __future__ import annotations

from typing import Sequence

import mpmath

from numerics import schedules as ns
from numerics.errors import InvalidParameter
from numerics.precision import mpf_exact, mpf_from_float, workdps

#: Guard digits added inside every exact computation (a product of 1000 factors loses < 4).
GUARD = 10
#: The cap on beta of the ratio-rule schedules (Nichol & Dhariwal 2021, eq. 17).
MAX_BETA = "0.999"

SCHEDULES = ("linear", "scaled_linear", "cosine", "sigmoid", "openai_linear", "given")

#: numerics.schedules column name -> the attribute names codebases use for the same table.
COLUMN_NAMES = {
    "betas": "beta", "alphas": "alpha", "alphas_cumprod": "alpha_bar",
    "alphas_cumprod_prev": "alpha_bar_prev", "alphas_cumprod_next": "alpha_bar_next",
    "sqrt_alphas_cumprod": "sqrt_alpha_bar", "sqrt_one_minus_alphas_cumprod": "sqrt_one_minus_alpha_bar",
    "sqrt_recip_alphas_cumprod": "sqrt_recip_alpha_bar", "sqrt_recipm1_alphas_cumprod": "sigma",
    "sigmas": "sigma", "posterior_variance": "beta_tilde",
    "posterior_mean_coef1": "posterior_mean_coef1", "posterior_mean_coef2": "posterior_mean_coef2",
    "one_minus_alphas_cumprod": "one_minus_alpha_bar", "lambda": "lambda",
}


def num_text(x) -> object:
    """A schedule parameter as numerics.schedules accepts it: floats (a target's config values)
    become their shortest decimal repr, which is the decimal the user typed."""
    if isinstance(x, float):
        return repr(x)
    return x


def betas(schedule: str, T: int, beta_start="0.0001", beta_end="0.02", *, dps: int = 50,
          given: Sequence | None = None, max_beta=MAX_BETA) -> list:
    """Exact beta_i, i = 0..T-1, of a named schedule (reference_targets.md 3.1 and 4)."""
    if schedule not in SCHEDULES:
        raise InvalidParameter("schedule", schedule, "one of " + ", ".join(SCHEDULES))
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise InvalidParameter("T", T, "an integer >= 1")
    if schedule == "given":
        if given is None or len(given) != T:
            raise InvalidParameter("betas", given, f"{T} given betas")
        with workdps(dps + GUARD):
            return [mpf_from_float(b) if isinstance(b, float) else mpf_exact(b) for b in given]
    name = {"openai_linear": "linear", "cosine": "squaredcos_cap_v2"}.get(schedule, schedule)
    return list(ns.beta_schedule(name, T, beta_start=num_text(beta_start),
                                 beta_end=num_text(beta_end), openai_scale=schedule == "openai_linear",
                                 max_beta=num_text(max_beta), dps=dps + GUARD))


def alpha_bar(beta: Sequence, dps: int = 50) -> list:
    """alpha_bar_t = prod_{s<=t} (1 - beta_s)."""
    return list(tables(beta, dps)["alphas_cumprod"])


def rescale_zero_snr(beta: Sequence, dps: int = 50) -> list:
    """Lin et al. 2023, Alg. 1 (numerics.schedules.rescale_zero_terminal_snr)."""
    return list(ns.rescale_zero_terminal_snr(list(beta), dps=dps + GUARD))


def tables(beta: Sequence, dps: int = 50) -> dict:
    """Every per-timestep table of a chain with the given exact betas (code index t = 0..T-1),
    under the attribute names codebases use.  beta_tilde_0 = 0 exactly (alpha_bar_{-1} = 1), so
    ``posterior_log_variance`` is -inf at t = 0; the section 8 conventions are handled by callers.
    """
    beta = list(beta)
    zero_terminal = bool(beta) and beta[-1] == 1
    tab = ns.table_from_betas(beta, allow_terminal_one=zero_terminal, dps=dps + GUARD)
    out = {name: list(tab[col]) for name, col in COLUMN_NAMES.items()}
    with workdps(dps + GUARD):
        out["posterior_log_variance"] = [mpmath.log(b) if b > 0 else mpmath.ninf
                                         for b in out["posterior_variance"]]
    return out


def timesteps(spacing: str, T: int, N: int, steps_offset: int = 0) -> list[int]:
    """The exact descending timestep list of a spacing rule (numerics.schedules.timesteps):
    leading, trailing, linspace, dpmsolver_leading, dpmsolver_linspace; round half to even
    applied to the exact rational (numpy applies it to a float64 approximation)."""
    return list(ns.timesteps(spacing, T, N, steps_offset=steps_offset))


def karras_sigmas(n: int, sigma_min, sigma_max, rho="7", dps: int = 50) -> list:
    """sigma_k = (smax^(1/rho) + k/(n-1) (smin^(1/rho) - smax^(1/rho)))^rho, k = 0..n-1;
    float endpoints (a target's own) are taken at their exact binary value."""
    lo = mpf_from_float(sigma_min) if isinstance(sigma_min, float) else sigma_min
    hi = mpf_from_float(sigma_max) if isinstance(sigma_max, float) else sigma_max
    with workdps(dps + GUARD):
        return list(ns.karras_sigmas(n, lo, hi, num_text(rho), append_zero=False, dps=dps + GUARD))


# ------------------------------------------------------------------------------ Gaussian flows
def gaussian_denoiser(x, sigma, mu, s2):
    """Exact D(x, sigma) = E[x0 | x] for x0 ~ N(mu, s2), x = x0 + sigma*eps (VE)."""
    return (s2 * x + sigma ** 2 * mu) / (s2 + sigma ** 2)


def gaussian_flow(x_start, sigma_start, sigma_end, mu, s2):
    """Exact PF-ODE solution: x(sigma) = mu + (x - mu) sqrt(s2 + sigma^2) / sqrt(s2 + sigma_0^2)."""
    return mu + (x_start - mu) * mpmath.sqrt(s2 + sigma_end ** 2) / mpmath.sqrt(s2 + sigma_start ** 2)


def normal_kl(m1, v1, m2, v2):
    """KL(N(m1, v1) || N(m2, v2)) with variances, at the current precision."""
    return (mpmath.log(v2 / v1) + v1 / v2 + (m1 - m2) ** 2 / v2 - 1) / 2
