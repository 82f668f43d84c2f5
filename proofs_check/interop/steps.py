"""Exact single-step formulas of diffusion samplers and first-order error propagation.

Every formula is the mathematics of its paper, written once in mpmath on scalars, with VP
coordinates x = a x0 + s eps (a = sqrt(alpha_bar), s = sqrt(1 - alpha_bar)) and VE coordinates
x = x0 + sigma eps.  Each returns ``(value, magnitude)``: magnitude is the sum of the absolute
values of the terms summed last, which bounds the rounding error of forming the sum.

:func:`propagate` turns a formula and the relative error bounds of its inputs (units of u) into a
first-order error bound of its output: sum_j |p_j dF/dp_j| e_j + k * magnitude, divided by |F|.
Derivatives are central differences at ``dps`` digits (two digits of the bound suffice).
"""

from __future__ import annotations

from typing import Callable, Mapping

import mpmath

from numerics.precision import workdps

#: Digits for the bound's derivatives: the bound needs ~2 significant digits; 40 leave room for
#: differences of 1e-15 relative steps.
BOUND_DPS = 40


def propagate(F: Callable, params: Mapping, errs: Mapping, k: float, dps: int = BOUND_DPS):
    """(exact value, bound in units of u) of F at ``params`` (mpf), inputs with ``errs``."""
    with workdps(dps):
        p = {n: mpmath.mpf(v) for n, v in params.items()}
        value, mag = F(**p)
        total = k * abs(mag)
        for name, e in errs.items():
            if not e or p[name] == 0:
                continue
            h = abs(p[name]) * mpmath.mpf(10) ** -15
            up = dict(p, **{name: p[name] + h})
            dn = dict(p, **{name: p[name] - h})
            d = (F(**up)[0] - F(**dn)[0]) / (2 * h)
            total += abs(p[name] * d) * e
        scale = abs(value) if value != 0 else (abs(mag) or mpmath.mpf(1))
        return value, float(total / scale)


def sqrt_(x):
    return mpmath.sqrt(x) if x > 0 else mpmath.mpf(0)


# ------------------------------------------------------------------ VP conversions (RC-07)
def x0_from(pred: str, m, x, ab):
    """x0-hat from a model output m of type eps / v / sample at alpha_bar = ab."""
    a, s = sqrt_(ab), sqrt_(1 - ab)
    if pred == "epsilon":
        return (x - s * m) / a, abs(x) / a + abs(s * m) / a
    if pred == "v_prediction":
        return a * x - s * m, abs(a * x) + abs(s * m)
    return +m, abs(m)


def eps_from(pred: str, m, x, ab):
    a, s = sqrt_(ab), sqrt_(1 - ab)
    if pred == "epsilon":
        return +m, abs(m)
    if pred == "v_prediction":
        return a * m + s * x, abs(a * m) + abs(s * x)
    return (x - a * m) / s, (abs(x) + abs(a * m)) / s


def q_sample(x0, eps, ab):
    a, s = sqrt_(ab), sqrt_(1 - ab)
    return a * x0 + s * eps, abs(a * x0) + abs(s * eps)


def velocity(x0, eps, ab):
    """v = a eps - s x0 (Salimans & Ho 2022)."""
    a, s = sqrt_(ab), sqrt_(1 - ab)
    return a * eps - s * x0, abs(a * eps) + abs(s * x0)


# ------------------------------------------------------------------ DDPM / DDIM (RC-06, RC-09)
def ddpm_mean(x0, x, ab, ab_prev):
    """Posterior mean with beta_eff = 1 - ab/ab_prev (skipped steps allowed)."""
    alpha = ab / ab_prev
    c1 = sqrt_(ab_prev) * (1 - alpha) / (1 - ab)
    c2 = sqrt_(alpha) * (1 - ab_prev) / (1 - ab)
    return c1 * x0 + c2 * x, abs(c1 * x0) + abs(c2 * x)


def ddim_sigma(ab, ab_prev, eta):
    """DDIM eq. 16: eta sqrt((1-ab_prev)/(1-ab)) sqrt(1 - ab/ab_prev)."""
    return eta * sqrt_((1 - ab_prev) / (1 - ab)) * sqrt_(1 - ab / ab_prev)


