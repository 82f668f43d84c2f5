"""First-order error bounds (in units of the target dtype's unit roundoff u) for schedule tables.

Standard forward error analysis (Higham, *Accuracy and Stability of Numerical Algorithms*,
ch. 3): each elementary operation rounds once, with relative error at most u; a product of n
rounded factors has relative error at most (sum of the factors' errors) + (n-1)u; x -> 1 - x has
condition number |x/(1-x)|; sqrt halves a relative error; log turns a relative error e into an
absolute one.  Bounds are per index, from the *exact* values (so they never depend on what the
target produced), and every bound comes with the one-line derivation printed in reports.
"""

from __future__ import annotations

import numpy as np

#: Per-schedule relative error of beta_i (units of u) when evaluated in the target's dtype:
#:   linear / scaled_linear: linspace from either end (a rounded step, a product, a sum) gives
#:   at most (1 + 3 max(beta)/beta_i)u, squared for scaled_linear; cosine: 1 - f(u2)/f(u1) by
#:   3 roundings amplified by the cancellation (1-beta)/beta; sigmoid: 12/(T-1) grid x up to 6,
#:   logistic with sensitivity |x| <= 6 on an argument with 3 roundings, then 2 more.
BETA_HOW = {
    "linear": "beta by linspace: (1 + 3 max beta / beta)u",
    "openai_linear": "beta by linspace: (1 + 3 max beta / beta)u",
    "scaled_linear": "beta = r^2, r by linspace: 2(1 + 3 max r / r)u + u",
    "cosine": "beta = 1 - f(u2)/f(u1), f = cos^2(theta): e_f = 6 theta tan(theta) + 3 "
              "(cos near pi/2), beta: (e_f1 + e_f2 + 2)(1-beta)/beta + u",
    "sigmoid": "beta = b0 + (b1-b0) logistic(x): (6*3 + 6)u",
    "given": "betas given: one rounding to the dtype",
}


def beta_bound(schedule: str, beta: np.ndarray, computed_in_float64: bool = False) -> np.ndarray:
    """Relative error bound of beta_i in units of the target's u.

    ``computed_in_float64``: the target evaluates the formula in float64 and casts to float32
    once (diffusers' cosine, OpenAI's float64 tables judged at float64 are the plain case), so the
    bound is one rounding plus the float64 error measured in float32 units (negligible).
    """
    b = np.asarray(beta, dtype=np.float64)
    if computed_in_float64 or schedule == "given":
        return np.full_like(b, 1.0 + 1e-6)
    if schedule in ("linear", "openai_linear"):
        return 1.0 + 3.0 * b.max() / b
    if schedule == "scaled_linear":
        r = np.sqrt(b)
        return 2.0 * (1.0 + 3.0 * r.max() / r) + 1.0
    if schedule == "cosine":
        T = len(b)
        u = np.arange(T + 1) / T
        theta = (u + 0.008) / 1.008 * np.pi / 2
        e_f = 6.0 * theta * np.abs(np.tan(theta)) + 3.0  # 3 roundings in theta, cos cond theta tan theta, squared
        capped = b >= 0.999 * (1 - 1e-12)
        e = (e_f[1:] + e_f[:-1] + 2.0) * (1.0 - b) / b + 1.0
        return np.where(capped, 1.0, e)
    if schedule == "sigmoid":
        return np.full_like(b, 24.0)
    return np.full_like(b, 4.0)


