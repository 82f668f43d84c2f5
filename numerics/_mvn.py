"""KL divergence between multivariate Gaussians in covariance form, to ~0.5 ulp.

Private implementation of :func:`numerics.kernels.kl_mvn`.  It runs in double-double
arithmetic (pairs hi + lo of float64, ~106 bits; Dekker 1971), vectorised over the batch with
the batch axis last, on three small factorisations whose arithmetic is O(n^3) per pair:

1. L2 = chol(C2) in double-double.  Its backward error (~n 2^-104 |C2|) perturbs the KL by
   ~cond(C2) n 2^-104 relative: below 2^-60 up to cond(C2) ~ 1e12.
2. The *difference* Cholesky: dL = L1 - L2 computed from D = C1 - C2 (exact as a
   double-double) by the recurrence D_il = sum_k (dL_ik L1_lk + L2_ik dL_lk), so dL carries a
   relative error, not one of the size of the factors' rounding: near-equal covariances keep
   their digits.  With r = the residual diagonal, L1_jj = sqrt(L2_jj^2 + r) and
   dL_jj = r / (L2_jj + L1_jj) (no cancellation).  The k-th term of the trailing update is
   symmetric (u s^T + s u^T with u = dL, s = L2 + u/2), so one product serves both halves.
3. [z | K] = L2^-1 [m1 - m2 | dL] by forward substitution; A = L2^-1 L1 = I + K.  Its
   products are accurate to ~2^-79 (only the 26-bit halves go through TwoSum): a triangular
   solve's forward error is cond(L2) = sqrt(cond(C2)) times that, below 2^-58 up to 1e12.

Then KL = 1/2 [sum_i phi(K_ii) + sum_{i>j} K_ij^2 + |z|^2], phi(k) = (1+k)^2 - 1 -
2 log(1+k) >= 0: a sum of nonnegative terms, each computed to relative accuracy, so the
result is within ~0.5 ulp plus the relative errors above.

Where some L1_jj < 2^-20 L2_jj (C1 far smaller than C2 in some direction), L2_jj^2 + r
cancels more than 40 bits; those pairs take the direct route, A = L2^-1 chol(C1) in
double-double, accurate there because the KL is then at least ~14 (that column's term), far
above the factors' absolute error.

Cost: ~2x the textbook formula (two LAPACK Cholesky factorisations and two solves) over
n = 1..8, 2.6x at n = 8; the double-double work is O(n^3) whole-array numpy passes, so the
ratio grows with n (4x at n = 12, 4.8x at 16, 8.6x at 32; benchmarks/README.md).
"""

from __future__ import annotations

import mpmath
import numpy as np

from numerics._float64 import _dd, _exp_dd, _half_g, _pow2, _split, _square, _two_prod, _two_sum
from numerics.precision import workdps

with workdps(40):
    _LN2_H, _LN2_L = _dd(mpmath.log(2))

_NOT_PD = ("a positive definite matrix", "a pivot of its Cholesky factorisation is not positive")
_FAR = 2.0 ** -40           # L1_jj^2 / L2_jj^2 below this: the direct route


# ---------------------------------------------------------------- double-double arithmetic
# (TwoSum, Dekker's split and product and the exact square come from numerics._float64)

def _fast(s, e):
    """Fast2Sum: s + e as a normalised double-double, for |s| >= |e|."""
    h = s + e
    return h, e - (h - s)


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
    p, e = _square(s)
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
    """Sum of double-doubles along the first axis, pairwise (the terms here are nonnegative)."""
    while h.shape[0] > 1:
        half = h.shape[0] // 2
        sh, sl = _add(h[:half], l[:half], h[half:2 * half], l[half:2 * half])
        if h.shape[0] % 2:
            sh = np.concatenate([sh, h[-1:]])
            sl = np.concatenate([sl, l[-1:]])
        h, l = sh, sl
    return h[0], l[0]


def _split4(h, l):
    """(hi, lo, hi's upper 26 bits, hi's lower 27 bits) of a double-double, for products."""
    return (h, l, *_split(h))


def _mulr(xh, xl, r):
    """(xh + xl) r for r a _split4 tuple (a reciprocal, shape (P,)), double-double."""
    rh, rl, ra, rb = r
    p = xh * rh
    xa, xb = _split(xh)
    return _fast(p, ((((xa * ra - p) + xa * rb) + xb * ra) + xb * rb) + (xh * rl + xl * rh))


