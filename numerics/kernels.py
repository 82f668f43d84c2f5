"""Accurate float64 kernels for diffusion losses: Gaussian KL and discretised log-likelihood.

Main statements (each kernel is a drop-in replacement for the function of the same name and
argument convention in OpenAI's improved-/guided-diffusion ``losses.py``):

* :func:`normal_kl` (mean1, logvar1, mean2, logvar2) = 1/2 (e^D - 1 - D + (m1 - m2)^2 e^-v2),
  D = logvar1 - logvar2 (exactly, as a TwoSum pair), written as a sum of two nonnegative
  terms: e^D - 1 - D from a series for |D| <= 1/32, an addition formula on a table up to
  |D| = 3 and expm1(D) - D beyond, (m1 - m2)^2 e^-v2 with an exact leading product, so that
  near-equal distributions (where the textbook formula loses every digit) are exact to an
  ulp or two;
* :func:`discretized_gaussian_log_likelihood` (x, means, log_scales): log of the N(means,
  e^{2 log_scales}) mass of the bin [x - 1/255, x + 1/255] (edge bins x < -0.999 and x > 0.999
  extend to -inf / +inf), with the exact normal CDF (not the tanh approximation, no 1e-12
  floor): tails from a tabulated Mills ratio and a double-double e^{-z^2/2}, narrow bins from
  the Hermite series of the integral of phi over the bin, wide bins from both tails;
* :func:`prior_bpd` (x_start, alpha_bar_last): KL(N(sqrt(ab) x0, 1 - ab) || N(0, 1)) / ln 2
  per element (OpenAI's ``_prior_bpd`` is its mean over the non-batch axes), as
  (-log(1 - ab) - ab + ab x0^2)/(2 ln 2) with G(ab) = -log(1 - ab) - ab >= 0 from a series
  (ab <= 1/16) or an exact addition formula around a tabulated point, without cancellation;
* :func:`kl_mvn` (mean1, cov1, mean2, cov2): multivariate Gaussian KL from double-double
  Cholesky factors and a difference Cholesky (chol(cov1) - chol(cov2) from cov1 - cov2), as a
  sum of nonnegative terms: within ~0.5 ulp for cond(cov2) up to ~1e12, near-equal pairs
  included (:mod:`numerics._mvn`).

Error-free transformations (Dekker 1971, Knuth TAOCP 4.2.2) give double-double intermediates;
the exponential of the likelihood uses Tang's table method (Tang 1989), the prior's G a table
of its values at one point per 1/256 of a binade of 1 - ab.  normal_kl and prior_bpd work in
place on cached blocks (see "fast paths" below).  Accuracy and speed are measured against
50-digit references by ``benchmarks/bench_kernels.py``.  Inputs must be finite real arrays
that broadcast together; bad input raises :class:`numerics.errors.InvalidParameter`.
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np

from numerics.errors import InvalidParameter
from numerics.precision import workdps
from numerics._float64 import (
    BIN_HALF_WIDTH,
    _H2_H,
    _M17,
    _M19,
    _TINY,
    _as_float_array,
    _blocks,
    _broadcast,
    _dd,
    _exp_dd,
    _half_g,
    _horner,
    _msplit,
    _require_finite,
    _scale,
    _square,
    _sub,
    _take,
    _two_diff,
    _two_prod,
    _two_sum,
    _two_sum_pos,
    _where,
)
from numerics.likelihood import discretized_gaussian_log_likelihood
from numerics._mvn import _Work as _MvnWork, kl_mvn_flat

_MVN_BLOCK = 524288       # matrix entries per kl_mvn block (the fastest of 2^17..2^21 measured)

__all__ = [
    "BIN_HALF_WIDTH",
    "discretized_gaussian_log_likelihood",
    "kl_mvn",
    "normal_kl",
    "prior_bpd",
]



# ---------------------------------------------------------------- Gaussian KL (exact fallback)

def _kl_exact(m1, v1, m2, v2):
    """normal_kl by double-double arithmetic throughout (slow; for the rare inputs whose
    intermediates leave the range of the fast path: (m1 - m2)^2 or e^-v2 out of range)."""
    dh, dl = _two_sum(v1, -v2)
    gh, gl = _half_g(dh, dl)
    d, de = _two_sum(m1, -m2)
    p, pe = _square(d)
    e2 = np.exp(-v2)
    qh, qe = _two_prod(p, e2)
    qh, ql = 0.5 * qh, 0.5 * (qe + (pe + 2 * d * de) * e2)
    bad = ~((qh > 1e-290) & np.isfinite(ql)) | (e2 < 2.0 ** -1022)  # split overflow: NaN
    if bad.any():                            # d = 0, or d^2 or e^-v2 out of range: rescale
        qh[bad], ql[bad] = _half_sq_exp(d[bad], de[bad], -v2[bad])
    s, e = _two_sum(gh, qh)
    out = s + (e + gl + ql)
    nan = np.isnan(out)                      # inf - inf: finite inputs, KL past overflow
    if nan.any():
        out[nan] = np.inf
    return out


def _half_sq_exp(d, de, x):
    """d^2 e^x / 2 without intermediate overflow or underflow (rare inputs)."""
    mant, ex = np.frexp(d)
    ex = ex.astype(np.int64)
    mde = _scale(de, -ex)
    p, pe = _two_prod(mant, mant)
    eh, el, k = _exp_dd(x, np.zeros_like(x))
    k2 = 2 * ex + k - 1
    hi = p * eh
    lo = (pe + 2 * mant * mde) * eh + p * el
    return _scale(hi, k2), _scale(lo, k2)


# ---------------------------------------------------------------- Gaussian KL (fast)
#
# KL = A/2 + B/2, A = e^D - 1 - D >= 0 (D = v1 - v2 = dh + dl exactly), B = dm^2 e^-v2 >= 0
# (dm = m1 - m2 exactly): no cancellation between the two, so each is carried as a pair
# hi + lo and the sum is rounded once.  A: |D| <= 1/32 series (hi = dh^2/4 rounded once);
# 1/32 < |D| <= 3 (D >= -3/2) addition formula on a table of nodes k/256 (a second pass over
# those elements); beyond, expm1(D) - D (cancellation at most 1.25-fold; np.expm1 is within
# 0.53 ulp, measured).  B: e^-v2 from np.exp (within 0.67 ulp, measured) times dm^2, the
# leading product exact.  Rare inputs (B out of range) take _kl_exact.

#: psi(D) = (e^D - 1 - D - D^2/2)/D^3: Chebyshev interpolants (mpmath.chebyfit at 50 digits)
#: for |D| <= T, by T: relative errors 2^-45.3, 2^-52.7, 2^-50.9, against the D^3 psi term's
#: share of e^D - 1 - D, at most |D|/3 (2^-21.6, 2^-11.6, 2^-6.6).  Doubled (the blocks work
#: with A/2 and multiply psi by D^2/4); highest degree first.
_PSI_LEVELS = tuple((t, tuple(2 * c for c in coef)) for t, coef in (
    (2.0 ** -20, (0.041666666666667296, 0.16666666666667046)),
    (2.0 ** -10, (0.0013888889125415259, 0.00833333352255443, 0.041666666666666664,
                  0.16666666666666666)),
    (2.0 ** -5, (2.4801990976615388e-05, 0.00019841673516969886, 0.0013888888887410584,
                 0.008333333331855024, 0.04166666666666667, 0.16666666666666674))))
_KL_SMALL = 2.0 ** -5
_KL_MID_POS = 3.0
_KL_MID_NEG = 1.5
_KL_ROWS = 20
_KL_NODES = 256                             # mid-range nodes k/256, k from -384 to 768
_KL_NODES_NEG = int(_KL_MID_NEG * _KL_NODES)
_KL_NODES_POS = int(_KL_MID_POS * _KL_NODES)
_KL_BIG = 700.0                             # above: A/2 = e^D/2 (_kl_large's patch)
with workdps(40):
    _LN2_H = float((np.array(float(mpmath.log(2))).view(np.int64) & np.int64(~4095))
                   .view(np.float64))
    _LN2_L = float(mpmath.log(2) - mpmath.mpf(_LN2_H))     # ln 2 = _LN2_H (41 bits) + _LN2_L
#: A(r)/r^2 = 1/2 + r/6 + r^2/24 + r^3/120 + r^4/720 (Taylor; for |r| <= 1/512 the next term
#: is 2^-56.3 of the sum), highest degree first
_KM_P = (1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5)


@functools.lru_cache(maxsize=1)
def _km_table():
    """Rows A(c)/2 (a double-double: two rows) and (e^c - 1)/2 at the mid-range nodes
    c = k/256, -384 <= k <= 768, at index k + 384.  Built on first use (mpmath, 40 digits,
    ~40 ms)."""
    rows = []
    with workdps(40):
        for k in range(-_KL_NODES_NEG, _KL_NODES_POS + 1):
            c = mpmath.mpf(k) / _KL_NODES
            e = mpmath.expm1(c)
            rows.append((*_dd((e - c) / 2), float(e / 2)))
    return tuple(np.array(col) for col in zip(*rows))


def _kl_small(dh, dl, hi, lo, u, bound=_KL_SMALL):
    """A/2 = hi + lo for D = dh + dl, |dh| <= bound <= 1/32: hi = fl((dh/2)^2) (one rounding:
    at most an ulp of A/2), lo = D^3 psi(D)/2 + dl (e^D - 1)/2, the latter as
    dl (dh/2 + dh^2/4), the former as (2 psi(dh)) hi dh; u is scratch."""
    psi = next(coef for t_max, coef in _PSI_LEVELS if bound <= t_max)
    np.multiply(dh, 0.5, out=lo)
    np.multiply(lo, lo, out=hi)
    np.add(lo, hi, out=lo)
    np.multiply(lo, dl, out=lo)
    _horner(psi, dh, u)
    np.multiply(u, hi, out=u)
    np.multiply(u, dh, out=u)
    np.add(lo, u, out=lo)


def _kl_large(dh, dl, hi, lo, t, u):
    """A/2 = hi + lo beyond the mid range: (expm1(dh) - dh)/2, the difference exact (TwoSum),
    plus dl (e^dh - 1)/2.  dh is clipped to [-40, 700] for expm1 (np.expm1 takes a slow path
    near its overflow, and expm1(-40) = -1 to double precision, as e^dh - 1 is for every
    dh < -40); above 700, A/2 = e^D/2 (1 + D is below 2^-900 of it) = e^(dh - ln2) (1 + dl -
    ln2_lo), dh - ln2_hi exact (dh's quantum 2^-43 divides ln2_hi's 2^-41).  Where that
    overflows, hi = lo = the largest double (see below)."""
    np.clip(dh, -40.0, _KL_BIG, out=t)
    np.expm1(t, out=t)
    _two_diff(t, dh, hi, lo, u)
    np.multiply(t, dl, out=t)
    np.add(lo, t, out=lo)
    np.multiply(hi, 0.5, out=hi)
    np.multiply(lo, 0.5, out=lo)
    if dh.max() > _KL_BIG:
        big = _where(dh > _KL_BIG)
        h = np.exp(dh[big] - _LN2_H) * (1.0 + (dl[big] - _LN2_L))
        # A/2 past the largest double: hi = lo = the largest double, so that the result is
        # inf (hi + lo overflows) and not NaN (hi = inf would make the final TwoSum inf - inf)
        over = h == np.inf
        h[over] = _DBL_MAX
        hi[big] = h
        lo[big] = over * _DBL_MAX


def _kl_rest(idx, dh, dl, ah, al, rows):
    """A/2 at the elements idx of the block (|D| > 1/32), on compacted rows: expm1(D) - D on
    all of them, then the addition formula on those in the mid range (a second compaction,
    within the first); one gather of D and one scatter of A/2 per element."""
    k = idx.size
    d, dlo, hi, lo, t, u, *more = (w[:k] for w in rows)
    _take(dh, idx, d)
    _take(dl, idx, dlo)
    _kl_large(d, dlo, hi, lo, t, u)
    mid = _where((d <= _KL_MID_POS) & (d >= -_KL_MID_NEG))
    if mid.size:
        _sub(_kl_mid, mid, (d, dlo), (hi, lo), [t, u] + more, 4)
    ah[idx] = hi
    al[idx] = lo


def _kl_mid(dh, dl, hi, lo, r, t, u, j):
    """A/2 = hi + lo for 1/32 < |dh| <= 3, dh >= -3/2, by A(c + rho) = A(c) + E(c) rho +
    e^c A(rho) at the node c = k/256 nearest dh, E(c) = e^c - 1, rho = r + dl, r = dh - c
    exact (Sterbenz: |r| <= 1/512 <= |c|/16).  hi = A(c)/2's high part (table); lo = its low
    part + E(c)/2 r + E(c)/2 dl + e^c A(r)/2 (A(rho) - A(r) ~ r dl is below 2^-60 of A(D)).
    |E(c) r| is at most 0.142 A(D) (|E(c) r| <= E(c)/512, A(D) >= (|c| - 1/512)^2/2 roughly,
    the worst at |c| = 1/32): the roundings of E(c)/2 r, of the table's E(c)/2 and of lo's
    last sum cost at most 0.08 ulp each; e^c A(r) is under 2^-8 of A(D), its polynomial
    exact to 2^-56.  Rows: r, t, u scratch, j (a float row) the table indices."""
    ah_tab, al_tab, e2_tab = _km_table()
    j = j.view(np.intp)
    np.multiply(dh, float(_KL_NODES), out=t)
    np.rint(t, out=t)
    np.add(t, float(_KL_NODES_NEG), out=u)
    j[...] = u
    np.multiply(t, 1 / _KL_NODES, out=t)
    np.subtract(dh, t, out=r)                # exact
    _horner(_KM_P, r, t)
    np.multiply(t, r, out=t)
    np.multiply(t, r, out=t)                 # A(r)
    _take(e2_tab, j, u)                      # E(c)/2
    np.multiply(u, dl, out=lo)
    np.multiply(u, r, out=r)                 # E(c)/2 r
    np.add(u, 0.5, out=u)                    # e^c/2
    np.multiply(u, t, out=t)
    np.add(lo, t, out=lo)
    _take(al_tab, j, t)
    np.add(lo, t, out=lo)
    np.add(lo, r, out=lo)
    _take(ah_tab, j, hi)


def _kl_block(m1, v1, m2, v2, out, work, start=0, rare=None):
    """KL on one block; appends the (global) indices of elements for the exact path to
    rare."""
    n = m1.size
    dh, dl, t, u, e, x, y, bh, bl, ah, al, xa, ea = (w[:n] for w in work[:13])
    rows = [t, u, e, x, y] + [w[:n] for w in work[13:]]     # scratch
    _two_diff(v1, v2, dh, dl, t)
    # B/2 = bh + bl: dm = x + y, x = xa + b (xa 17 bits), e = e^-v2/2 = ea + e2 (ea 19 bits):
    # bh = ea xa^2 exactly, bl = e2 xa^2 + e (b + y)(xa + x); xa and ea are kept for _kl_range
    np.negative(v2, out=e)
    np.exp(e, out=e)
    np.multiply(e, 0.5, out=e)
    _two_diff(m1, m2, x, y, t)
    _msplit(x, _M17, xa, u)
    np.add(u, y, out=u)
    np.multiply(xa, xa, out=bh)
    a2_bad = not bh.min() >= _TINY and bool(x[_where(bh < _TINY)].any())
    np.add(x, xa, out=x)
    np.multiply(x, u, out=x)
    np.multiply(x, e, out=x)
    e_bad = not e.min() >= 2.0 ** -1022
    _msplit(e, _M19, ea, u)
    np.multiply(u, bh, out=bl)
    np.add(bl, x, out=bl)
    np.multiply(ea, bh, out=bh)
    np.abs(dh, out=t)
    tmax = t.max()
    if tmax <= _KL_SMALL:
        _kl_small(dh, dl, ah, al, y, tmax)
    else:
        small = t <= _KL_SMALL
        ns = np.count_nonzero(small)
        if 2 * ns >= n:                      # the commoner regime on the whole block
            _kl_small(dh, dl, ah, al, y)
            _kl_rest(_where(~small), dh, dl, ah, al, rows)
        else:
            _kl_large(dh, dl, ah, al, x, y)
            if ns:
                _sub(_kl_small, _where(small), (dh, dl), (ah, al), rows, 1)
            midr = _where(~small & (dh <= _KL_MID_POS) & (dh >= -_KL_MID_NEG))
            if midr.size:                    # 1/32 < |D| <= 3: addition formula
                _sub(_kl_mid, midr, (dh, dl), (ah, al), rows, 4)
    _two_sum_pos(ah, bh, out, u, t)
    np.add(u, al, out=u)
    np.add(u, bl, out=u)
    np.add(out, u, out=out)
    # results outside [2^-900, inf] (NaN, tiny, zero) have bits - bits(2^-900) at least
    # _KL_SPAN as unsigned integers.  An inf result is certain: A/2 overflowed (hi = lo = the
    # largest double), or the sum of finite parts did; B/2 overflowing gives NaN (the final
    # TwoSum's inf - inf), as does a NaN or inf input (_kl_range)
    w = t.view(np.int64)
    np.subtract(out.view(np.int64), _KL_LOW_BITS, out=w)
    w = w.view(np.uint64)
    if a2_bad or e_bad or w.max() >= _KL_SPAN:
        for idx in _kl_range(out, w, dh, ah, bh, xa, ea, m1, v1, m2, v2, a2_bad, e_bad,
                             tmax):
            rare.append(idx + start)


#: log of the largest double, rounded down
_LOG_MAX = 709.782712893384
_KL_LOW_BITS = np.array(2.0 ** -900).view(np.int64)
_KL_SPAN = np.uint64(np.array(np.inf).view(np.int64) - _KL_LOW_BITS + 1)
_DBL_MAX = float(np.finfo(np.float64).max)


def _kl_range(out, w, dh, ah, bh, xa, ea, m1, v1, m2, v2, a2_bad, e_bad, tmax):
    """Elements the fast path cannot vouch for (w >= _KL_SPAN marks the results that are NaN
    or below 2^-900): overflow of the B part (certain overflow of the sum gives inf, anything
    else the exact path) or of both parts; dm^2 or e^-v2 below the normal range; results
    below 2^-900 other than KL(p || p) = 0.  Yields the indices for the exact path.  Looks
    only at the block's workspace but for the inputs of the elements it sends to the exact
    path."""
    idx = _where(w >= _KL_SPAN)
    high = np.isnan(out[idx])
    if high.any():                           # a NaN or inf input, or overflow
        idx, low = idx[high], idx[~high]
        xi = xa[idx]
        # a NaN or inf input gives a NaN result, and a NaN or inf dh = logvar1 - logvar2
        # (tmax = max |dh|) or xa (the top bits of mean1 - mean2) there
        if not (tmax < np.inf and math.isfinite(np.add.reduce(xi))):
            _require_finite(*(a[idx] for a in (m1, v1, m2, v2)))
        a_inf = ~(ah[idx] < _DBL_MAX)        # A/2 overflowed, and so did B/2 or the sum
        b_inf = ~a_inf & ~(bh[idx] < np.inf)
        # B/2 >= ea xa^2 (1 - 2^-51): certain overflow when its log is past log(max double)
        # by far more than the logs' rounding errors; else the exact path
        over = np.log(ea[idx]) + 2 * np.log(np.abs(xi)) > _LOG_MAX + 1e-9
        out[idx[a_inf | (b_inf & over)]] = np.inf
        yield idx[~a_inf & ~(b_inf & over)]  # B/2 or the sum of the parts overflowed
    else:
        low = idx
    if a2_bad:
        yield _where((np.abs(m1 - m2) < 2.0 ** -479) & (m1 != m2))
    if e_bad:
        yield _where(v2 > 708.0)
    # results below 2^-900: exact path unless logvar1 = logvar2 and mean1 = mean2 (xa = 0:
    # mean1 = mean2, or |mean1 - mean2| < 2^-1022, which sets a2_bad)
    yield low[(dh[low] != 0) | (xa[low] != 0)]


def normal_kl(mean1, logvar1, mean2, logvar2):
    """KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)), elementwise, broadcasting.

    Same argument conventions as OpenAI's ``losses.normal_kl`` (log-variances).  Computed as
    1/2 (e^D - 1 - D) + 1/2 (mean1 - mean2)^2 e^{-logvar2}, D = logvar1 - logvar2, both terms
    nonnegative and each carried as a double-double (see the module docstring).  Returns a
    float for scalar inputs, else an array of the broadcast shape.
    """
    named = [("mean1", mean1), ("logvar1", logvar1), ("mean2", mean2), ("logvar2", logvar2)]
    shape, flat = _broadcast(named, check=False)
    n = int(np.prod(shape, dtype=np.int64))
    rare = []
    with np.errstate(all="ignore"):          # overflow to inf and underflow to 0 are intended
        out = _blocks(_kl_block, n, flat, _KL_ROWS, (), named, rare=rare)
        if rare:
            idx = np.unique(np.concatenate(rare))
            for start in range(0, idx.size, 4096):
                part = idx[start:start + 4096]
                out[part] = _kl_exact(*(a[part] for a in flat))
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


# ---------------------------------------------------------------- prior bits per dimension
#
# bits = (G(a) + a x0^2) / (2 ln 2), G(a) = -log(1 - a) - a >= 0 (a = alpha_bar_{T-1}): G by
# a series for a <= 1/16 and above by G(a) = G(c) + c rho + G(rho), c a table point; a x0^2 =
# a1 xa^2 exactly (a1 19 bits, xa 17 bits) plus a small remainder; G + a x0^2 = s + lo with s
# the rounded sum of the two large terms and lo its exact error plus the small terms.  Error
# budget of the result: fl(s C) + fl(lo C), C = fl(1/(2 ln 2)), rounds twice (1 ulp; 1.5
# where s C rounds up to a power of two just above the result) and C is 0.127 ulp off; the
# terms of the sum carry below 0.2 ulp (the table route's c rho, 3 roundings on at most 6.7%
# of G): under 1.85 ulp in all, 1.12 measured.  Results below 2^-1000 are recomputed scaled
# by 2^1000.

#: Q(a) = (G(a) - a^2/2)/a^3 on [0, 1/16], degree-8 Chebyshev interpolant, relative error
#: 2^-53 (the a^3 Q term is at most 4.2% of G there); highest degree first.
_PRIOR_Q = (0.1183547777502997, 0.09661989366697432, 0.11132994255780959,
            0.12499182699289843, 0.14285732122925185, 0.16666666448676962,
            0.20000000001331653, 0.24999999999996872, 0.33333333333333337)
#: R(rho) = G(rho)/rho^2 = 1/2 + rho/3 + rho^2/4 + ... on [-2^-8, 2^-44], degree-4 Chebyshev
#: interpolant, relative error 2^-49.8 (G(rho) is at most 2^-9.8 of G); highest degree first.
_PRIOR_R = (0.16527928992068378, 0.1999952663719337, 0.24999999340140225,
            0.3333333333301125, 0.4999999999999997)
_PRIOR_SMALL = 1.0 / 16
#: results below this are recomputed scaled: above it every intermediate that matters is a
#: normal double, and the subnormal ones are below 2^-65 of the result
_PRIOR_TINY = 2.0 ** -1000
_PRIOR_ROWS = 16
_LOG_BITS = 8                        # table buckets: 2^8 per binade of 1 - a
_LOG_SHIFT = 52 - _LOG_BITS
_LOG_BASE = (1023 - 53) << _LOG_BITS     # first used table index: 1 - a = 2^-53
_LOG_MASK = np.array(-1 << _LOG_SHIFT, dtype=np.int64)       # keeps sign, exponent, 8 bits


@functools.lru_cache(maxsize=1)
def _g_table():
    """G(c) = -log(1 - c) - c as a double-double (rows hi, lo) for c = 1 - w_lo, w_lo the
    bottom of each bucket of w = 1 - a in [2^-53, 1) (a binade and the top 8 mantissa bits
    of w), at index (bits of w) >> 44; the entries below _LOG_BASE are never read.  c is
    formed as _prior_g_table forms it.  Built on first use (mpmath, 40 digits, ~0.3 s)."""
    bits = np.arange(_LOG_BASE, 1023 << _LOG_BITS, dtype=np.int64) << _LOG_SHIFT
    c = 1.0 - bits.view(np.float64)
    rows = []
    with workdps(40):
        for ci in c.tolist():
            m = mpmath.mpf(ci)
            rows.append(_dd(-mpmath.log(1 - m) - m))
    table = np.zeros((2, _LOG_BASE + len(rows)))
    table[:, _LOG_BASE:] = np.array(rows).T
    return tuple(table)


def _prior_g_small(a, gh, gl, t, u, cubic=True, small=None, v=None, q=None):
    """G(a) = gh + gl for 0 <= a <= 1/16: a^2/2 = t^2/2 + u (a + t)/2 with a = t + u (19-bit
    split, t^2 exact) plus a^3 Q(a); cubic=False gives a^2/2 alone (the scaled tiny path).
    small: where the result is wanted (a mask; elsewhere gh, gl are finite and unused).
    v, q: scratch for the cubic term (default t, u); given, the split of a survives in t, u."""
    v = t if v is None else v
    q = u if q is None else q
    _msplit(a, _M19, t, u)
    np.add(a, t, out=gl)
    np.multiply(gl, u, out=gl)
    np.multiply(gl, 0.5, out=gl)
    np.multiply(t, t, out=gh)
    np.multiply(gh, 0.5, out=gh)
    if not cubic:
        return
    # a^3 Q(a) is below 2^-60 of G for a <= 2^-59: only the larger a need it
    big = a > 2.0 ** -59
    if small is not None:
        big &= small
    nb = np.count_nonzero(big)
    if 4 * nb >= a.size:
        _horner(_PRIOR_Q, a, v)
        np.multiply(v, a, out=v)
        np.multiply(v, a, out=v)
        np.multiply(v, a, out=v)
        np.add(gl, v, out=gl)
    elif nb:
        idx = _where(big)
        ab, q = v[:nb], q[:nb]
        _take(a, idx, ab)
        _horner(_PRIOR_Q, ab, q)
        np.multiply(q, ab, out=q)
        np.multiply(q, ab, out=q)
        np.multiply(q, ab, out=q)
        gl[idx] += q


def _prior_g_table(a, gh, gl, w, c, r, t, j):
    """G(a) = gh + gl (a normalised double-double) for 1/16 < a < 1.

    For any c < 1, 1 - a = (1 - c)(1 - rho) with rho = (a - c)/(1 - c), and so exactly
    G(a) = G(c) + c rho + G(rho).  c = 1 - w_lo, w_lo the bottom of the table bucket of
    w = fl(1 - a) (w with its mantissa cut to 8 bits).  w, and so w_lo, lies on the 2^-53 grid
    of 1 - a (exact above a = 1/2, rounded to it below), so c and 1 - c = w_lo are exact, and
    a - c is (Sterbenz).  rho = (a - c)/w_lo rounds once and lies in [-2^-8, 2^-50] (0 where
    the bucket holds one point of the grid, w < 2^-45); |c rho| <= 0.067 G and G(rho) <=
    2^-9.8 G (their worst bucket is the one at a = 1/16).  m = rho (c + rho R(rho)) rounds
    three times, G(c) = T_hi + T_lo comes from the table, and a Fast2Sum of T_hi and m (|m| <
    T_hi) keeps gh + gl normalised, which the final scaling needs to round at most once per
    ulp of gh."""
    tgh, tgl = _g_table()
    np.subtract(1.0, a, out=w)
    bits = w.view(np.int64)
    np.right_shift(bits, _LOG_SHIFT, out=j)
    np.bitwise_and(bits, _LOG_MASK, out=w.view(np.int64))     # w_lo: 1 - a rounded down
    np.subtract(1.0, w, out=c)               # c = 1 - w_lo, exactly (w_lo is on 1 - a's grid)
    np.subtract(a, c, out=r)                 # a - c, exactly (Sterbenz)
    np.divide(r, w, out=r)                   # rho = (a - c)/(1 - c), in [-2^-8, 2^-50]
    _horner(_PRIOR_R, r, t)
    np.multiply(t, r, out=t)                 # G(rho)/rho
    np.add(t, c, out=t)
    np.multiply(t, r, out=c)                 # m = c rho + G(rho), |m| <= 0.067 G
    _take(tgh, j, t)
    np.add(t, c, out=gh)                     # Fast2Sum of T_hi and m: gh + gl stays a
    np.subtract(gh, t, out=t)                # normalised double-double (the final
    np.subtract(c, t, out=c)                 # scaling's rounding is half an ulp of gh)
    _take(tgl, j, gl)
    np.add(gl, c, out=gl)


def _prior_sum(x0, a, gh, gl, out, a1, a2, xa, xb, t, u, split=True):
    """out = (gh + gl + a x0^2) / (2 ln 2); a x0^2 = a1 xa xa (exact) + remainder, a = a1 + a2
    the 19-bit split (split=False: a1, a2 hold it already)."""
    if split:
        _msplit(a, _M19, a1, a2)
    _msplit(x0, _M17, xa, xb)
    np.add(xa, x0, out=t)
    np.multiply(t, a, out=t)
    np.multiply(t, xb, out=t)                # a (x0^2 - xa^2)
    np.multiply(xa, xa, out=xa)              # xa^2, exact (34 bits); past |x0| ~ 2^511 it
    np.multiply(a2, xa, out=u)               # overflows, and the result turns NaN (inf -
    np.add(t, u, out=xb)                     # inf below), which sends it to the exact path
    np.multiply(a1, xa, out=a1)              # a1 xa^2, exact
    _two_sum_pos(gh, a1, out, u, t)
    np.add(u, gl, out=u)
    np.add(u, xb, out=u)
    np.multiply(u, _H2_H, out=u)
    np.multiply(out, _H2_H, out=out)
    np.add(out, u, out=out)


def _prior_block(x0, a, out, work, start=0, rare=None, subnormal=True,
                 scaled=False):
    """bits on one block, results below _PRIOR_TINY recomputed scaled (_prior_tiny); appends
    the (global) indices of NaN (overflow) and subnormal alpha_bar to rare (the exact
    path)."""
    n = x0.size
    gh, gl = work[0, :n], work[1, :n]
    rows = [w[:n] for w in work[2:]]
    if scaled:
        _prior_g_small(a, gh, gl, *rows[:2], cubic=False)
        _prior_sum(x0, a, gh, gl, out, *rows[:6])
        return
    small = a <= _PRIOR_SMALL
    ns = np.count_nonzero(small)
    table = lambda *r: _prior_g_table(*r[:7], r[7].view(np.int64))    # noqa: E731
    # per element, the table route costs ~5.5 ns on this machine, the series ~1.5 (both on
    # the whole block), moving an element to a compacted row and back ~2.7: the whole block
    # takes the table route only when fewer than 40% of its elements have a <= 1/16 (speed)
    if 10 * ns < 4 * n:
        table(a, gh, gl, *rows[:5])
        if ns:
            _sub(_prior_g_small, _where(small), (a,), (gh, gl), rows, 2)
        _prior_sum(x0, a, gh, gl, out, *rows[:6])
    else:
        # the series' split of a (rows 10 and 11, which the compacted table route leaves
        # alone) serves the sum too
        _prior_g_small(a, gh, gl, rows[10], rows[11], small=small, v=rows[0], q=rows[1])
        if ns < n:
            _sub(table, _where(~small), (a,), (gh, gl), rows, 5)
        _prior_sum(x0, a, gh, gl, out, rows[10], rows[11], *rows[:4], split=False)
    if not out.max() < np.inf:               # a NaN or inf input, or overflow
        _require_finite(x0, a)
        rare.append(_where(np.isnan(out)) + start)
    if subnormal and not a.min() >= 2.0 ** -1022:
        rare.append(_where((a > 0) & (a < 2.0 ** -1022)) + start)
    if not out.min() >= _PRIOR_TINY:         # needs a < 2^-499: G > 2e-3 above 1/16
        _prior_tiny(x0, a, out, _where(out < _PRIOR_TINY), work)


def _prior_tiny(x0, a, out, idx, work):
    """out[idx] for results below 2^-1000, recomputed scaled (see prior_bpd) on compacted
    rows 8-10 of the block's workspace (rows 0-7 serve the scaled block)."""
    k = idx.size
    xs, ys, vals = work[8, :k], work[9, :k], work[10, :k]
    _take(x0, idx, xs)
    np.multiply(xs, 2.0 ** 250, out=xs)
    _take(a, idx, ys)
    np.multiply(ys, 2.0 ** 500, out=ys)
    _prior_block(xs, ys, vals, work, scaled=True)
    np.multiply(vals, 2.0 ** -1000, out=vals)
    out[idx] = vals


