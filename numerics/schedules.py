"""Exact noise-schedule tables at any precision (mpmath), for checking diffusion codebases.

Main statements (notation of ``shared/reference_targets.md`` section 1; code index t = 0..T-1
is paper step t+1):

* beta schedules: ``linear`` b0 + (b1-b0) i/(T-1) (optionally OpenAI's 1000/T scale),
  ``scaled_linear`` (sqrt b0 + (sqrt b1 - sqrt b0) i/(T-1))^2, ``sigmoid``
  b0 + (b1-b0) logistic(-6 + 12 i/(T-1)), and the ratio rule
  beta_i = min(1 - f((i+1)/T)/f(i/T), max_beta) for ``squaredcos_cap_v2`` (alias ``cosine``,
  f(u) = cos^2(((u+0.008)/1.008) pi/2)), ``laplace`` and ``exp``; user-supplied betas;
* zero terminal SNR (Lin et al. 2023, Alg. 1): sqrt(alpha_bar) mapped affinely so that
  alpha_bar'_{T-1} = 0, alpha_bar'_0 = alpha_bar_0, hence beta'_{T-1} = 1;
* the table of a chain: alpha = 1 - beta, alpha_bar_t = prod_{s<=t} alpha_s, alpha_bar_{-1} = 1,
  beta_tilde_t = beta_t (1 - alpha_bar_{t-1})/(1 - alpha_bar_t), posterior mean coefficients
  coef1 = beta_t sqrt(alpha_bar_{t-1})/(1 - alpha_bar_t) (of x0) and
  coef2 = (1 - alpha_bar_{t-1}) sqrt(alpha_t)/(1 - alpha_bar_t) (of x_t),
  sigma = sqrt((1 - alpha_bar)/alpha_bar), log_snr = log(alpha_bar/(1 - alpha_bar)),
  lambda = -log sigma (DPM-Solver's log-SNR), and log beta_tilde under both t = 0 conventions;
* timestep tables (``leading``, ``trailing``, ``linspace`` and DPM-Solver's N+1-point variants)
  and OpenAI respacing ("N,M,..." and "ddimN"), in exact integer arithmetic with an explicit
  round-half-to-even (numpy's and Python's rule);
* DDIM sigma_t(eta) = eta sqrt((1-ab_prev)/(1-ab_t)) sqrt(1 - ab_t/ab_prev) (Song et al. 2021,
  eq. 16); Karras sigmas (Karras et al. 2022, eq. 5); EDM preconditioning
  (Karras et al. 2022, Table 1); VP / sub-VP / VE SDE marginals (Song et al. 2021b, eqs. 29-33).

Inputs are exact: ``int``, ``str`` ("0.0001", "1/3"), :class:`fractions.Fraction` or mpmath
numbers.  A Python float is refused for a schedule *parameter* (0.0001 as a float is not 1e-4);
user-supplied beta / alpha_bar arrays may be floats, taken at their exact binary value, because
there the float is the object under test.  Every function takes ``dps`` (default 50); results
are mpmath numbers rounded to ``dps`` digits, computed with ``GUARD`` extra digits, and
:func:`to_float64` rounds them to nearest float64.

References: Ho et al. 2020 (DDPM); Nichol & Dhariwal 2021 (improved DDPM, cosine schedule,
respacing); Song et al. 2021 (DDIM); Song et al. 2021b (score SDEs); Karras et al. 2022 (EDM);
Lin et al. 2023 (common diffusion noise schedules are flawed).
"""

from __future__ import annotations

import numbers
from fractions import Fraction
from typing import Callable, Iterable, Mapping, Sequence

import mpmath
import numpy as np

from numerics.errors import InvalidParameter
from numerics.precision import DEFAULT_DPS, MAX_DPS, check_dps, mpf_exact, mpf_from_float, workdps

__all__ = [
    "BETA_SCHEDULES",
    "GUARD",
    "MAX_T",
    "SDE_KINDS",
    "SPACINGS",
    "TABLE_COLUMNS",
    "ScheduleTable",
    "alpha_bar_function",
    "beta_schedule",
    "betas_for_alpha_bar",
    "ddim_sigma",
    "ddim_table",
    "edm_preconditioning",
    "karras_sigmas",
    "linspace_exact",
    "openai_respacing",
    "rescale_zero_terminal_snr",
    "round_half_even",
    "schedule_table",
    "sde_marginal",
    "table_from_alpha_bar",
    "table_from_betas",
    "timesteps",
    "to_float64",
]

