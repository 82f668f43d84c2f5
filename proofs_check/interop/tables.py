"""Schedule tables of any codebase against the exact tables (RC-01 to RC-06, RC-11).

:func:`check_tables` takes named arrays (whatever a target exposes: ``alphas_cumprod``,
``posterior_variance``, ...), the exact betas of the schedule they claim to implement, and the
target's dtype, and returns one :class:`~proofs_check.interop.common.Result` per array.  It is
shared by the ``arrays``, ``diffusers`` and ``openai`` adapters and by the pytest helper.
"""

from __future__ import annotations

import numpy as np

from proofs_check.interop import exact as ex
from proofs_check.interop.common import (FAIL, PASS, WARN, Result, compare, exact_list,
                                         to_float64, unit_roundoff)
from proofs_check.interop.tolerances import (BETA_HOW, beta_bound, log_bound, table_bounds,
                                             zero_snr_beta_bound)

#: The tables a target may expose, with the reference check that covers each.
TABLE_CHECKS = {
    "betas": "schedule", "alphas": "schedule", "alphas_cumprod": "schedule",
    "alphas_cumprod_prev": "schedule", "alphas_cumprod_next": "schedule",
    "sqrt_alphas_cumprod": "schedule", "sqrt_one_minus_alphas_cumprod": "schedule",
    "sqrt_recip_alphas_cumprod": "schedule", "sqrt_recipm1_alphas_cumprod": "schedule",
    "sigmas": "RC-02",
    "posterior_variance": "RC-05", "posterior_log_variance_clipped": "RC-05",
    "posterior_mean_coef1": "RC-06", "posterior_mean_coef2": "RC-06",
}
#: The floor diffusers applies to the t = 0 posterior variance (reference_targets.md 3.2).
DIFFUSERS_VARIANCE_FLOOR = 1e-20


def schedule_check_id(schedule: str, zero_snr: bool = False) -> str:
    if zero_snr:
        return "RC-04"
    return {"scaled_linear": "RC-02", "cosine": "RC-03"}.get(schedule, "RC-01")


def check_tables(arrays: dict, exs: "ExactSchedule", *, dtype: str, where: str) -> list[Result]:
    """One result per array in ``arrays`` that has an exact counterpart in ``exs``."""
    tabs, bounds, T = exs.tabs, exs.bounds, exs.T
    sched_id = schedule_check_id(exs.schedule, exs.zero_snr)
    results = []
    beta_rule = BETA_HOW.get(exs.schedule, "") + ("; zero-SNR rescale in the dtype" if exs.zero_snr else "")
    for name, got in arrays.items():
        if name not in TABLE_CHECKS:
            continue
        cid = TABLE_CHECKS[name]
        cid = sched_id if cid == "schedule" else cid
        g = to_float64(got)
        if g.size != T:
            results.append(Result(cid, name, where, None, None, None, None, FAIL,
                                  f"length {g.size}, expected T = {T}"))
            continue
        if name == "posterior_log_variance_clipped":
            results += _log_variance(g, tabs, bounds, dtype, where, exs.dps)
            continue
        if name == "posterior_variance":
            results += _posterior_variance(g, tabs, bounds, dtype, where, exs.dps)
            continue
        bound, how = bounds[name]
        how = f"{dtype}: {how}; {beta_rule}"
        floor = 0.0
        if exs.zero_snr and name in ("alphas_cumprod", "alphas_cumprod_next", "sqrt_alphas_cumprod"):
            floor = 1.0  # alpha_bar_{T-1} = 0 exactly: measure against the table's scale 1
        results.append(compare(cid, name, where, g, tabs[name], dtype=dtype,
                               bound_u=_finite(bound), how=how, floor=floor, dps=exs.dps))
    return results


def _finite(b):
    b = np.asarray(b, dtype=np.float64)
    return np.where(np.isfinite(b), b, 1e300)