def ddim_step(x0, eps, z, ab, ab_prev, eta):
    sig = ddim_sigma(ab, ab_prev, eta)
    dirc = sqrt_(1 - ab_prev - sig ** 2)
    terms = (sqrt_(ab_prev) * x0, dirc * eps, sig * z)
    return sum(terms), sum(abs(t) for t in terms)


# ------------------------------------------------------------------ VE / k-diffusion
def euler_ve(x, x0, sigma, sigma_next):
    """x + (x - D)/sigma (sigma_next - sigma)."""
    d = (x - x0) / sigma
    return x + d * (sigma_next - sigma), abs(x) + abs(d * (sigma_next - sigma))


def dpmpp_2m_ve(x, d_cur, d_prev, s_prev, s_cur, s_next):
    """DPM-Solver++(2M) in VE coordinates (Lu et al. 2022b); first order when d_prev is None."""
    t_cur, t_next = -mpmath.log(s_cur), -mpmath.log(s_next)
    h = t_next - t_cur
    if d_prev is None or s_next == 0:
        dd = d_cur
    else:
        r = (-mpmath.log(s_cur) + mpmath.log(s_prev)) / h
        dd = (1 + 1 / (2 * r)) * d_cur - d_prev / (2 * r)
    a = (s_next / s_cur) * x
    b = -mpmath.expm1(-h) * dd
    return a + b, abs(a) + abs(b) + abs(mpmath.expm1(-h)) * (abs(d_cur) + abs(d_prev or 0))


# ------------------------------------------------------------------ DPM-Solver in VP (RC-18)
def vp_of(sigma_ve):
    """(alpha, sigma_VP, lambda) of a VE sigma."""
    alpha = 1 / mpmath.sqrt(1 + sigma_ve ** 2)
    return alpha, sigma_ve * alpha, -mpmath.log(sigma_ve)


def dpm_first(kind: str, x, m, s_s, s_t, z=0):
    """One first-order step from VE sigma s_s to s_t; m is x0-hat (++ kinds) or eps-hat."""
    a_s, v_s, l_s = vp_of(s_s)
    a_t, v_t, l_t = vp_of(s_t)
    h = l_t - l_s
    if kind == "dpmsolver++":
        terms = ((v_t / v_s) * x, -a_t * mpmath.expm1(-h) * m)
    elif kind == "dpmsolver":
        terms = ((a_t / a_s) * x, -v_t * mpmath.expm1(h) * m)
    elif kind == "sde-dpmsolver++":
        terms = ((v_t / v_s) * mpmath.exp(-h) * x, a_t * (-mpmath.expm1(-2 * h)) * m,
                 v_t * sqrt_(-mpmath.expm1(-2 * h)) * z)
    else:
        raise ValueError(kind)
    return sum(terms), sum(abs(t) for t in terms)


def dpm_second(solver_type: str, x, m0, m1, s_prev, s_s, s_t):
    """DPM-Solver++(2M) multistep in VP: m0 = x0-hat at s_s, m1 at s_prev (diffusers' form)."""
    a_t, v_t, l_t = vp_of(s_t)
    _, v_s, l_s = vp_of(s_s)
    _, _, l_p = vp_of(s_prev)
    h, h0 = l_t - l_s, l_s - l_p
    r0 = h0 / h
    D0, D1 = m0, (m0 - m1) / r0
    em = mpmath.expm1(-h)
    if solver_type == "midpoint":
        terms = ((v_t / v_s) * x, -a_t * em * D0, -a_t * em * D1 / 2)
    else:  # heun
        terms = ((v_t / v_s) * x, -a_t * em * D0, a_t * (em / h + 1) * D1)
    return sum(terms), sum(abs(t) for t in terms) + abs(a_t * em) * (abs(m0) + abs(m1)) / abs(r0)


# ------------------------------------------------------------------ EDM (RC-16)
def edm_scalings(sigma, sigma_data, v_pred: bool = False):
    """(c_skip, c_out, c_in, c_noise) of Karras et al. 2022, Table 1 (c_out negated for v)."""
    sd2 = sigma_data ** 2
    c_skip = sd2 / (sigma ** 2 + sd2)
    c_out = sigma * sigma_data / mpmath.sqrt(sigma ** 2 + sd2)
    c_in = 1 / mpmath.sqrt(sigma ** 2 + sd2)
    return c_skip, (-c_out if v_pred else c_out), c_in, mpmath.log(sigma) / 4