#: Extra digits carried inside every computation; results are rounded to ``dps``.
#: Reason: a 1000-step cumulative product loses at most ~3 digits and 1 - beta near beta = 1
#: loses log10(1/alpha) digits; 10 guard digits cover alpha >= 1e-7 with room to spare.
GUARD = 10
#: Largest number of training steps accepted (a larger value is almost surely a typo).
MAX_T = 1_000_000
#: Names accepted by :func:`beta_schedule` (``cosine`` is an alias of ``squaredcos_cap_v2``).
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "cosine", "sigmoid",
                  "laplace", "exp")
#: Spacing rules accepted by :func:`timesteps`.
SPACINGS = ("leading", "trailing", "linspace", "dpmsolver_leading", "dpmsolver_linspace")
#: The columns of a :class:`ScheduleTable`, with what each holds.
TABLE_COLUMNS: Mapping[str, str] = {
    "beta": "beta_t",
    "alpha": "alpha_t = 1 - beta_t",
    "alpha_bar": "alpha_bar_t = prod_{s<=t} alpha_s",
    "alpha_bar_prev": "alpha_bar_{t-1}, with alpha_bar_{-1} = 1",
    "alpha_bar_next": "alpha_bar_{t+1}, with alpha_bar_T = 0 (OpenAI alphas_cumprod_next)",
    "one_minus_alpha_bar": "1 - alpha_bar_t (computed without cancellation)",
    "beta_tilde": "beta_t (1 - alpha_bar_{t-1})/(1 - alpha_bar_t) (0 at t = 0)",
    "log_beta_tilde_floored": "log max(beta_tilde_t, 1e-20) (diffusers _get_variance floor)",
    "log_beta_tilde_clipped": "log beta_tilde_t with t = 0 replaced by t = 1 (OpenAI "
                              "posterior_log_variance_clipped; NaN when T = 1)",
    "posterior_mean_coef1": "beta_t sqrt(alpha_bar_{t-1})/(1 - alpha_bar_t), coefficient of x0",
    "posterior_mean_coef2": "(1 - alpha_bar_{t-1}) sqrt(alpha_t)/(1 - alpha_bar_t), of x_t",
    "sqrt_alpha_bar": "a_t = sqrt(alpha_bar_t)",
    "sqrt_one_minus_alpha_bar": "s_t = sqrt(1 - alpha_bar_t)",
    "sqrt_recip_alpha_bar": "1/sqrt(alpha_bar_t) (inf where alpha_bar_t = 0)",
    "sigma": "sqrt((1 - alpha_bar_t)/alpha_bar_t), the VE noise level (OpenAI "
             "sqrt_recipm1_alphas_cumprod; inf where alpha_bar_t = 0)",
    "log_snr": "log(alpha_bar_t/(1 - alpha_bar_t)) = -2 log sigma (-inf where alpha_bar_t = 0)",
    "lambda": "log(a_t/s_t) = -log sigma, DPM-Solver's log-SNR",
}
#: Floor applied by diffusers to the posterior variance before its log.
DIFFUSERS_VARIANCE_FLOOR = Fraction(1, 10**20)
_COSINE_S = Fraction(8, 1000)


# --------------------------------------------------------------------------- validation

def _check_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not low <= int(value) <= high:
        raise InvalidParameter(name, value, f"an integer in [{low}, {high}]")
    return int(value)


def _working(dps: object) -> tuple[int, int]:
    """Validated (dps, working digits = dps + GUARD, capped at MAX_DPS)."""
    dps = check_dps(dps)
    return dps, min(dps + GUARD, MAX_DPS)


def _num(value: object, name: str, allow_float: bool = False) -> mpmath.mpf:
    """An exact input as an mpf at the current precision (floats only when ``allow_float``)."""
    if isinstance(value, (float, np.floating)) and allow_float:
        if not np.isfinite(value):
            raise InvalidParameter(name, value, "a finite number")
        return mpf_from_float(float(value), name)
    if isinstance(value, np.integer):
        value = int(value)
    out = mpf_exact(value, name)
    if not mpmath.isfinite(out):
        raise InvalidParameter(name, value, "a finite number")
    return out


def _round(values: Iterable[mpmath.mpf], dps: int) -> list[mpmath.mpf]:
    with workdps(dps):
        return [+v for v in values]


def to_float64(values: Iterable[object]) -> np.ndarray:
    """Round mpmath numbers to the nearest float64 (ties to even), elementwise."""
    out = []
    for v in values:
        v = mpmath.mpmathify(v)
        out.append(mpmath.libmp.to_float(v._mpf_, rnd="n"))
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------- beta schedules

