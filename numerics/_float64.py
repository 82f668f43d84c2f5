"""Shared machinery of the float64 kernels (:mod:`numerics.kernels`, :mod:`numerics.likelihood`).

Error-free transformations (Dekker 1971, Knuth TAOCP 4.2.2: TwoSum, splitting, TwoProduct), a
double-double exponential (Tang 1989), input validation and broadcasting, and blockwise
in-place evaluation on a preallocated workspace (fresh temporaries cost more in page faults
than the arithmetic).  Private to the kernels: no stable API.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from numerics.errors import InvalidParameter
from numerics.precision import workdps


#: Half-width of a pixel bin for data in [-1, 1] quantised to 256 levels (OpenAI's 1/255).
BIN_HALF_WIDTH = "1/255"
_CHUNK = 32768              # elements per block: temporaries stay in the 1 MiB L2
_SPLIT = 134217729.0        # 2^27 + 1, Dekker's splitter


def _dd(value: mpmath.mpf) -> tuple[float, float]:
    """A high-precision number as a double-double (hi, lo)."""
    hi = float(value)
    return hi, float(value - mpmath.mpf(hi))


with workdps(60):
    _LN2_32 = mpmath.log(2) / 32
    _L1_BITS = np.array(float(_LN2_32)).view(np.int64) & np.int64(~((1 << 18) - 1))
    _L1 = float(_L1_BITS.view(np.float64))      # ln2/32 to 35 bits
    _L2 = float(_LN2_32 - mpmath.mpf(_L1))        # n*_L1 is exact for |n| < 2^17
    _INV_L = float(1 / _LN2_32)
    _T = [_dd(mpmath.mpf(2) ** (mpmath.mpf(j) / 32)) for j in range(32)]
    _W_H, _W_L = _dd(mpmath.mpf(1) / 255)
    _C_H, _C_L = _dd(1 / mpmath.sqrt(2 * mpmath.pi))              # 1/sqrt(2 pi)
    _LS_H, _LS_L = _dd(mpmath.log(2 * mpmath.pi) / 2)             # log sqrt(2 pi)
    _H2_H = float(1 / (2 * mpmath.log(2)))        # 1/(2 ln 2), 0.127 ulp off
_T_HI = np.array([t[0] for t in _T])
_T_LO = np.array([t[1] for t in _T])
_T_A = (_T_HI * _SPLIT) - ((_T_HI * _SPLIT) - _T_HI)       # 26-bit halves of _T_HI
_T_B = _T_HI - _T_A
#: psi(D) = (e^D - 1 - D - D^2/2)/D^3 on [-1/2, 1/2]: degree-10 Chebyshev interpolant
#: (mpmath.chebyfit at 50 digits), relative error 3.6e-17 (the D^3 psi term is at most 1/6 of
#: the total, so this costs < 0.05 ulp); highest degree first.
_PSI = (
        1.6111702739215268e-10,
        2.0955762289494408e-09,
        2.5051976670128072e-08,
        2.755712159501279e-07,
        2.755731936808379e-06,
        2.480158751780227e-05,
        0.00019841269841205505,
        0.0013888888888792352,
        0.008333333333333342,
        0.04166666666666679,
        0.16666666666666666,
)


# ---------------------------------------------------------------- error-free transformations

def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a):
    c = a * _SPLIT
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a, b):
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _pow2(k):
    """2.0**k for an int64 array k: 0.0 below -1022, inf above 1023."""
    return ((np.clip(k, -1023, 1024) + 1023) << 52).view(np.float64)


def _scale(x, k):
    """x * 2^k for |k| up to ~3000, rounding once (first factor keeps x normal)."""
    k1 = np.clip(k, -1000, 1000)
    return (x * _pow2(k1)) * _pow2(k - k1)


def _exp_dd(xh, xl):
    """e^(xh + xl) = (eh + el) * 2^k, eh + el accurate to ~2^-67 relative (normalised).

    Tang's method: x = (32k + j) ln2/32 + r, |r| <= ln2/64, e^x = 2^k 2^(j/32) e^r, with
    2^(j/32) tabulated as a double-double and e^r from its Taylor series to degree 7.
    """
    xh = np.clip(xh, -2800.0, 2800.0)            # |n| < 2^17 keeps n*_L1 exact
    n = np.rint(xh * _INV_L)
    ni = n.astype(np.int64)
    j = ni & 31
    k = ni >> 5
    rh, rl = _two_sum(xh - n * _L1, -(n * _L2))     # xh - n*_L1 is exact (Sterbenz)
    rl = rl + xl
    q = rh * rh * (0.5 + rh * (1 / 6 + rh * (1 / 24 + rh * (1 / 120 + rh * (
        1 / 720 + rh * (1 / 5040))))))           # e^rh - 1 - rh
    q = q + rl * (1.0 + rh + q)                  # + e^rh (e^rl - 1), |rl| < 2^-40
    sh, sl = _T_HI.take(j), _T_LO.take(j)
    sa, sb = _T_A.take(j), _T_B.take(j)
    ra, rb = _split(rh)
    p = sh * rh
    pe = ((sa * ra - p) + sa * rb + sb * ra) + sb * rb      # sh*rh = p + pe exactly
    eh = sh + p
    el = (p - (eh - sh)) + (pe + sh * q + sl * (1.0 + rh + q))
    hi = eh + el                                 # normalise: |lo| <= ulp(hi)/2
    return hi, el - (hi - eh), k


# ---------------------------------------------------------------- input handling

def _as_float_array(value, name, check=True):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameter(name, value, "a real array or number") from None
    # a finite sum proves every element finite (one fast reduction); an infinite or NaN sum
    # may still be overflow of finite values, so then look element by element
    if check and not np.isfinite(np.add.reduce(arr, axis=None)) and not np.isfinite(arr).all():
        raise InvalidParameter(name, value, "finite values (no NaN or inf)")
    return arr


def _broadcast(named, check=True):
    arrays = [_as_float_array(v, n, check) for n, v in named]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(f"{n}{a.shape}" for (n, _), a in zip(named, arrays))
        raise InvalidParameter(named[0][0], arrays[0].shape,
                               "shapes that broadcast together", hint=shapes) from None
    flat = [np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
    return shape, flat


def _chunked(core, shape, flat):
    out = np.empty(int(np.prod(shape, dtype=np.int64)))
    with np.errstate(all="ignore"):          # overflow to inf and underflow to 0 are intended
        for start in range(0, out.size, _CHUNK):
            stop = min(start + _CHUNK, out.size)
            out[start:stop] = core(*(a[start:stop] for a in flat))
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


# ---------------------------------------------------------------- fast paths: in-place blocks
#
# The fast kernels work on blocks of _BLOCK elements with every intermediate written into a
# preallocated workspace (out=): a numpy pass over a cached block costs ~0.25 ns per element,
# while a fresh temporary of a block's size costs page faults (several ns per element on the
# benchmark machine), which dominated the allocating versions.  Exact products use short
# splits (bit masks) instead of Dekker's product: a 17-bit times a 19-bit times a 17-bit
# number is exact in 53 bits.

_BLOCK = 65536
_TINY = 2.0 ** -960
_M17 = np.array(~((1 << 36) - 1), dtype=np.int64)     # keep the top 17 significant bits
_M19 = np.array(~((1 << 34) - 1), dtype=np.int64)     # 19 bits


def _msplit(a, mask, hi, lo):
    """a = hi + lo exactly, hi = a truncated to the significant bits that mask keeps."""
    np.bitwise_and(a.view(np.int64), mask, out=hi.view(np.int64))
    np.subtract(a, hi, out=lo)


def _two_diff(a, b, s, e, t):
    """s + e = a - b exactly (Knuth's TwoSum of a and -b); t is scratch."""
    np.subtract(a, b, out=s)
    np.subtract(s, a, out=t)
    np.subtract(s, t, out=e)
    np.subtract(a, e, out=e)
    np.add(b, t, out=t)
    np.subtract(e, t, out=e)


def _two_sum_pos(a, b, s, e, t):
    """s + e = a + b exactly for a, b >= 0 (Fast2Sum of the larger and the smaller)."""
    np.add(a, b, out=s)
    np.maximum(a, b, out=t)
    np.subtract(s, t, out=t)
    np.minimum(a, b, out=e)
    np.subtract(e, t, out=e)


def _horner(coef, x, acc):
    """acc = sum coef[i] x^(n-i) (highest degree first)."""
    np.multiply(x, coef[0], out=acc)
    for c in coef[1:-1]:
        np.add(acc, c, out=acc)
        np.multiply(acc, x, out=acc)
    np.add(acc, coef[-1], out=acc)


def _take(table, j, out):
    # indices are in range by construction; the method, not np.take, whose Python-level
    # wrappers cost ~1 us a call (felt on the blocks' small compacted subsets)
    table.take(j, out=out, mode="clip")


def _where(mask):
    """Indices of the true elements of a 1-d bool array: np.flatnonzero without its
    Python-level wrappers (~1 us a call)."""
    return mask.nonzero()[0]


class _NonFinite(Exception):
    """A block met a NaN or inf input; the public function reports which parameter."""


def _require_finite(*chunks):
    """Raise _NonFinite unless every chunk is finite (a finite sum proves it cheaply)."""
    if not math.isfinite(sum(float(np.add.reduce(c)) for c in chunks)):
        if not all(np.isfinite(c).all() for c in chunks):
            raise _NonFinite


def _blocks(block, n, flat, rows, flags, named=(), **kwargs):
    """out = block(*chunks, out, work, *flag_chunks, start=..., **kwargs) over _BLOCK-sized
    chunks.  The blocks check their inputs only when their results look wrong (every NaN or
    inf input shows up as a NaN, inf or out-of-range intermediate); named: (name, value) of
    the inputs, in order, to report the first one holding a NaN or inf."""
    out = np.empty(n)
    work = np.empty((rows, min(n, _BLOCK)))
    try:
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            block(*(a[start:stop] for a in flat), out[start:stop], work,
                  *(f[start:stop] for f in flags), start=start, **kwargs)
    except _NonFinite:
        for name, value in named:
            _as_float_array(value, name)
        raise
    return out


def _sub(fn, idx, arrays, outs, work, scratch):
    """outs[idx] = fn(*arrays[idx], *outs, *scratch rows) on compacted workspace rows."""
    k = idx.size
    rows = [w[:k] for w in work[:len(arrays) + len(outs) + scratch]]
    for a, r in zip(arrays, rows):
        _take(a, idx, r)
    fn(*rows)
    for o, r in zip(outs, rows[len(arrays):]):
        o[idx] = r


def _square(a):
    """a*a = p + e exactly (Dekker, one split)."""
    p = a * a
    ah, al = _split(a)
    return p, ((ah * ah - p) + 2 * ah * al) + al * al


def _half_g(dh, dl):
    """(e^D - 1 - D)/2 for D = dh + dl, as a double-double (hi, lo).

    |D| <= 1/2: D^2/4 (exact square) + D^3 psi(D)/2 + dl e^D... (the series part is at most
    1/6 of the total, so its rounding costs < 0.3 ulp).  |D| > 1/2: the double-double
    exponential; the cancellation in e^D - 1 - D is at most 21-fold there, far below its
    2^-60 accuracy.
    """
    p, pe = _square(dh)
    psi = _PSI[0]
    for c in _PSI[1:]:
        psi = psi * dh + c
    hi = 0.25 * p
    lo = 0.25 * pe + 0.5 * (p * dh * psi + dl * (dh + 0.5 * p))
    big = np.abs(dh) > 0.5
    if big.any():
        d, e = dh[big], dl[big]
        eh, el, k = _exp_dd(d, e)
        s = _pow2(k - 2)                     # e^D/2 = 2eh 2^(k-2): finite up to the true
        s1, e1 = _two_sum((eh + eh) * s, -0.5 * d)  # overflow threshold, inf past it
        s2, e2 = _two_sum(s1, -0.5)
        hi[big] = s2
        lo[big] = e1 + e2 + (el + el) * s - 0.5 * e
    return hi, lo
