"""KL divergence between multivariate Gaussians in covariance form, to ~0.5 ulp.

Private implementation of :func:`numerics.kernels.kl_mvn`.  Everything runs in double-double
arithmetic (pairs hi + lo of float64, ~106 bits; Dekker 1971), vectorised over the batch, on
three small factorisations whose arithmetic is O(n^3) per pair:

1. L2 = chol(C2) in double-double.  Its backward error (~n 2^-104 |C2|) perturbs the KL by
   ~cond(C2) n 2^-104 relative: below 2^-60 up to cond(C2) ~ 1e12.
2. The *difference* Cholesky: dL = L1 - L2 computed from D = C1 - C2 (exact as a
   double-double) by the recurrence D_il = sum_k (dL_ik L1_lk + L2_ik dL_lk), so dL carries a
   relative error, not an absolute one ~ the factors' rounding: near-equal covariances keep
   their digits.  With r = the residual diagonal, L1_jj = sqrt(L2_jj^2 + r) and
   dL_jj = r / (L2_jj + L1_jj) (no cancellation).
3. K = L2^-1 [dL | m1 - m2] by forward substitution; A = L2^-1 L1 = I + K (lower triangular).

Then KL = 1/2 [sum_i phi(K_ii) + sum_{i>j} K_ij^2 + |z|^2], z = L2^-1 (m1 - m2), phi(k) =
(1+k)^2 - 1 - 2 log(1+k) >= 0: a sum of nonnegative terms, each computed to relative
accuracy, so the result is within ~0.5 ulp + the factorisation's relative error above.

Where some L1_jj < 2^-20 L2_jj (C1 far smaller than C2 in some direction), L2_jj^2 + r
cancels more than 40 bits; those pairs take the direct route, A = L2^-1 chol(C1) in
double-double, which is accurate there because the KL is then at least ~14 (the term of
that column), far above the factors' absolute error.
"""

from __future__ import annotations

import numpy as np

from numerics._float64 import _SPLIT, _dd, _exp_dd, _half_g, _pow2

import mpmath
from numerics.precision import workdps

with workdps(40):
    _LN2_H, _LN2_L = _dd(mpmath.log(2))

_FAR = 2.0 ** -40           # L1_jj^2 / L2_jj^2 below this: the direct route


# ---------------------------------------------------------------- double-double arithmetic

def _fast(s, e):
    h = s + e
    return h, e - (h - s)


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a, b):
    p = a * b
    c = a * _SPLIT
    ah = c - (c - a)
    al = a - ah
    c = b * _SPLIT
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _mul(ah, al, bh, bl):
    p, e = _two_prod(ah, bh)
    return _fast(p, e + (ah * bl + al * bh))


def _add(ah, al, bh, bl):
    s, e = _two_sum(ah, bh)
    return _fast(s, e + (al + bl))


def _div(ah, al, bh, bl):
    q = ah / bh
    ph, pl = _two_prod(q, bh)
    return _fast(q, (((ah - ph) - pl) + al - q * bl) / bh)


def _sqrt(ah, al):
    s = np.sqrt(ah)
    p, e = _two_prod(s, s)
    return _fast(s, (((ah - p) - e) + al) / (s + s))


def _log(xh, xl):
    """log(x) for x = xh + xl > 0 as a double-double, absolute error ~2^-66: one Newton step
    y = y0 + log(x e^-y0) on y0 = np.log of the mantissa, with the double-double exponential."""
    m, ex = np.frexp(xh)                       # x = (m + ml) 2^ex, m in [1/2, 1)
    ml = np.ldexp(xl, -ex)
    y0 = np.log(m)
    eh, el, k = _exp_dd(-y0, np.zeros_like(y0))
    s = _pow2(k)
    ph, pl = _mul(m, ml, eh * s, el * s)       # (m + ml) e^-y0 = 1 + t, |t| ~ 2^-52
    t = (ph - 1.0) + pl
    yh, yl = _two_sum(y0, t - 0.5 * t * t)
    eh, el = _two_prod(ex.astype(np.float64), _LN2_H)     # ex ln2 as a double-double
    a, b = _two_sum(eh, yh)
    return _fast(a, b + (el + yl + ex * _LN2_L))


def _sum(h, l):
    """Sum of double-doubles along the last axis, pairwise (the terms here are nonnegative)."""
    while h.shape[-1] > 1:
        half = h.shape[-1] // 2
        sh, sl = _add(h[..., :half], l[..., :half], h[..., half:2 * half], l[..., half:2 * half])
        if h.shape[-1] % 2:
            sh = np.concatenate([sh, h[..., -1:]], axis=-1)
            sl = np.concatenate([sl, l[..., -1:]], axis=-1)
        h, l = sh, sl
    return h[..., 0], l[..., 0]