def alpha_bar_function(name: str) -> Callable[[mpmath.mpf], mpmath.mpf]:
    """The alpha_bar(u), u in [0, 1], of the ratio rule: "cosine", "laplace" or "exp".

    cosine: cos^2(((u + 0.008)/1.008) pi/2); laplace: sqrt(snr/(1 + snr)) with snr = e^l,
    l(u) = -1/2 sgn(1/2 - u) log(1 - 2|1/2 - u| + 1e-6) (sgn(0) = +1, as math.copysign);
    exp: e^{-12 u}.  Evaluated at the caller's precision.
    """
    if name in ("cosine", "squaredcos_cap_v2"):
        def f(u):
            s = mpmath.mpf(_COSINE_S.numerator) / _COSINE_S.denominator
            return mpmath.cos((u + s) / (1 + s) * mpmath.pi / 2) ** 2
    elif name == "laplace":
        def f(u):
            half = mpmath.mpf(1) / 2
            sign = 1 if half - u >= 0 else -1
            lmb = -half * sign * mpmath.log(1 - 2 * abs(half - u) + mpmath.mpf(10) ** -6)
            snr = mpmath.exp(lmb)
            return mpmath.sqrt(snr / (1 + snr))
    elif name == "exp":
        def f(u):
            return mpmath.exp(-12 * u)
    else:
        raise InvalidParameter("alpha_transform_type", name, "'cosine', 'laplace' or 'exp'")
    return f


def betas_for_alpha_bar(T: int, alpha_bar: str = "cosine", max_beta: object = "0.999",
                        dps: int = DEFAULT_DPS) -> list[mpmath.mpf]:
    """The ratio rule beta_i = min(1 - f((i+1)/T)/f(i/T), max_beta), i = 0..T-1."""
    T = _check_int(T, "T", 1, MAX_T)
    dps, wp = _working(dps)
    f = alpha_bar_function(alpha_bar)
    with workdps(wp):
        cap = _num(max_beta, "max_beta")
        if not 0 < cap <= 1:
            raise InvalidParameter("max_beta", max_beta, "a number in (0, 1]")
        values = [f(mpmath.mpf(i) / T) for i in range(T + 1)]
        betas = [min(1 - values[i + 1] / values[i], cap) for i in range(T)]
    return _round(betas, dps)


def beta_schedule(schedule: str, T: int, *, beta_start: object = "0.0001",
                  beta_end: object = "0.02", openai_scale: bool = False,
                  max_beta: object = "0.999", dps: int = DEFAULT_DPS) -> list[mpmath.mpf]:
    """The betas of a named schedule (names in :data:`BETA_SCHEDULES`), exact to ``dps`` digits.

    ``beta_start`` / ``beta_end`` (diffusers' config defaults 0.0001 / 0.02; Stable Diffusion's
    scaled_linear uses 0.00085 / 0.012) apply to linear, scaled_linear and sigmoid;
    ``openai_scale`` multiplies both by 1000/T (OpenAI's linear schedule; linear only);
    ``max_beta`` caps the ratio-rule schedules.  With T = 1 the ramp i/(T-1) is taken as 0
    (numpy's linspace with one point returns its start).
    """
    if schedule not in BETA_SCHEDULES:
        raise InvalidParameter("schedule", schedule, "one of " + ", ".join(BETA_SCHEDULES))
    T = _check_int(T, "T", 1, MAX_T)
    dps, wp = _working(dps)
    if schedule in ("squaredcos_cap_v2", "cosine", "laplace", "exp"):
        betas = betas_for_alpha_bar(T, "cosine" if schedule == "squaredcos_cap_v2" else schedule,
                                    max_beta, dps=wp)
        return _validated(_round(betas, dps), "betas", schedule)
    if openai_scale and schedule != "linear":
        raise InvalidParameter("openai_scale", openai_scale, "False unless schedule='linear'",
                               hint="OpenAI scales only its linear schedule by 1000/T")
    with workdps(wp):
        b0, b1 = _num(beta_start, "beta_start"), _num(beta_end, "beta_end")
        for name, b, raw in (("beta_start", b0, beta_start), ("beta_end", b1, beta_end)):
            if not 0 < b < 1:
                raise InvalidParameter(name, raw, "a number in (0, 1)")
        if openai_scale:
            b0, b1 = b0 * 1000 / T, b1 * 1000 / T
        ramp = [mpmath.mpf(i) / (T - 1) if T > 1 else mpmath.mpf(0) for i in range(T)]
        if schedule == "linear":
            betas = [b0 + (b1 - b0) * r for r in ramp]
        elif schedule == "scaled_linear":
            r0, r1 = mpmath.sqrt(b0), mpmath.sqrt(b1)
            betas = [(r0 + (r1 - r0) * r) ** 2 for r in ramp]
        else:  # sigmoid
            betas = [b0 + (b1 - b0) / (1 + mpmath.exp(6 - 12 * r)) for r in ramp]
    return _validated(_round(betas, dps), "betas", schedule)