def _posterior_variance(g, tabs, bounds, dtype, where, dps) -> list[Result]:
    bound, how = bounds["posterior_variance"]
    out = [compare("RC-05", "posterior_variance[1:]", where, g[1:], tabs["posterior_variance"][1:],
                   dtype=dtype, bound_u=_finite(bound[1:]), how=f"{dtype}: {how}", dps=dps)]
    v0 = float(g[0])
    if v0 == 0.0:
        out.append(Result("RC-05", "posterior_variance[0]", where, 0.0, 0.0, 0, 0.0, PASS,
                          "beta_tilde_0 = beta_0 (1 - alpha_bar_{-1})/(1 - alpha_bar_0) = 0 exactly"))
    elif abs(v0 - DIFFUSERS_VARIANCE_FLOOR) <= DIFFUSERS_VARIANCE_FLOOR * 1e-6:
        out.append(Result("RC-05", "posterior_variance[0]", where, None, None, 0, 0.0, WARN,
                          "convention: beta_tilde_0 = 0 exactly, floored at 1e-20 (diffusers) "
                          "so that its log is finite"))
    else:
        out.append(Result("RC-05", "posterior_variance[0]", where, None, None, 0, 0.0, FAIL,
                          f"beta_tilde_0 = 0 exactly (alpha_bar_{{-1}} = 1), got {v0:.9g}: "
                          "not 0 and not a documented floor"))
    return out


def _log_variance(g, tabs, bounds, dtype, where, dps) -> list[Result]:
    e_bt, how = bounds["posterior_variance"]
    logs = tabs["posterior_log_variance"]
    exact_logs = np.array([float(x) for x in logs])
    b = log_bound(e_bt, exact_logs)
    out = [compare("RC-05", "posterior_log_variance_clipped[1:]", where, g[1:], logs[1:],
                   dtype=dtype, bound_u=_finite(b[1:]), floor=1.0,
                   how=f"{dtype}: log of beta_tilde with ({how}): abs err <= e u", dps=dps)]
    # t = 0: log beta_tilde_0 = -inf; section 8 conventions: log beta_tilde_1 (iDDPM, ADM,
    # diffusion_utils_2) or log(1e-20) (diffusers' floor)
    v0 = float(g[0])
    tol0 = float(b[1]) * unit_roundoff(dtype) * max(abs(exact_logs[1]), 1) if len(g) > 1 else 0.0
    if len(g) > 1 and abs(v0 - exact_logs[1]) <= max(tol0, 1e-12):
        out.append(Result("RC-05", "posterior_log_variance_clipped[0]", where, None, None, 0, tol0,
                          WARN, "convention: log beta_tilde_0 = -inf exactly; replaced by "
                          "log beta_tilde_1 (iDDPM/ADM clipping, Ho et al. diffusion_utils_2)"))
    elif abs(v0 - float(np.log(DIFFUSERS_VARIANCE_FLOOR))) <= 1e-5:
        out.append(Result("RC-05", "posterior_log_variance_clipped[0]", where, None, None, 0, 1e-5,
                          WARN, "convention: log beta_tilde_0 = -inf exactly; floored at "
                          "log(1e-20) = -46.05 (diffusers, Ho et al. diffusion_utils)"))
    else:
        out.append(Result("RC-05", "posterior_log_variance_clipped[0]", where, None, None, 0, None,
                          FAIL, f"log beta_tilde_0 = -inf exactly; got {v0:.9g}, neither "
                          f"log beta_tilde_1 = {exact_logs[1]:.9g} nor log(1e-20)"))
    return out