# ---------------------------------------------------------------- factorisations

def _chol(ch, cl):
    """Lower Cholesky factor of ch + cl (N, n, n) in double-double, right-looking; ok[p] is
    False where a pivot is not positive (not positive definite)."""
    n = ch.shape[-1]
    ah, al = ch.copy(), cl.copy()
    lh, ll = np.zeros_like(ah), np.zeros_like(ah)
    ok = np.ones(ch.shape[0], dtype=bool)
    for j in range(n):
        dh, dl = ah[:, j, j], al[:, j, j]
        good = dh > 0
        ok &= good
        sh, sl = _sqrt(np.where(good, dh, 1.0), np.where(good, dl, 0.0))
        lh[:, j, j], ll[:, j, j] = sh, sl
        if j + 1 < n:
            ch_, cl_ = _div(ah[:, j + 1:, j], al[:, j + 1:, j], sh[:, None], sl[:, None])
            lh[:, j + 1:, j], ll[:, j + 1:, j] = ch_, cl_
            ph, pl = _mul(ch_[:, :, None], cl_[:, :, None], ch_[:, None, :], cl_[:, None, :])
            ah[:, j + 1:, j + 1:], al[:, j + 1:, j + 1:] = _add(
                ah[:, j + 1:, j + 1:], al[:, j + 1:, j + 1:], -ph, -pl)
    return lh, ll, ok


def _diff_chol(lh, ll, dh, dl):
    """dL = chol(C2 + D) - L2 in double-double, from L2 = chol(C2) and D (N, n, n).

    far[p]: some L1_jj^2 < 2^-40 L2_jj^2 (the recurrence would cancel > 40 bits there)."""
    n = lh.shape[-1]
    rh, rl = dh.copy(), dl.copy()
    kh, kl = np.zeros_like(rh), np.zeros_like(rh)
    far = np.zeros(rh.shape[0], dtype=bool)
    for j in range(n):
        l2h, l2l = lh[:, j, j], ll[:, j, j]
        qh, ql = _mul(l2h, l2l, l2h, l2l)
        th, tl = _add(qh, ql, rh[:, j, j], rl[:, j, j])           # L1_jj^2
        bad = ~(th >= _FAR * qh)
        far |= bad
        th, tl = np.where(bad, qh, th), np.where(bad, ql, tl)
        s1h, s1l = _sqrt(th, tl)                                    # L1_jj
        eh, el = _add(l2h, l2l, s1h, s1l)
        djh, djl = _div(rh[:, j, j], rl[:, j, j], eh, el)          # r / (L2_jj + L1_jj)
        kh[:, j, j], kl[:, j, j] = djh, djl
        if j + 1 < n:
            ch_, cl_ = lh[:, j + 1:, j], ll[:, j + 1:, j]             # L2 column below j
            ph, pl = _mul(ch_, cl_, djh[:, None], djl[:, None])
            nh, nl = _add(rh[:, j + 1:, j], rl[:, j + 1:, j], -ph, -pl)
            xh, xl = _div(nh, nl, s1h[:, None], s1l[:, None])       # dL column below j
            kh[:, j + 1:, j], kl[:, j + 1:, j] = xh, xl
            yh, yl = _add(ch_, cl_, xh, xl)                         # L1 column below j
            ah, al = _mul(xh[:, :, None], xl[:, :, None], yh[:, None, :], yl[:, None, :])
            bh, bl = _mul(ch_[:, :, None], cl_[:, :, None], xh[:, None, :], xl[:, None, :])
            sh, sl = _add(ah, al, bh, bl)
            rh[:, j + 1:, j + 1:], rl[:, j + 1:, j + 1:] = _add(
                rh[:, j + 1:, j + 1:], rl[:, j + 1:, j + 1:], -sh, -sl)
    return kh, kl, far