def _validated(betas: list, name: str, schedule: str = "",
               allow_terminal_one: bool = False) -> list:
    last = len(betas) - 1
    for i, b in enumerate(betas):
        ok = 0 < b < 1 or (allow_terminal_one and i == last and b == 1)
        if not ok:
            valid = "every beta in (0, 1)" + (", the last in (0, 1]" if allow_terminal_one else "")
            hint = f"beta[{i}] = {mpmath.nstr(b, 8)}" + (f" from schedule {schedule!r}"
                                                         if schedule else "")
            if b == 1 and not allow_terminal_one:
                hint += "; pass allow_terminal_one=True for a zero-terminal-SNR schedule"
            raise InvalidParameter(name, f"<{len(betas)} values>", valid, hint=hint)
    return betas


def rescale_zero_terminal_snr(betas: Sequence[object],
                              dps: int = DEFAULT_DPS) -> list[mpmath.mpf]:
    """Lin et al. 2023, Alg. 1: betas whose alpha_bar ends at exactly 0 (beta'_{T-1} = 1).

    r_t = sqrt(alpha_bar_t); r'_t = (r_t - r_{T-1}) r_0/(r_0 - r_{T-1}); alpha_bar' = r'^2;
    beta'_0 = 1 - alpha_bar'_0, beta'_t = 1 - alpha_bar'_t/alpha_bar'_{t-1}.  Needs T >= 2.
    """
    dps, wp = _working(dps)
    with workdps(wp):
        bs = _validated([_num(b, f"betas[{i}]", allow_float=True) for i, b in enumerate(betas)],
                        "betas")
        if len(bs) < 2:
            raise InvalidParameter("betas", f"<{len(bs)} values>", "at least 2 betas",
                                   hint="the rescale pins the first and last alpha_bar")
        ab, prod = [], mpmath.mpf(1)
        for b in bs:
            prod *= 1 - b
            ab.append(prod)
        r = [mpmath.sqrt(a) for a in ab]
        r0, rl = r[0], r[-1]
        rp = [(x - rl) * r0 / (r0 - rl) for x in r]
        rp[-1] = mpmath.mpf(0)  # exactly: (r_{T-1} - r_{T-1}) = 0
        abp = [x * x for x in rp]
        out = [1 - abp[0]] + [1 - abp[t] / abp[t - 1] for t in range(1, len(abp))]
    return _round(out, dps)


# --------------------------------------------------------------------------- tables

class ScheduleTable:
    """The exact per-step table of a chain: ``table["alpha_bar"]`` is a tuple of T mpf.

    Columns are listed in :data:`TABLE_COLUMNS`; ``table.float64(name)`` rounds one to a numpy
    array; ``table.T``, ``table.dps`` and ``table.description`` say what it holds.
    """

    def __init__(self, columns: Mapping[str, Sequence[mpmath.mpf]], dps: int,
                 description: str) -> None:
        self.columns = {k: tuple(v) for k, v in columns.items()}
        self.T = len(self.columns["beta"])
        self.dps = dps
        self.description = description

    def __getitem__(self, name: str) -> tuple:
        if name not in self.columns:
            raise InvalidParameter("column", name, "one of " + ", ".join(TABLE_COLUMNS))
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def float64(self, name: str) -> np.ndarray:
        return to_float64(self[name])

    def __repr__(self) -> str:
        return f"ScheduleTable({self.description}, T={self.T}, dps={self.dps})"