def _prior_scalar_block(x0, out, work, const, start=0, tiny=None, rare=None):
    """out = C + K x0^2 for one alpha_bar: C = G/(2 ln 2), K = a/(2 ln 2) double-doubles,
    K = k1 + k2 (k1 19 bits); two roundings at the end (< 1 ulp)."""
    ch, cl, k1, k2, kh = const
    n = x0.size
    xa, xb, t, u = (w[:n] for w in work[:4])
    _msplit(x0, _M17, xa, xb)
    np.add(xa, x0, out=t)
    np.multiply(t, kh, out=t)
    np.multiply(t, xb, out=t)                # K (x0^2 - xa^2)
    np.multiply(xa, k2, out=u)
    np.multiply(u, xa, out=xb)               # k2 xa^2
    np.add(t, xb, out=t)
    np.add(t, cl, out=t)
    np.multiply(xa, k1, out=u)
    np.multiply(u, xa, out=u)                # k1 xa^2, exact
    np.add(u, t, out=u)
    np.add(u, ch, out=out)
    if not out.max() < np.inf:
        _require_finite(x0)
        rare.append(_where(np.isnan(out)) + start)
    if kh > 0 and not out.min() >= _PRIOR_TINY:     # alpha_bar = 0: all exactly 0
        tiny.append(_where(out < _PRIOR_TINY) + start)