def _solve_lower(lh, ll, bh, bl):
    """L^-1 B by forward substitution in double-double; L (N, n, n) lower, B (N, n, m)."""
    n = lh.shape[-1]
    bh, bl = bh.copy(), bl.copy()
    xh, xl = np.empty_like(bh), np.empty_like(bl)
    for k in range(n):
        rh, rl = _div(bh[:, k, :], bl[:, k, :], lh[:, k, k, None], ll[:, k, k, None])
        xh[:, k, :], xl[:, k, :] = rh, rl
        if k + 1 < n:
            ph, pl = _mul(lh[:, k + 1:, k, None], ll[:, k + 1:, k, None],
                          rh[:, None, :], rl[:, None, :])
            bh[:, k + 1:, :], bl[:, k + 1:, :] = _add(bh[:, k + 1:, :], bl[:, k + 1:, :],
                                                      -ph, -pl)
    return xh, xl


# ---------------------------------------------------------------- the KL

def _half_phi(kh, kl):
    """phi(k)/2 = ((1+k)^2 - 1)/2 - log(1+k) >= 0 for k = kh + kl > -1, double-double.

    |k| <= 1/16: k^2 + sum_{m>=3} (-1)^m k^m/m (to m = 17: remainder < 2^-57 of k^2; the tail
    is at most k^2/40, so its float rounding is negligible).  Beyond: (e^D - 1 - D)/2 at
    D = 2 log(1+k) (the dd logarithm's 2^-66 absolute error is < 2^-61 of D there)."""
    ph, pl = _two_prod(kh, kh)
    pl = pl + 2 * kh * kl
    tail = np.full_like(kh, -1.0 / 17)
    for m in range(16, 2, -1):
        tail = tail * kh + (-1.0 / m if m % 2 else 1.0 / m)
    hh, hl = _fast(ph, pl + tail * kh * ph)
    big = np.abs(kh) > 0.0625
    if big.any():
        ah, al = _add(np.ones(int(big.sum())), np.zeros(int(big.sum())), kh[big], kl[big])
        dh, dl = _log(ah, al)
        gh, gl = _half_g(2 * dh, 2 * dl)            # not normalised: lo may be large
        hh[big], hl[big] = _two_sum(gh, gl)
    return hh, hl


def kl_mvn_flat(m1, c1, m2, c2):
    """KL(N(m1, c1) || N(m2, c2)) for flat batches m (N, n), c (N, n, n), validated: returns
    (values, bad) with bad = None, or ("cov1" | "cov2", index) of a non positive definite one."""
    n = c1.shape[-1]
    # joint scaling by 4^-k (exact): the KL is invariant under C -> s C, dm -> sqrt(s) dm
    _, e = np.frexp(np.max(np.diagonal(c2, axis1=-2, axis2=-1), axis=-1))
    k = (e // 2).astype(np.int64)
    s2 = _pow2(-2 * k)[:, None, None]
    c1, c2 = c1 * s2, c2 * s2
    zh, zl = _two_sum(m1, -m2)
    s1 = _pow2(-k)[:, None]
    zh, zl = zh * s1, zl * s1
    l2h, l2l, ok = _chol(c2, np.zeros_like(c2))
    if not ok.all():
        return None, ("cov2", int(np.flatnonzero(~ok)[0]))
    dh, dl = _two_sum(c1, -c2)                               # exact
    kh, kl, far = _diff_chol(l2h, l2l, dh, dl)
    bh = np.concatenate([kh, zh[:, :, None]], axis=-1)
    bl = np.concatenate([kl, zl[:, :, None]], axis=-1)
    xh, xl = _solve_lower(l2h, l2l, bh, bl)                  # [K | z]
    if far.any():
        idx = np.flatnonzero(far)
        a1h, a1l, ok1 = _chol(c1[idx], np.zeros_like(c1[idx]))
        if not ok1.all():
            return None, ("cov1", int(idx[np.flatnonzero(~ok1)[0]]))
        ah, al = _solve_lower(l2h[idx], l2l[idx],
                              np.concatenate([a1h, zh[idx, :, None]], axis=-1),
                              np.concatenate([a1l, zl[idx, :, None]], axis=-1))
        i = np.arange(n)
        ah[:, i, i], al[:, i, i] = _add(ah[:, i, i], al[:, i, i], -1.0, 0.0)    # K = A - I
        xh[idx], xl[idx] = ah, al
    i = np.arange(n)
    th, tl = _mul(xh, xl, xh, xl)                           # K_ij^2 (upper part is zero), z^2
    gh, gl = _half_phi(xh[:, i, i].ravel(), xl[:, i, i].ravel())
    th[:, i, i], tl[:, i, i] = (2 * gh).reshape(-1, n), (2 * gl).reshape(-1, n)
    sh, sl = _sum(th.reshape(th.shape[0], -1), tl.reshape(tl.shape[0], -1))
    return 0.5 * (sh + sl), None