def table_from_betas(betas: Sequence[object], *, allow_terminal_one: bool = False,
                     dps: int = DEFAULT_DPS, description: str = "user betas") -> ScheduleTable:
    """The full table of a chain given its betas (exact values; floats taken exactly).

    Every beta must lie in (0, 1); with ``allow_terminal_one`` the last may be 1 (zero terminal
    SNR), giving alpha_bar_{T-1} = 0 and infinite sigma there.
    """
    dps, wp = _working(dps)
    if len(betas) < 1 or len(betas) > MAX_T:
        raise InvalidParameter("betas", f"<{len(betas)} values>", f"1 to {MAX_T} values")
    with workdps(wp):
        bs = _validated([_num(b, f"betas[{i}]", allow_float=True) for i, b in enumerate(betas)],
                        "betas", allow_terminal_one=allow_terminal_one)
        T = len(bs)
        alpha = [1 - b for b in bs]
        ab, om = [], []                        # alpha_bar_t and 1 - alpha_bar_t
        prev_ab, prev_om = mpmath.mpf(1), mpmath.mpf(0)
        for b, a in zip(bs, alpha):
            cur_ab = prev_ab * a
            # 1 - ab_t = (1 - ab_{t-1}) + ab_{t-1} beta_t: a sum of nonnegative terms, no
            # cancellation even for tiny betas.
            cur_om = mpmath.mpf(1) if a == 0 else prev_om + prev_ab * b
            ab.append(cur_ab)
            om.append(cur_om)
            prev_ab, prev_om = cur_ab, cur_om
        ab_prev = [mpmath.mpf(1)] + ab[:-1]
        om_prev = [mpmath.mpf(0)] + om[:-1]
        ab_next = ab[1:] + [mpmath.mpf(0)]
        bt = [b * op / o for b, op, o in zip(bs, om_prev, om)]
        floor = mpmath.mpf(1) / 10**20
        log_floored = [mpmath.log(max(v, floor)) for v in bt]
        log_clipped = [mpmath.log(v) if t > 0 else (mpmath.log(bt[1]) if T > 1 else mpmath.nan)
                       for t, v in enumerate(bt)]
        coef1 = [b * mpmath.sqrt(ap) / o for b, ap, o in zip(bs, ab_prev, om)]
        coef2 = [op * mpmath.sqrt(a) / o for op, a, o in zip(om_prev, alpha, om)]
        sab = [mpmath.sqrt(a) for a in ab]
        soab = [mpmath.sqrt(o) for o in om]
        inv = [1 / s if s != 0 else mpmath.inf for s in sab]
        sigma = [mpmath.sqrt(o / a) if a != 0 else mpmath.inf for o, a in zip(om, ab)]
        log_snr = [mpmath.log(a) - mpmath.log(o) if a != 0 else mpmath.ninf
                   for a, o in zip(ab, om)]
        lam = [v / 2 for v in log_snr]
    cols = {
        "beta": bs, "alpha": alpha, "alpha_bar": ab, "alpha_bar_prev": ab_prev,
        "alpha_bar_next": ab_next, "one_minus_alpha_bar": om, "beta_tilde": bt,
        "log_beta_tilde_floored": log_floored, "log_beta_tilde_clipped": log_clipped,
        "posterior_mean_coef1": coef1, "posterior_mean_coef2": coef2,
        "sqrt_alpha_bar": sab, "sqrt_one_minus_alpha_bar": soab, "sqrt_recip_alpha_bar": inv,
        "sigma": sigma, "log_snr": log_snr, "lambda": lam,
    }
    return ScheduleTable({k: _round(v, dps) for k, v in cols.items()}, dps, description)


def table_from_alpha_bar(alpha_bar: Sequence[object], *, allow_zero_terminal: bool = False,
                         dps: int = DEFAULT_DPS) -> ScheduleTable:
    """The table of a chain given alpha_bar_0 > alpha_bar_1 > ... (each in (0, 1)).

    alpha_bar must be strictly decreasing and inside (0, 1); with ``allow_zero_terminal`` the
    last value may be 0.  beta_t = 1 - alpha_bar_t/alpha_bar_{t-1} (alpha_bar_{-1} = 1).
    """
    dps, wp = _working(dps)
    if len(alpha_bar) < 1 or len(alpha_bar) > MAX_T:
        raise InvalidParameter("alpha_bar", f"<{len(alpha_bar)} values>", f"1 to {MAX_T} values")
    with workdps(min(wp + GUARD, MAX_DPS)):
        ab = [_num(a, f"alpha_bar[{i}]", allow_float=True) for i, a in enumerate(alpha_bar)]
        last = len(ab) - 1
        prev = mpmath.mpf(1)
        for i, a in enumerate(ab):
            in_range = 0 < a < 1 or (allow_zero_terminal and i == last and a == 0)
            if not in_range or not a < prev:
                raise InvalidParameter(
                    "alpha_bar", f"<{len(ab)} values>",
                    "strictly decreasing values in (0, 1)"
                    + (" (the last may be 0)" if allow_zero_terminal else ""),
                    hint=f"alpha_bar[{i}] = {mpmath.nstr(a, 8)} after {mpmath.nstr(prev, 8)}")
            prev = a
        betas = [1 - ab[0]] + [1 - ab[t] / ab[t - 1] for t in range(1, len(ab))]
    return table_from_betas(betas, allow_terminal_one=allow_zero_terminal, dps=dps,
                            description="user alpha_bar")


