"""The discretised Gaussian log-likelihood in float64, with the exact normal CDF.

:func:`discretized_gaussian_log_likelihood` (x, means, log_scales) is the log of the
N(means, e^{2 log_scales}) mass of the bin [x - 1/255, x + 1/255] (edge bins x < -0.999 and
x > 0.999 extend to -inf / +inf): OpenAI's function of the same name and argument convention,
but with the exact normal CDF (not the tanh approximation, no 1e-12 floor): tails from a
tabulated Mills ratio and a double-double e^{-z^2/2}, narrow bins from the Hermite series of
the integral of phi over the bin, wide bins from both tails.  Re-exported by
:mod:`numerics.kernels`; measured by ``benchmarks/bench_kernels.py``.
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np

from numerics.precision import workdps
from numerics._float64 import (
    _C_H,
    _C_L,
    _LS_H,
    _LS_L,
    _W_H,
    _W_L,
    _broadcast,
    _chunked,
    _dd,
    _exp_dd,
    _pow2,
    _scale,
    _square,
    _two_prod,
    _two_sum,
)

__all__ = ["discretized_gaussian_log_likelihood"]


# ---------------------------------------------------------------- normal CDF


@functools.lru_cache(maxsize=1)
def _mills_table():
    """Taylor coefficients of the Mills ratio M(x) = Phi(-x)/phi(x) at 288 nodes.

    Nodes: centres of [i/128, (i+1)/128), i < 32, then 32 equal parts of each [2^e, 2^(e+1)),
    e = -2..5.  Ten coefficients M^(k)(x0)/k! each (the first two also as low parts), from the
    recursion M' = xM - 1, M^(k+1) = k M^(k-1) + x M^(k), at 120 digits (the forward recursion
    loses up to ~40 digits at x0 = 64).  Built once, on first use (~0.1 s).
    """
    nodes = [mpmath.mpf(2 * i + 1) / 256 for i in range(32)]
    for e in range(-2, 6):
        width = mpmath.mpf(2) ** e / 32
        nodes += [mpmath.mpf(2) ** e + (i + mpmath.mpf(1) / 2) * width for i in range(32)]
    coef = np.zeros((10, len(nodes)))
    low = np.zeros((2, len(nodes)))
    with workdps(120):
        for i, x0 in enumerate(nodes):
            m0 = mpmath.erfc(x0 / mpmath.sqrt(2)) / 2 / mpmath.npdf(x0)
            ms = [m0, x0 * m0 - 1]
            for k in range(1, 9):
                ms.append(k * ms[k - 1] + x0 * ms[k])
            for k in range(10):
                c = ms[k] / mpmath.factorial(k)
                coef[k, i], lo = _dd(c)
                if k < 2:
                    low[k, i] = lo
    return np.array([float(x) for x in nodes]), coef, low


def _mills(xh, xl):
    """M(x) = Phi(-x)/phi(x) for x = xh + xl >= 0, as a double-double (relative ~2^-58)."""
    x0, coef, low = _mills_table()
    xc = np.minimum(xh, 63.0)
    mant, ex = np.frexp(xc)
    idx = np.where(xc < 0.25, np.floor(xc * 128.0),
                   32 + (ex + 1) * 32 + np.floor((mant - 0.5) * 64.0)).astype(np.int64)
    h = xc - x0.take(idx)
    acc = coef[9].take(idx)
    for k in range(8, 1, -1):
        acc = acc * h + coef[k].take(idx)
    mh = coef[0].take(idx)
    ml = low[0].take(idx) + h * (coef[1].take(idx) + low[1].take(idx) + h * acc)
    # x >= 63: M = (1/x)(1 - y + 3y^2 - 15y^3 + ...), y = 1/x^2 (terms to y^7: < 2^-60)
    big = xh >= 63.0
    if big.any():
        xb = xh[big]
        r = 1.0 / xb
        p, pe = _two_prod(xb, r)
        rl = r * ((1.0 - p) - pe)
        y = r * r
        s = y * (-1 + y * (3 + y * (-15 + y * (105 + y * (-945 + y * (10395 - 135135 * y))))))
        mh[big] = r
        ml[big] = rl + r * s
    hi = mh + ml
    lo = ml - (hi - mh)
    # first-order correction for the low part of x: M' = xM - 1
    return hi, lo + xl * (xh * hi - 1.0)


def _left_tail(xh, xl):
    """Phi(-x) for x = xh + xl >= 0: ((ph, pl), k, log Phi(-x))."""
    sh, se = _two_prod(xh, xh)
    sl = se + 2 * xh * xl                               # x^2 = sh + sl
    mh, ml = _mills(xh, xl)
    eh, el, k = _exp_dd(-0.5 * sh, -0.5 * sl)
    p, pe = _two_prod(eh, mh)
    pl = pe + eh * ml + el * mh
    q, qe = _two_prod(p, _C_H)
    ql = qe + p * _C_L + pl * _C_H
    # log Phi(-x) = -x^2/2 - log sqrt(2 pi) + log M, all terms <= 0 once x > 0.5
    lm = np.log(mh) + ml / mh
    a, ae = _two_sum(-0.5 * sh, -_LS_H)
    b, be = _two_sum(a, lm)
    log_tail = b + (be + ae - 0.5 * sl - _LS_L)
    return q, ql, k, log_tail


def _log_cdf(th, tl, tail):
    """log Phi(t) given t = th + tl and the left tail at |t| (from :func:`_left_tail`)."""
    q, ql, k, log_tail = tail
    ph, pl = _scale(q, k), _scale(ql, k)                # Phi(-|t|), underflows harmlessly
    right = np.log1p(-ph) - pl / (1.0 - ph)
    return np.where(th <= 0, log_tail, right)


def _narrow_log_mass(mh, ml, hh, hl):
    """log of the N(0,1) mass of [m - h, m + h] for h <= 1/4, h|m| <= 1/2.

    mass = phi(m) 2h K, K = sum_k He_2k(m) h^2k/(2k+1)! (Hermite generating function), with
    the scaled recursion H_n = He_n(m) h^n: H_(n+1) = (hm) H_n - n h^2 H_(n-1).  |H_n| <=
    (|hm| + h sqrt(n))^n, so terms stop once rho^2k/(2k+1)! < 2^-64, rho = max(|hm| + 4h).
    """
    y = hh * mh
    h2 = hh * hh
    rho = float(np.max(np.abs(y) + 4 * hh))
    terms, bound, fact = 0, 1.0, 1.0
    while bound > 2.0 ** -64 and terms < 12:
        terms += 1
        fact *= (2 * terms) * (2 * terms + 1)
        bound = rho ** (2 * terms) / fact
    prev, cur = np.ones_like(y), y                      # H_0, H_1
    k1 = np.zeros_like(y)
    fact = 1.0
    for n in range(1, 2 * terms):
        prev, cur = cur, y * cur - n * h2 * prev        # cur = H_(n+1)
        if n % 2 == 1:
            fact *= (n + 1) * (n + 2)                   # (n+2)!
            k1 = k1 + cur / fact
    sh, se = _square(mh)
    sl = se + 2 * mh * ml
    lh = np.log(2 * hh) + hl / hh
    a, ae = _two_sum(-0.5 * sh, -_LS_H)
    b, be = _two_sum(a, lh)
    return b + (be + ae - 0.5 * sl - _LS_L + np.log1p(k1))


def _wide_log_mass(mh, ml, hh, hl, edge):
    """log mass of [a, b] = [m - h, m + h]; edge -1: (-inf, b], +1: [a, inf), 0: [a, b]."""
    bh, be = _two_sum(mh, hh)                           # b = m + h
    bl = be + ml + hl
    ah, ae = _two_sum(mh, -hh)                          # a = m - h
    al = ae + ml - hl
    tb = _left_tail(np.abs(bh), np.where(bh < 0, -bl, bl))
    ta = _left_tail(np.abs(ah), np.where(ah < 0, -al, al))
    low_edge = _log_cdf(bh, bl, tb)                      # log Phi(b)
    high_edge = _log_cdf(-ah, -al, ta)                   # log Phi(-a)
    # interior: reflect so that m <= 0 (the mass of [a, b] equals that of [-b, -a])
    flip = mh > 0
    lo_tail = [np.where(flip, u, v) for u, v in zip(tb, ta)]    # tail at |lower edge|
    up_tail = [np.where(flip, u, v) for u, v in zip(ta, tb)]    # tail at |upper edge|
    up_val = np.where(flip, -ah, bh)                            # upper edge after reflection
    # (1) both edges <= 0: log Phi(up) + log1p(-Phi(lo)/Phi(up)); Phi(lo)/Phi(up) <= e^-0.4
    # because the bin is not narrow
    r = (lo_tail[0] / up_tail[0]) * _pow2(lo_tail[2] - up_tail[2])
    far = up_val < -74.0                  # Phi(lo), Phi(up) below e^-2738: ratio from logs
    r = np.where(far, np.exp(lo_tail[3] - up_tail[3]), r)
    rl = r * (lo_tail[1] / lo_tail[0] - up_tail[1] / up_tail[0])
    same_side = up_tail[3] + (np.log1p(-r) - rl / (1.0 - r))
    # (2) straddling 0: log1p(-(Phi(lo) + Phi(-up))), the sum below 0.81 since h > 1/4
    t, te = _two_sum(_scale(lo_tail[0], lo_tail[2]), _scale(up_tail[0], up_tail[2]))
    te = te + _scale(lo_tail[1], lo_tail[2]) + _scale(up_tail[1], up_tail[2])
    straddle = np.log1p(-t) - te / (1.0 - t)
    interior = np.where(up_val <= 0, same_side, straddle)
    return np.where(edge < 0, low_edge, np.where(edge > 0, high_edge, interior))


def _dgll_core(x, mu, ls):
    ch, cl = _two_sum(x, -mu)
    ih, il, ki = _exp_dd(-ls, np.zeros_like(ls))        # 1/sigma = (ih + il) 2^ki
    s = _pow2(ki)
    ih, il = ih * s, il * s
    # centre m = c/sigma and half-width h = w/sigma, as double-doubles
    mh, me = _two_prod(ch, ih)
    ml = me + ch * il + cl * ih
    hh, he = _two_prod(np.full_like(ch, _W_H), ih)
    hl = he + _W_H * il + _W_L * ih
    big_scale = np.abs(ki) > 1000
    if big_scale.any():                                 # sigma outside 2^+-1000: rescale
        sc = _pow2(ki[big_scale] - np.clip(ki[big_scale], -1000, 1000))
        ih0 = ih[big_scale]
        mh[big_scale] = ch[big_scale] * ih0 * sc
        hh[big_scale] = _W_H * ih0 * sc
        ml[big_scale] = hl[big_scale] = 0.0
    mh = np.clip(mh, -1e200, 1e200)
    hh = np.minimum(hh, 1e200)
    edge = np.where(x < -0.999, -1, np.where(x > 0.999, 1, 0))
    narrow = (edge == 0) & (hh <= 0.25) & (hh * np.abs(mh) <= 0.5)
    out = np.empty_like(x)
    if narrow.all():
        return _narrow_log_mass(mh, ml, hh, hl)
    if narrow.any():
        out[narrow] = _narrow_log_mass(mh[narrow], ml[narrow], hh[narrow], hl[narrow])
    wide = ~narrow
    out[wide] = _wide_log_mass(mh[wide], ml[wide], hh[wide], hl[wide], edge[wide])
    return out


def discretized_gaussian_log_likelihood(x, means, log_scales):
    """log P(bin of x) under N(means, e^{2 log_scales}), elementwise, broadcasting.

    OpenAI's conventions (``losses.discretized_gaussian_log_likelihood``): data in [-1, 1],
    bins [x - 1/255, x + 1/255]; for x < -0.999 the bin is (-inf, x + 1/255], for x > 0.999 it
    is [x - 1/255, inf).  Unlike OpenAI's code, Phi is exact (not the tanh approximation) and
    no probability floor of 1e-12 is applied.  Keyword ``means=`` / ``log_scales=`` as there.
    The half-width is exactly 1/255 (carried as a double-double).  Accuracy as measured by
    ``benchmarks/bench_kernels.py`` holds for |log_scales| < 693; beyond (sigma outside
    e^+-693) the bin centre and width are rounded once more.
    """
    shape, flat = _broadcast([("x", x), ("means", means), ("log_scales", log_scales)])
    return _chunked(_dgll_core, shape, flat)