def _prior_exact(x0, a):
    """The prior's bits at 60 digits (inputs beyond the fast paths' range; rare)."""
    res = np.empty(x0.size)
    for i, (x, ab) in enumerate(zip(x0.tolist(), a.tolist())):
        with workdps(60 + (int(-math.log10(ab)) if ab > 0 else 0)):    # G cancels
            m = mpmath.mpf(ab)
            res[i] = float((-mpmath.log1p(-m) - m + m * mpmath.mpf(x) ** 2)
                           / (2 * mpmath.log(2)))
    return res


def prior_bpd(x_start, alpha_bar_last):
    """KL(N(sqrt(ab) x0, 1 - ab) || N(0, 1)) / ln 2 elementwise (bits), ab = alpha_bar_{T-1}.

    OpenAI's ``_prior_bpd`` is the mean of this over all axes but the batch axis.  Needs
    alpha_bar_last in [0, 1); a scalar alpha_bar_last (the usual case) is handled once.
    """
    named = [("x_start", x_start), ("alpha_bar_last", alpha_bar_last)]
    ab = _as_float_array(alpha_bar_last, "alpha_bar_last", check=False)
    scalar = ab.size == 1 and np.ndim(x_start) >= ab.ndim and not 0 < ab.flat[0] < 2.0 ** -1022
    shape, flat = _broadcast(named[:1] if scalar else named, check=False)
    amin = ab.min() if ab.size else 0.0
    if ab.size and not (amin >= 0 and ab.max() < 1):
        for name, value in named:                    # NaN or inf first, as everywhere
            _as_float_array(value, name)
        raise InvalidParameter("alpha_bar_last", alpha_bar_last, "values in [0, 1)")
    x0 = flat[0]
    if scalar:
        shape = np.broadcast_shapes(shape, ab.shape)
        a = float(ab.reshape(-1)[0])
        # -log(1 - a) - a loses about -log10(a) digits to cancellation
        with workdps(40 + (int(-math.log10(a)) if a > 0 else 0)):
            m = mpmath.mpf(a)
            kh = float(m / (2 * mpmath.log(2)))
            k1 = float((np.array(kh).view(np.int64) & _M19).view(np.float64))
            const = (*_dd((-mpmath.log1p(-m) - m) / (2 * mpmath.log(2))), k1,
                     float(m / (2 * mpmath.log(2)) - mpmath.mpf(k1)), kh)
        n = x0.size
        a_of = lambda idx: np.full(idx.size, a)          # noqa: E731
        block, rows, named, kwargs = _prior_scalar_block, 4, named[:1], {"const": const}
    else:
        n = int(np.prod(shape, dtype=np.int64))
        a_of = lambda idx: flat[1][idx]                  # noqa: E731
        block, rows = _prior_block, _PRIOR_ROWS
        kwargs = {"subnormal": not amin >= 2.0 ** -1022}
    rare, tiny = [], []
    if scalar:
        kwargs["tiny"] = tiny
    with np.errstate(all="ignore"):
        out = _blocks(block, n, flat, rows, (), named, rare=rare, **kwargs)
        rare = np.unique(np.concatenate(rare)) if rare else None
        idx = np.concatenate(tiny) if tiny else np.zeros(0, dtype=np.intp)
        if rare is not None:
            idx = np.setdiff1d(idx, rare)
        if idx.size:                         # one alpha_bar (the blocks do their own)
            # result < 2^-1000: then a < 2^-499 and |x0| < 2^12, G(a) = a^2/2 to 2^-499, and
            # bits = 2^-1000 (b^2/2 + b y^2)/(2 ln 2) with b = 2^500 a, y = 2^250 x0 exactly
            vals = _blocks(_prior_block, idx.size,
                           [x0[idx] * 2.0 ** 250, a_of(idx) * 2.0 ** 500], _PRIOR_ROWS,
                           (), scaled=True)
            out[idx] = vals * 2.0 ** -1000
        if rare is not None:
            out[rare] = _prior_exact(x0[rare], a_of(rare))
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