def zero_snr_beta_bound(beta: np.ndarray, e_beta: np.ndarray) -> np.ndarray:
    """Relative error bound (units of u) of the betas after Lin et al.'s rescale evaluated in the
    target's dtype: r = sqrt(alpha_bar) (E/2 + 1), r - r_{T-1} and r_0 - r_{T-1} (cancellation,
    cond r/(r - r_{T-1})), the product and square, then beta' = 1 - alpha_bar'_t/alpha_bar'_{t-1}
    whose cancellation multiplies by (1 - beta')/beta'.  ``beta``: the *original* exact betas."""
    b = np.asarray(beta, dtype=np.float64)
    E = table_bounds(b, e_beta)["alphas_cumprod"][0]
    ab = np.cumprod(1.0 - b)
    r = np.sqrt(ab)
    e_r = E / 2 + 1
    rT, r0 = r[-1], r[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        e_d = np.where(r > rT, (e_r * r + e_r[-1] * rT) / (r - rT) + 1, 0.0)
        e_s = e_r[0] + (e_r[0] * r0 + e_r[-1] * rT) / (r0 - rT) + 2
        e_ab2 = 2 * (e_d + e_s + 1) + 1
        ab2 = ((r - rT) * r0 / (r0 - rT)) ** 2
        beta2 = np.concatenate([[1 - ab2[0]], 1 - ab2[1:] / ab2[:-1]])
        ratio = np.where(beta2 > 0, (1 - beta2) / beta2, 0.0)
        e_b2 = np.concatenate([[e_ab2[0] * ab2[0] / (1 - ab2[0]) + 1],
                               (e_ab2[1:] + e_ab2[:-1] + 1) * ratio[1:] + 1])
    e_b2[-1] = 1.0  # beta'_{T-1} = 1 - 0/alpha_bar'_{T-2} = 1 exactly
    return e_b2


def table_bounds(beta: np.ndarray, e_beta: np.ndarray) -> dict:
    """Bounds (units of u) and one-line derivations of every table derived from beta.

    ``beta``: the exact betas as float64; ``e_beta``: beta's relative error bound (units of u).
    Where a target re-derives beta_t as 1 - alpha_bar_t/alpha_bar_{t-1} (diffusers does inside
    ``step``), the cancellation costs (E_t + E_{t-1} + 1) alpha/beta; the bound used for the
    tables built from beta is the larger of the two routes, so either documented route passes.
    """
    b = np.asarray(beta, dtype=np.float64)
    T = len(b)
    a = 1.0 - b
    ab = np.cumprod(a)
    e_a = 1.0 + b * e_beta / np.where(a > 0, a, np.inf)        # 1 - beta: cond beta/(1-beta)
    E = np.cumsum(e_a) + np.arange(T)                           # t+1 factors, t products
    E_prev = np.concatenate([[0.0], E[:-1]])
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        c1m = np.where(ab < 1, ab / (1.0 - ab), 0.0)           # cond of 1 - alpha_bar
        c1m_prev = np.where(ab_prev < 1, ab_prev / (1.0 - ab_prev), 0.0)
        e_1m = E * c1m + 1.0                                    # 1 - alpha_bar_t
        e_1m_prev = np.where(ab_prev < 1, E_prev * c1m_prev + 1.0, 0.0)
        e_beta_eff = np.maximum(e_beta, (E + E_prev + 1.0) * a / np.where(b > 0, b, np.inf) + 1.0)
        e_bt = e_beta_eff + e_1m_prev + e_1m + 2.0
        out = {
            "betas": (e_beta, "see beta rule"),
            "alphas": (e_a, "1 - beta: u + (beta/(1-beta)) e_beta"),
            "alphas_cumprod": (E, "cumprod of t+1 rounded factors: sum of factor errors + t u"),
            "alphas_cumprod_prev": (E_prev, "alpha_bar shifted by one"),
            "alphas_cumprod_next": (np.concatenate([E[1:], [0.0]]), "alpha_bar shifted by one"),
            "sqrt_alphas_cumprod": (E / 2 + 1, "sqrt: E/2 + u"),
            "sqrt_one_minus_alphas_cumprod": (e_1m / 2 + 1,
                                              "1 - alpha_bar has cond alpha_bar/(1-alpha_bar); sqrt halves"),
            "sqrt_recip_alphas_cumprod": (E / 2 + 2, "1/sqrt: E/2 + 2u"),
            "sqrt_recipm1_alphas_cumprod": (((E + 1) / np.where(ab < 1, 1 - ab, np.inf) + 1) / 2 + 1,
                                            "1/alpha_bar - 1 has cond 1/(1-alpha_bar); sqrt halves"),
            "sigmas": ((E + e_1m + 2) / 2 + 1 + ((E + 1) / np.where(ab < 1, 1 - ab, np.inf)) / 2,
                       "sqrt((1-alpha_bar)/alpha_bar), either association: cond 1/(1-alpha_bar), halved"),
            "posterior_variance": (e_bt, "beta (direct or 1 - ratio) * (1-alpha_bar_prev)/(1-alpha_bar): sum of the three + 2u"),
            "posterior_mean_coef1": (e_beta_eff + E_prev / 2 + e_1m + 3,
                                     "beta sqrt(alpha_bar_prev)/(1-alpha_bar): sum of errors + 3u"),
            "posterior_mean_coef2": (e_1m_prev + e_a / 2 + e_1m + 3,
                                     "(1-alpha_bar_prev) sqrt(alpha)/(1-alpha_bar): sum of errors + 3u"),
        }
    return out


def log_bound(e_arg: np.ndarray, exact_log: np.ndarray) -> np.ndarray:
    """Relative error bound of log(x) (floor 1) when x has relative error e_arg (units of u):
    |d log| <= e_arg u absolute, plus one rounding of the log."""
    return np.asarray(e_arg) / np.maximum(np.abs(exact_log), 1.0) + 1.0