def schedule_table(schedule: str = "linear", T: int = 1000, *, beta_start: object = "0.0001",
                   beta_end: object = "0.02", openai_scale: bool = False,
                   max_beta: object = "0.999", rescale_zero_snr: bool = False,
                   dps: int = DEFAULT_DPS) -> ScheduleTable:
    """:func:`beta_schedule`, optionally :func:`rescale_zero_terminal_snr`, then the table."""
    dps, wp = _working(dps)
    betas = beta_schedule(schedule, T, beta_start=beta_start, beta_end=beta_end,
                          openai_scale=openai_scale, max_beta=max_beta, dps=wp)
    desc = f"{schedule}(T={T}"
    if schedule in ("linear", "scaled_linear", "sigmoid"):
        desc += f", beta_start={beta_start}, beta_end={beta_end}"
    if openai_scale:
        desc += ", openai_scale"
    if rescale_zero_snr:
        betas = rescale_zero_terminal_snr(betas, dps=wp)
        desc += ", zero_terminal_snr"
    return table_from_betas(betas, allow_terminal_one=rescale_zero_snr, dps=dps,
                            description=desc + ")")


# --------------------------------------------------------------------------- timesteps

def round_half_even(q: object) -> int:
    """Round an exact rational to the nearest integer, ties to even (numpy's and Python's rule)."""
    q = Fraction(q)
    floor = q.numerator // q.denominator
    rest = q - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


def linspace_exact(start: object, stop: object, num: int) -> list[Fraction]:
    """numpy.linspace(start, stop, num) in exact rationals (num = 1 gives [start])."""
    num = _check_int(num, "num", 1, MAX_T)
    a, b = Fraction(start), Fraction(stop)
    if num == 1:
        return [a]
    return [a + (b - a) * k / (num - 1) for k in range(num)]