def _product(x, y, p, e, t):
    """x y = p + e (into p, e; t is scratch) for _split4 tuples x, y: Dekker's exact product of
    the high parts plus the cross terms with the low parts (~2^-106 relative)."""
    xh, xl, xa, xb = x
    yh, yl, ya, yb = y
    np.multiply(xh, yh, out=p)
    np.multiply(xa, ya, out=e)
    e -= p
    np.multiply(xa, yb, out=t)
    e += t
    np.multiply(xb, ya, out=t)
    e += t
    np.multiply(xb, yb, out=t)
    e += t
    np.multiply(xh, yl, out=t)
    e += t
    np.multiply(xl, yh, out=t)
    e += t


def _acc_sub(ah, al, x, y, w):
    """a -= x y in place, for a = ah + al kept unnormalised (n x n x P views) and x, y as
    _split4 tuples that broadcast to it: the product x_hi y_hi = p + e exactly (Dekker), the
    cross terms with the low parts added to e, and ah - p by TwoSum, so ah only ever takes
    exact sums and al collects the errors (~2^-106 relative)."""
    p, e, t, s = w[:4]
    _product(x, y, p, e, t)
    np.subtract(ah, p, out=s)
    np.subtract(s, ah, out=t)                   # TwoSum(ah, -p): bb
    np.add(p, t, out=p)
    np.subtract(s, t, out=t)
    np.subtract(ah, t, out=t)
    t -= p                                      # the rounding error of ah - p
    al += t
    al -= e
    ah[...] = s


def _acc_sub_sym(ah, al, x, y, w, m):
    """a -= x y^T + y x^T on the lower triangle (blocks of _lower_cover), a = ah + al
    unnormalised (m x m x P views), x as (m, 1, P) and y as (1, m, P) _split4 tuples: the
    exact product q = x_i y_l = p + e once on the square, then ah - p - p^T by two TwoSums
    (TwoSum, Knuth 4.2.2) and e + e^T into al."""
    p, e, t, s, v = w
    _product(x, y, p, e, t)
    pt, et = p.transpose(1, 0, 2), e.transpose(1, 0, 2)
    for r, c in _lower_cover(m):
        bh, bl, ts, tt = ah[r, c], al[r, c], s[r, c], t[r, c]
        bl -= e[r, c]
        bl -= et[r, c]
        tv = v[r, c]
        for q in (p[r, c], pt[r, c]):
            np.subtract(bh, q, out=ts)
            np.subtract(ts, bh, out=tt)             # TwoSum(bh, -q): bb
            np.subtract(ts, tt, out=tv)
            np.subtract(bh, tv, out=tv)             # bh - (s - bb) ...
            tt += q
            tv -= tt                                # ... - (q + bb): the rounding error
            bl += tv
            bh[...] = ts


def _acc_sub_fast(ah, al, x, y, w):
    """a -= x y like _acc_sub, to ~2^-79 relative per product instead of ~2^-104: only the
    26-bit halves' product xa ya (exact) goes through TwoSum, the rest (~2^-26 of it) is added
    to al in float.  Used by the triangular solve, whose forward error is cond(L) times this
    (cond(L) = sqrt(cond(C2)) <= 2^20 keeps it below 2^-56)."""
    xh, xl, xa, xb = x
    yh, yl, ya, yb = y
    p, e, t, s = w[:4]
    np.multiply(xa, ya, out=p)
    np.multiply(xa, yb, out=e)
    np.multiply(xb, yh, out=t)
    e += t
    np.multiply(xh, yl, out=t)
    e += t
    np.multiply(xl, yh, out=t)
    e += t
    al -= e
    np.subtract(ah, p, out=s)
    np.subtract(s, ah, out=e)                       # TwoSum(ah, -p): bb
    np.subtract(s, e, out=t)
    np.subtract(ah, t, out=t)
    al += t                                         # + (ah - (s - bb)) ...
    e += p
    al -= e                                         # ... - (p + bb): the rounding error
    ah[...] = s


def _lower_cover(m):
    """Row and column ranges of blocks covering the lower triangle of an m x m matrix: the
    whole square up to m = 3, else the top-left h x h square and the bottom h.. rows in full
    (area h^2 + (m - h) m: 37 for m = 7 instead of 49)."""
    if m < 4:
        return ((slice(0, m), slice(0, m)),)
    h = (m + 1) // 2
    return ((slice(0, h), slice(0, h)), (slice(h, m), slice(0, m)))


class _Work:
    """Five scratch buffers, viewed at each trailing block's shape."""

    def __init__(self, size):
        self.buf = [np.empty(size) for _ in range(5)]

    def __call__(self, shape):
        m = shape[0] * shape[1] * shape[2]
        return [b[:m].reshape(shape) for b in self.buf]


# ---------------------------------------------------------------- factorisations
# Layout: matrices are (n, n, P) with the batch of P pairs last (contiguous), so every step
# is a few whole-array operations; trailing updates run on the full square block (the upper
# triangle is scratch), which costs less than gathering the lower triangle.