def check_timesteps(got, spacing: str, T: int, N: int, steps_offset: int, where: str,
                    float_formula=None) -> Result:
    """RC-11: a timestep list against the exact integer rule; a tie broken differently by the
    float64 formula is a WARN when ``float_formula`` (the documented float computation) agrees."""
    want = ex.timesteps(spacing, T, N, steps_offset)
    how = f"{spacing} spacing, T={T}, N={N}, offset={steps_offset}: exact integers (round half to even)"
    res = exact_list("RC-11", "timesteps", where, got, want, how)
    if res.status == FAIL and float_formula is not None:
        faithful = list(float_formula)
        if [int(v) for v in to_float64(got)] == [int(v) for v in faithful]:
            res.status = WARN
            res.explanation = ("convention: the float64 spacing formula rounds a tie or a "
                               "non-representable stride differently from exact arithmetic; "
                               + res.explanation)
    return res


class ExactSchedule:
    """The exact tables of one schedule plus the first-order bounds of its pipeline in a dtype.

    ``beta``/``tabs``: mpf lists (``tabs`` keyed by codebase attribute names); ``ab``: alpha_bar
    rounded to float64 (for choosing points and scales, never as a reference); ``E``: the
    relative error bound of alpha_bar_t in units of u; ``bounds``: every table's bound.
    ``float64_betas``: the target evaluates beta in float64 and casts once (diffusers' cosine).
    """

    def __init__(self, schedule: str, T: int, beta_start="0.0001", beta_end="0.02", zero_snr: bool = False,
                 dps: int = 50, float64_betas: bool = False, given=None):
        self.schedule, self.T, self.zero_snr, self.dps = schedule, T, zero_snr, dps
        raw = ex.betas(schedule, T, beta_start, beta_end, dps=dps, given=given)
        raw_f = np.array([float(b) for b in raw])
        e_beta = beta_bound(schedule, raw_f, computed_in_float64=float64_betas)
        if zero_snr:
            self.beta = ex.rescale_zero_snr(raw, dps)
            e_beta = zero_snr_beta_bound(raw_f, e_beta)
        else:
            self.beta = raw
        self.tabs = ex.tables(self.beta, dps)
        beta_f = np.array([float(b) for b in self.beta])
        self.bounds = table_bounds(beta_f, e_beta)
        self.E = np.asarray(self.bounds["alphas_cumprod"][0], dtype=np.float64)
        self.ab = np.array([float(a) for a in self.tabs["alphas_cumprod"]])

    @classmethod
    def from_betas(cls, beta_mp: list, e_beta: np.ndarray, dps: int = 50,
                   schedule: str = "given") -> "ExactSchedule":
        """A chain given by exact betas with a known error bound of the target's betas
        (e.g. a respaced chain, beta'_k = 1 - alpha_bar_{t_k}/alpha_bar_{t_{k-1}})."""
        self = cls.__new__(cls)
        self.schedule, self.T, self.zero_snr, self.dps = schedule, len(beta_mp), False, dps
        self.beta = list(beta_mp)
        self.tabs = ex.tables(self.beta, dps)
        self.bounds = table_bounds(np.array([float(b) for b in self.beta]), np.asarray(e_beta, dtype=float))
        self.E = np.asarray(self.bounds["alphas_cumprod"][0], dtype=np.float64)
        self.ab = np.array([float(a) for a in self.tabs["alphas_cumprod"]])
        return self

    def alpha_bar(self, t: int):
        """Exact alpha_bar_t (mpf); t = -1 gives 1."""
        return self.tabs["alphas_cumprod"][t] if t >= 0 else 1

    def err(self, t: int) -> float:
        return float(self.E[t]) if t >= 0 else 0.0


_CACHE: dict = {}


def exact_cached(schedule: str, T: int, beta_start="0.0001", beta_end="0.02", *,
                 zero_snr: bool = False, dps: int = 50, float64_betas: bool = False) -> ExactSchedule:
    key = (schedule, T, str(beta_start), str(beta_end), zero_snr, dps, float64_betas)
    if key not in _CACHE:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = ExactSchedule(schedule, T, beta_start, beta_end, zero_snr, dps, float64_betas)
    return _CACHE[key]