def timesteps(spacing: str, T: int, N: int, *, steps_offset: int = 0) -> list[int]:
    """The inference timesteps, descending, of a spacing rule (exact integer arithmetic).

    * leading: k*floor(T/N) + steps_offset for k = N-1..0;
    * trailing: round(T - k*T/N) - 1 for k = 0..N-1;
    * linspace: round((T-1) k/(N-1)) for k = N-1..0 (N = 1 gives [0]);
    * dpmsolver_linspace: round((T-1) k/N) for k = N..1 (N+1 points, the final 0 dropped);
    * dpmsolver_leading: k*floor(T/(N+1)) + steps_offset for k = N..1.

    round is half to even.  N must lie in [1, T]; steps_offset >= 0 applies to the leading
    rules (diffusers adds it only there).
    """
    if spacing not in SPACINGS:
        raise InvalidParameter("spacing", spacing, "one of " + ", ".join(SPACINGS))
    T = _check_int(T, "T", 1, MAX_T)
    N = _check_int(N, "N", 1, T)
    steps_offset = _check_int(steps_offset, "steps_offset", 0, MAX_T)
    if steps_offset and spacing not in ("leading", "dpmsolver_leading"):
        raise InvalidParameter("steps_offset", steps_offset, "0 unless spacing is leading",
                               hint="diffusers applies steps_offset to leading spacing only")
    if spacing == "leading":
        ts = [k * (T // N) + steps_offset for k in range(N - 1, -1, -1)]
    elif spacing == "trailing":
        ts = [round_half_even(T - Fraction(k * T, N)) - 1 for k in range(N)]
    elif spacing == "linspace":
        ts = [round_half_even(v) for v in reversed(linspace_exact(0, T - 1, N))]
    elif spacing == "dpmsolver_linspace":
        ts = [round_half_even(v) for v in reversed(linspace_exact(0, T - 1, N + 1))][:-1]
    else:
        if N + 1 > T:
            raise InvalidParameter("N", N, f"an integer in [1, {T - 1}] for dpmsolver_leading")
        ts = [k * (T // (N + 1)) + steps_offset for k in range(N, 0, -1)]
    return ts


def openai_respacing(T: int, spec: str) -> list[int]:
    """OpenAI's ``space_timesteps(T, spec)``: the kept steps, ascending, in exact arithmetic.

    spec "N1,N2,...": T split into len(spec) sections (the first T mod len get one extra step);
    a section of size S with n points keeps start + round(k (S-1)/(n-1)), k = 0..n-1 (n = 1 keeps
    its start).  "ddimN": range(0, T, i) for the smallest stride i >= 1 with exactly N elements.
    OpenAI accumulates the stride in floating point; this is the exact rule it approximates.
    """
    T = _check_int(T, "T", 1, MAX_T)
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidParameter("spec", spec, "'N', 'N1,N2,...' or 'ddimN'")
    text = spec.strip()
    if text.startswith("ddim"):
        try:
            want = int(text[4:])
        except ValueError:
            raise InvalidParameter("spec", spec, "'ddimN' with an integer N") from None
        _check_int(want, "N", 1, T)
        for stride in range(1, T + 1):
            if len(range(0, T, stride)) == want:
                return list(range(0, T, stride))
        raise InvalidParameter("spec", spec, "'ddimN' with N reachable by an integer stride",
                               hint=f"no stride gives exactly {want} of {T} steps")
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise InvalidParameter("spec", spec, "comma-separated integers or 'ddimN'") from None
    if len(counts) > T:
        raise InvalidParameter("spec", spec, f"at most {T} sections")
    size_per, extra = divmod(T, len(counts))
    kept, start = [], 0
    for i, n in enumerate(counts):
        size = size_per + (1 if i < extra else 0)
        if not 1 <= n <= size:
            raise InvalidParameter("spec", spec, f"section {i} count in [1, {size}]")
        stride = Fraction(size - 1, n - 1) if n > 1 else Fraction(0)
        kept += [start + round_half_even(k * stride) for k in range(n)]
        start += size
    return sorted(set(kept))


# --------------------------------------------------------------------------- samplers

def ddim_sigma(alpha_bar_t: object, alpha_bar_prev: object, eta: object = 0,
               dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """DDIM eq. 16: eta sqrt((1 - ab_prev)/(1 - ab_t)) sqrt(1 - ab_t/ab_prev).

    Needs 0 <= ab_t < ab_prev <= 1 (a step towards less noise) and eta >= 0.
    """
    dps, wp = _working(dps)
    with workdps(wp):
        at = _num(alpha_bar_t, "alpha_bar_t", allow_float=True)
        ap = _num(alpha_bar_prev, "alpha_bar_prev", allow_float=True)
        e = _num(eta, "eta", allow_float=True)
        if not 0 <= at < 1:
            raise InvalidParameter("alpha_bar_t", alpha_bar_t, "a number in [0, 1)")
        if not at < ap <= 1:
            raise InvalidParameter("alpha_bar_prev", alpha_bar_prev,
                                   f"a number in (alpha_bar_t, 1] = ({mpmath.nstr(at, 8)}, 1]")
        if e < 0:
            raise InvalidParameter("eta", eta, "a number >= 0")
        value = e * mpmath.sqrt((1 - ap) / (1 - at)) * mpmath.sqrt(1 - at / ap)
    return _round([value], dps)[0]


def ddim_table(table: ScheduleTable, steps: Sequence[int], eta: object = 0,
               final_alpha_bar: object = 1, dps: int = DEFAULT_DPS) -> dict[str, list]:
    """Per inference step k: t, prev_t (the next entry, -1 at the end), ab_t, ab_prev, sigma.

    ``steps`` is a descending list of timesteps in [0, T); the last step moves to
    ``final_alpha_bar`` (1 for diffusers' set_alpha_to_one, alpha_bar_0 otherwise).
    """
    dps = check_dps(dps)
    steps = [_check_int(t, f"steps[{i}]", 0, table.T - 1) for i, t in enumerate(steps)]
    if any(a <= b for a, b in zip(steps, steps[1:])) or not steps:
        raise InvalidParameter("steps", steps, "a non-empty strictly decreasing list")
    with workdps(table.dps):
        final = _num(final_alpha_bar, "final_alpha_bar", allow_float=True)
    ab = table["alpha_bar"]
    out = {"t": [], "prev_t": [], "alpha_bar_t": [], "alpha_bar_prev": [], "sigma": []}
    for k, t in enumerate(steps):
        prev = steps[k + 1] if k + 1 < len(steps) else -1
        ap = ab[prev] if prev >= 0 else final
        out["t"].append(t)
        out["prev_t"].append(prev)
        out["alpha_bar_t"].append(ab[t])
        out["alpha_bar_prev"].append(ap)
        out["sigma"].append(ddim_sigma(ab[t], ap, eta, dps=dps))
    return out


def karras_sigmas(n: int, sigma_min: object, sigma_max: object, rho: object = 7, *,
                  append_zero: bool = True, dps: int = DEFAULT_DPS) -> list[mpmath.mpf]:
    """Karras et al. 2022 eq. 5: (smax^(1/rho) + k/(n-1) (smin^(1/rho) - smax^(1/rho)))^rho.

    k = 0..n-1 (n = 1 gives [sigma_max]); the endpoints are returned as the exact inputs (the
    formula's value there, without the rounding of x^(1/rho)^rho); a 0 is appended when
    ``append_zero`` (k-diffusion's get_sigmas_karras).  Needs 0 < sigma_min <= sigma_max, rho > 0.
    """
    n = _check_int(n, "n", 1, MAX_T)
    dps, wp = _working(dps)
    with workdps(wp):
        lo, hi = _num(sigma_min, "sigma_min"), _num(sigma_max, "sigma_max")
        r = _num(rho, "rho")
        if not lo > 0:
            raise InvalidParameter("sigma_min", sigma_min, "a number > 0")
        if not hi >= lo:
            raise InvalidParameter("sigma_max", sigma_max, f"a number >= sigma_min = {sigma_min}")
        if not r > 0:
            raise InvalidParameter("rho", rho, "a number > 0")
        a, b = hi ** (1 / r), lo ** (1 / r)
        out = [hi] + [(a + mpmath.mpf(k) / (n - 1) * (b - a)) ** r for k in range(1, n - 1)]
        if n > 1:
            out.append(lo)
        if append_zero:
            out.append(mpmath.mpf(0))
    return _round(out, dps)


def edm_preconditioning(sigma: object, sigma_data: object = "0.5",
                        dps: int = DEFAULT_DPS) -> dict[str, mpmath.mpf]:
    """EDM (Karras et al. 2022, Table 1): c_skip, c_out, c_in, c_noise at noise level sigma.

    c_skip = sd^2/(s^2 + sd^2), c_out = s sd/sqrt(s^2 + sd^2), c_in = 1/sqrt(s^2 + sd^2),
    c_noise = ln(s)/4.  k-diffusion's default sigma_data is 1, the EDM paper's 0.5; the
    v-prediction variants negate c_out.  Needs sigma > 0 and sigma_data > 0.
    """
    dps, wp = _working(dps)
    with workdps(wp):
        s, sd = _num(sigma, "sigma"), _num(sigma_data, "sigma_data")
        if not s > 0:
            raise InvalidParameter("sigma", sigma, "a number > 0")
        if not sd > 0:
            raise InvalidParameter("sigma_data", sigma_data, "a number > 0")
        norm = s * s + sd * sd
        vals = {"c_skip": sd * sd / norm, "c_out": s * sd / mpmath.sqrt(norm),
                "c_in": 1 / mpmath.sqrt(norm), "c_noise": mpmath.log(s) / 4}
    return dict(zip(vals, _round(vals.values(), dps)))


SDE_KINDS = ("vp", "subvp", "ve")


def sde_marginal(kind: str, t: object, *, beta_min: object = "0.1", beta_max: object = "20",
                 sigma_min: object = "0.01", sigma_max: object = "50",
                 dps: int = DEFAULT_DPS) -> dict[str, mpmath.mpf]:
    """Marginal of x(t) given x(0) for score_sde's SDEs: mean = mean_coef x(0), std.

    With c(t) = -t^2 (beta_max - beta_min)/4 - t beta_min/2 (t in [0, 1]):
    vp: mean_coef e^c, std sqrt(-expm1(2c)); subvp: mean_coef e^c, std -expm1(2c) (its variance
    is (1 - e^{2c})^2); ve: mean_coef 1, std sigma_min (sigma_max/sigma_min)^t.  Returns
    mean_coef, std and variance = std^2.
    """
    if kind not in SDE_KINDS:
        raise InvalidParameter("kind", kind, "one of " + ", ".join(SDE_KINDS))
    dps, wp = _working(dps)
    with workdps(wp):
        tt = _num(t, "t")
        if not 0 <= tt <= 1:
            raise InvalidParameter("t", t, "a number in [0, 1]")
        if kind == "ve":
            lo, hi = _num(sigma_min, "sigma_min"), _num(sigma_max, "sigma_max")
            if not 0 < lo < hi:
                raise InvalidParameter("sigma_min", sigma_min, "a number in (0, sigma_max)")
            mean, std = mpmath.mpf(1), lo * (hi / lo) ** tt
        else:
            b0, b1 = _num(beta_min, "beta_min"), _num(beta_max, "beta_max")
            if not b0 > 0:
                raise InvalidParameter("beta_min", beta_min, "a number > 0")
            if not b1 >= b0:
                raise InvalidParameter("beta_max", beta_max, "a number >= beta_min")
            c = -tt * tt * (b1 - b0) / 4 - tt * b0 / 2
            mean = mpmath.exp(c)
            one_minus = -mpmath.expm1(2 * c)
            std = mpmath.sqrt(one_minus) if kind == "vp" else one_minus
        vals = {"mean_coef": mean, "std": std, "variance": std * std}
    return dict(zip(vals, _round(vals.values(), dps)))