def _chol(ah, al, work):
    """In place: the symmetric ah + al (n, n, P) becomes its lower double-double Cholesky
    factor (lower triangle; the upper is scratch).  ok[p] is False where a pivot is not
    positive (not positive definite)."""
    n = ah.shape[0]
    ok = np.ones(ah.shape[-1], dtype=bool)
    for j in range(n):
        dh, dl = _two_sum(ah[j, j], al[j, j])       # normalised: after cancellation al may
        good = dh > 0                               # exceed ulp(ah), and sqrt is not linear
        ok &= good
        sh, sl = _sqrt(np.where(good, dh, 1.0), np.where(good, dl, 0.0))
        ah[j, j], al[j, j] = sh, sl
        if j + 1 < n:
            r = _split4(*_div(1.0, 0.0, sh, sl))
            ch, cl = _mulr(ah[j + 1:, j], al[j + 1:, j], r)
            ah[j + 1:, j], al[j + 1:, j] = ch, cl
            c = _split4(ch, cl)
            m = n - j - 1
            for rows, cols in _lower_cover(m):       # the lower triangle, less of the upper
                t = slice(j + 1 + rows.start, j + 1 + rows.stop)
                u = slice(j + 1 + cols.start, j + 1 + cols.stop)
                _acc_sub(ah[t, u], al[t, u], [v[rows, None] for v in c],
                         [v[None, cols] for v in c],
                         work((rows.stop - rows.start, cols.stop - cols.start, ah.shape[-1])))
    return ok


def _diff_chol(lh, ll, rh, rl, work):
    """In place: D = rh + rl (n, n, P) becomes dL = chol(C2 + D) - L2 (lower triangle), from
    L2 = lh + ll = chol(C2).  far[p]: some L1_jj^2 < 2^-40 L2_jj^2 (more than 40 bits would
    cancel in L2_jj^2 + r there)."""
    n = lh.shape[0]
    far = np.zeros(lh.shape[-1], dtype=bool)
    for j in range(n):
        l2h, l2l = lh[j, j], ll[j, j]
        qh, ql = _mul(l2h, l2l, l2h, l2l)
        r0h, r0l = rh[j, j], rl[j, j]
        th, tl = _add(qh, ql, r0h, r0l)                             # L1_jj^2
        bad = ~(th >= _FAR * qh)
        far |= bad
        th, tl = np.where(bad, qh, th), np.where(bad, ql, tl)
        s1h, s1l = _sqrt(th, tl)                                    # L1_jj
        eh, el = _add(l2h, l2l, s1h, s1l)
        djh, djl = _div(r0h, r0l, eh, el)                           # r / (L2_jj + L1_jj)
        rh[j, j], rl[j, j] = djh, djl
        if j + 1 < n:
            ch, cl = lh[j + 1:, j], ll[j + 1:, j]                     # L2 below the diagonal
            ph, pl = _mul(ch, cl, djh, djl)
            nh, nl = _add(rh[j + 1:, j], rl[j + 1:, j], -ph, -pl)
            xh, xl = _mulr(nh, nl, _split4(*_div(1.0, 0.0, s1h, s1l)))   # dL below the diagonal
            rh[j + 1:, j], rl[j + 1:, j] = xh, xl
            # r_il -= dL_ij L1_lj + L2_ij dL_lj = u_i s_l + s_i u_l with u = dL, s = L2 + u/2
            # (symmetric term by term, since L1 - L2 = u): one product on the square
            yh, yl = _add(ch, cl, 0.5 * xh, 0.5 * xl)
            x, y = _split4(xh, xl), _split4(yh, yl)
            m = n - j - 1
            _acc_sub_sym(rh[j + 1:, j + 1:], rl[j + 1:, j + 1:], [v[:, None] for v in x],
                         [v[None] for v in y], work((m, m, lh.shape[-1])), m)
    return far


def _solve(lh, ll, bh, bl, work):
    """In place: B = bh + bl (n, n + 1, P) becomes L^-1 B by forward substitution, L = lh + ll
    lower; column 0 of B is a full vector, columns 1..n lower triangular (only the entries
    (k, c) with c <= k + 1 are computed and read)."""
    n = lh.shape[0]
    for k in range(n):
        xh, xl = _mulr(bh[k, :k + 2], bl[k, :k + 2], _split4(*_div(1.0, 0.0, lh[k, k], ll[k, k])))
        bh[k, :k + 2], bl[k, :k + 2] = xh, xl
        if k + 1 < n:
            c, x = _split4(lh[k + 1:, k], ll[k + 1:, k]), _split4(xh, xl)
            _acc_sub_fast(bh[k + 1:, :k + 2], bl[k + 1:, :k + 2], [v[:, None] for v in c],
                          [v[None] for v in x], work((n - k - 1, k + 2, lh.shape[-1])))


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