def kl_mvn(mean1, cov1, mean2, cov2):
    """KL(N(mean1, cov1) || N(mean2, cov2)) for batches: means (..., n), covariances (..., n, n).

    Double-double Cholesky factors and a *difference* Cholesky (chol(cov1) - chol(cov2) from
    cov1 - cov2, so near-equal pairs keep their digits); KL = 1/2 [sum_i phi(K_ii) +
    sum_{i>j} K_ij^2 + |z|^2] with K = L2^-1 L1 - I, z = L2^-1 (mean1 - mean2) and phi(k) =
    (1+k)^2 - 1 - 2 log(1+k): nonnegative terms, each to relative accuracy, so the result is
    within ~0.5 ulp while cond(cov2) n 2^-104 stays below 2^-54 (cond(cov2) up to ~1e12; see
    :mod:`numerics._mvn`).  Covariances must be symmetric positive definite; the KL is inf
    where it exceeds the largest double.
    """
    m1 = _as_float_array(mean1, "mean1")
    m2 = _as_float_array(mean2, "mean2")
    c1 = _as_float_array(cov1, "cov1")
    c2 = _as_float_array(cov2, "cov2")
    for name, c in (("cov1", c1), ("cov2", c2)):
        if c.ndim < 2 or c.shape[-1] != c.shape[-2] or c.shape[-1] == 0:
            raise InvalidParameter(name, c.shape, "a (..., n, n) array with n >= 1")
    n = c1.shape[-1]
    for name, m in (("mean1", m1), ("mean2", m2)):
        if m.ndim < 1 or m.shape[-1] != n:
            raise InvalidParameter(name, m.shape, f"a (..., {n}) array matching cov1")
    if c2.shape[-1] != n:
        raise InvalidParameter("cov2", c2.shape, f"a (..., {n}, {n}) array matching cov1")
    try:
        batch = np.broadcast_shapes(m1.shape[:-1], m2.shape[:-1], c1.shape[:-2], c2.shape[:-2])
    except ValueError:
        raise InvalidParameter("mean1", m1.shape, "batch shapes that broadcast together",
                               hint=f"cov1{c1.shape}, mean2{m2.shape}, cov2{c2.shape}") from None
    flat = [np.broadcast_to(a, batch + a.shape[a.ndim - k:]).reshape((-1,) + a.shape[a.ndim - k:])
            for a, k in ((m1, 1), (c1, 2), (m2, 1), (c2, 2))]
    total = np.empty(flat[0].shape[0])
    step = max(64, _MVN_BLOCK // (n * n))
    work = _MvnWork(n * (n + 1) * min(step, total.size))
    for start in range(0, total.size, step):
        part = slice(start, start + step)
        values, bad = kl_mvn_flat(*(a[part] for a in flat), work)
        if bad is not None:
            name, index, valid, hint = bad
            where = tuple(int(i) for i in np.unravel_index(start + index, batch)) if batch else ()
            raise InvalidParameter(name, "<matrix>", valid, hint=f"{hint} (batch index {where})")
        total[part] = values
    total = total.reshape(batch)
    return total[()] if total.ndim == 0 else total