def _dd_square(xh, xl):
    """(xh + xl)^2 as a double-double."""
    p, e = _square(xh)
    return _fast(p, e + 2 * xh * xl)


def kl_mvn_flat(m1, c1, m2, c2, work):
    """See _kl_mvn_flat; overflow of the (nonnegative) terms gives inf, not NaN."""
    with np.errstate(all="ignore"):
        values, bad = _kl_mvn_flat(m1, c1, m2, c2, work)
    if values is not None:
        values[np.isnan(values)] = np.inf          # inf - inf inside a term past overflow
    return values, bad


def _kl_mvn_flat(m1, c1, m2, c2, work):
    """KL(N(m1, c1) || N(m2, c2)) for a flat batch m (P, n), c (P, n, n) of finite values:
    returns (values, None), or (None, (name, index, valid, hint)) for the first covariance that
    is not symmetric (max |C - C^T| > 1e-12 max |C|) or not positive definite."""
    size, n = m1.shape
    l2h = np.empty((n, n, size))
    l2h[...] = np.moveaxis(c2, 0, -1)                               # (n, n, P)
    c1t = np.empty((n, n, size))
    c1t[...] = np.moveaxis(c1, 0, -1)
    for name, c in (("cov1", c1t), ("cov2", l2h)):
        asym = np.abs(c - c.transpose(1, 0, 2)).max(axis=(0, 1))
        bad = ~(asym <= 1e-12 * np.abs(c).max(axis=(0, 1)))
        if bad.any():
            return None, (name, int(np.flatnonzero(bad)[0]), "a symmetric matrix",
                          "max |C - C^T| above 1e-12 max |C|")
    zh, zl = _two_sum(m1.T, -m2.T)                                   # (n, P), exact
    # joint scaling by 4^-k (exact): the KL is invariant under C -> s C, dm -> sqrt(s) dm
    _, e = np.frexp(np.max(l2h[np.arange(n), np.arange(n)], axis=0))
    k = (e >> 1).astype(np.int64)
    if k.any():
        s2, s1 = _pow2(-2 * k), _pow2(-k)
        l2h *= s2
        c1t *= s2
        zh, zl = zh * s1, zl * s1
    bh = np.empty((n, n + 1, size))                                  # [z | D -> dL -> K]
    bl = np.empty((n, n + 1, size))
    bh[:, 0], bl[:, 0] = zh, zl
    dh, dl = bh[:, 1:], bl[:, 1:]
    np.subtract(c1t, l2h, out=dh)                                    # TwoSum: D exactly
    t = np.subtract(dh, c1t, out=dl)
    u = dh - t
    np.subtract(c1t, u, out=u)
    t += l2h
    np.subtract(u, t, out=dl)
    l2l = np.zeros_like(l2h)
    ok = _chol(l2h, l2l, work)
    if not ok.all():
        return None, ("cov2", int(np.flatnonzero(~ok)[0]), *_NOT_PD)
    far = _diff_chol(l2h, l2l, dh, dl, work)
    if far.any():                                                    # the direct route
        idx = np.flatnonzero(far)
        ah, al = c1t[:, :, idx], np.zeros((n, n, idx.size))
        ok1 = _chol(ah, al, _Work(n * (n + 1) * idx.size))
        if not ok1.all():
            return None, ("cov1", int(idx[np.flatnonzero(~ok1)[0]]), *_NOT_PD)
        dh[:, :, idx], dl[:, :, idx] = ah, al
    _solve(l2h, l2l, bh, bl, work)
    i = np.arange(n)
    kh, kl = bh[i, i + 1], bl[i, i + 1]                              # diagonal of K (n, P)
    if far.any():
        kh[:, idx], kl[:, idx] = _add(kh[:, idx], kl[:, idx], -1.0, 0.0)     # A - I
    gh, gl = _half_phi(kh.ravel(), kl.ravel())
    sh, sl = _dd_square(*_terms(bh, bl, n))                            # z_i^2, K_ij^2 (i > j)
    sh = np.concatenate([sh, 2 * gh.reshape(n, -1)])
    sl = np.concatenate([sl, 2 * gl.reshape(n, -1)])
    sh, sl = _sum(sh, sl)
    return 0.5 * (sh + sl), None


def _terms(bh, bl, n):
    """z (column 0) and K below its diagonal (entries (i, j + 1), i > j) as rows."""
    r, c = np.tril_indices(n, -1)
    rows = np.concatenate([np.arange(n), r])
    cols = np.concatenate([np.zeros(n, dtype=np.intp), c + 1])
    return bh[rows, cols], bl[rows, cols]
