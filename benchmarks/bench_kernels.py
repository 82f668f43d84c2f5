"""Accuracy (ulps against a high-precision reference) and speed of numerics.kernels.

Usage::

    python benchmarks/bench_kernels.py                  # 10^6 points per kernel (cached refs)
    python benchmarks/bench_kernels.py --n 20000        # quick run
    python benchmarks/bench_kernels.py --validate 300   # also check the reference vs mpmath
    python benchmarks/bench_kernels.py --kernels kl_mvn # 10^5 Gaussian pairs, dims 1-8 (--mvn-n)
    python benchmarks/bench_kernels.py --shuffle        # the same points in a random order

For each kernel it draws points over all magnitudes (both signs, log-spaced, near-equal
pairs over many decades of the difference, far tails), computes a reference with
python-flint's Arb ball arithmetic at adaptive precision (doubled until the ball's radius is
below 2^-70 of its midpoint, so each reference is good to ~21 digits, proved by the ball),
and reports the error of the float64 result in ulps of the reference (median, 99.99th
percentile, max, count above 2) and the time per element against the textbook formula (as
written in OpenAI's ``losses.py``, in numpy): --rounds rounds of best-of---reps interleaved
runs, reported as the median time of each and the median (and range) of their ratio.  Large
allocations are pinned to the heap first (``pin_allocator``; ``--no-pin`` to skip), so that
neither side's timing depends on page faults left by earlier runs.  ``--validate K``
recomputes K references with mpmath at 50 digits by separate formulas and prints the largest
relative disagreement and the time per point of both reference routes.

References are cached in ``bench_kernels_refs.npz`` next to this script (np.savez; loaded with
allow_pickle=False), keyed by a fingerprint of the inputs; delete it to recompute.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from numerics import kernels  # noqa: E402
from numerics.precision import flint_workprec  # noqa: E402

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_kernels_refs.npz")
SEED = 20240604


# ------------------------------------------------------------------ points

def _logu(rng, lo, hi, n, signed=True):
    v = 10.0 ** rng.uniform(lo, hi, n)
    return v * rng.choice([-1.0, 1.0], n) if signed else v


def points_normal_kl(n, rng):
    q = n // 4
    # generic: both signs, 23 decades of means, 22 of log-variances
    g = [_logu(rng, -20, 3, q), _logu(rng, -20, 2.4, q), _logu(rng, -20, 3, q),
         _logu(rng, -20, 2.4, q)]
    # near-equal log-variances: D = v1 - v2 over many decades (1e-33 .. 1)
    v1 = _logu(rng, -18, 2, q)
    v2 = v1 * (1 + _logu(rng, -16, 0, q)) + _logu(rng, -33, -18, q)
    m1 = _logu(rng, -10, 1, q)
    ne = [m1, v1, m1 * (1 + _logu(rng, -16, -1, q)), v2]
    # near-equal means and variances together (a denoiser close to the posterior)
    v1 = rng.uniform(-12, 2, q)
    m1 = rng.normal(size=q)
    nb = [m1, v1, m1 + _logu(rng, -16, -2, q), v1 + _logu(rng, -17, -3, q)]
    # far: log-variances up to +-700, D up to +-700, means far apart
    r = n - 3 * q
    far = [_logu(rng, -5, 40, r), rng.uniform(-700, 700, r), _logu(rng, -5, 40, r),
           rng.uniform(-700, 700, r)]
    return [np.concatenate(c) for c in zip(g, ne, nb, far)]


def points_dgll(n, rng):
    x = np.round(rng.uniform(0, 255, n)) / 127.5 - 1
    edge = rng.random(n) < 0.2
    x[edge] = rng.choice([-1.0, 1.0], edge.sum())
    near = rng.random(n) < 0.5
    mu = np.where(near, x + _logu(rng, -16, 0.3, n), rng.uniform(-1.5, 1.5, n))
    ls = rng.uniform(-12, 3, n)
    far = rng.random(n) < 0.1                       # far tails: z up to ~1e10
    ls[far] = rng.uniform(-30, -8, far.sum())
    wide = rng.random(n) < 0.05                     # very wide and very narrow bins
    ls[wide] = rng.uniform(-40, 40, wide.sum())
    return [x, mu, ls]


def points_prior_scalar(n, rng):
    """x0 over magnitudes with one alpha_bar_{T-1} (linear schedule, T = 1000), as OpenAI's
    ``_prior_bpd`` calls it; the float is the input under test."""
    return [_logu(rng, -20, 1, n), 4.035829765e-05]


def points_prior(n, rng):
    x0 = _logu(rng, -20, 1, n)
    kind = rng.integers(0, 3, n)
    ab = np.where(kind == 0, 10.0 ** rng.uniform(-300, 0, n),
                  np.where(kind == 1, rng.uniform(0, 1, n), 1 - 10.0 ** rng.uniform(-16, -1, n)))
    ab = np.clip(ab, 0, np.nextafter(1, 0))
    return [x0, ab]


# ------------------------------------------------------------------ references (Arb)

def _adaptive(fn, start=128, limit=1 << 16):
    """Raise Arb's precision until the ball is 2^-70 relative; return (hi, lo) float64s."""
    from flint import arb

    prec = start
    while True:
        with flint_workprec(prec):
            v = fn(arb)
            if v.rad() == 0 or v.rad() * (2 ** 70) < abs(v.mid()):
                hi = float(v.mid())
                if not np.isfinite(hi):
                    return hi, 0.0
                return hi, float(v.mid() - arb(hi))
        if prec >= limit:
            return np.nan, np.nan
        prec *= 2


def ref_normal_kl(m1, v1, m2, v2):
    def f(arb):
        d = arb(v1) - arb(v2)
        return (d.exp() - 1 - d + (arb(m1) - arb(m2)) ** 2 * (-arb(v2)).exp()) / 2
    return _adaptive(f)


def _arb_log_tail(x, arb):
    """log Phi(-x) for an arb x: via erfc for x <= 5, via Kummer's U for x > 5 (DLMF 7.11.4:
    erfc z = e^{-z^2} U(1/2, 1/2, z^2)/sqrt(pi)), where Arb's erfc has no relative accuracy."""
    if x.mid() <= 5:
        return ((x / arb(2).sqrt()).erfc() / 2).log()
    s = x * x / 2
    return -s + s.hypgeom_u(arb(0.5), arb(0.5)).log() - arb.pi().sqrt().log() - arb(2).log()


def _arb_log_phi(t, arb):
    """log Phi(t)."""
    if t.mid() <= 0:
        return _arb_log_tail(-t, arb)
    return (-_arb_log_tail(t, arb).exp()).log1p()


def ref_dgll(x, mu, ls):
    def f(arb):
        c = arb(x) - arb(mu)
        inv = (-arb(ls)).exp()
        w = arb(1) / 255
        b, a = (c + w) * inv, (c - w) * inv
        if x < -0.999:
            return _arb_log_phi(b, arb)
        if x > 0.999:
            return _arb_log_phi(-a, arb)
        if a.mid() >= 0:                      # Phi(-a) - Phi(-b), both upper tails
            la, lb = _arb_log_tail(a, arb), _arb_log_tail(b, arb)
            return la + (-(lb - la).exp()).log1p()
        if b.mid() <= 0:                      # Phi(b) - Phi(a), both lower tails
            la, lb = _arb_log_tail(-a, arb), _arb_log_tail(-b, arb)
            return lb + (-(la - lb).exp()).log1p()
        return (-(_arb_log_tail(-a, arb).exp() + _arb_log_tail(b, arb).exp())).log1p()
    return _adaptive(f)


def ref_prior(x0, ab):
    def f(arb):
        a = arb(ab)
        return (-(-a).log1p() - a + a * arb(x0) ** 2) / 2 / arb(2).log()
    return _adaptive(f)


# ------------------------------------------------------------------ references (mpmath)

def mp_normal_kl(m1, v1, m2, v2, dps=50):
    import mpmath
    from numerics.precision import mpf_from_float, workdps
    with workdps(dps):
        d = mpf_from_float(v1) - mpf_from_float(v2)
        if abs(d) < mpmath.mpf("0.01"):            # series: e^D - 1 - D = sum D^k/k!
            g, term, k = mpmath.mpf(0), d * d / 2, 2
            while abs(term) > abs(g) * mpmath.mpf(10) ** (-dps) or k == 2:
                g += term
                k += 1
                term = term * d / k
        else:
            g = mpmath.exp(d) - 1 - d
        dm = mpf_from_float(m1) - mpf_from_float(m2)
        return (g + dm * dm * mpmath.exp(-mpf_from_float(v2))) / 2


def mp_dgll(x, mu, ls, dps=50):
    import mpmath
    from numerics.precision import mpf_from_float, workdps
    extra = 0
    while True:                                      # raise precision until stable
        with workdps(dps + extra):
            c = mpf_from_float(x) - mpf_from_float(mu)
            inv = mpmath.exp(-mpf_from_float(ls))
            b, a = (c + mpmath.mpf(1) / 255) * inv, (c - mpmath.mpf(1) / 255) * inv
            if x < -0.999:
                val = mpmath.log(mpmath.ncdf(b)) if b <= 0 else mpmath.log1p(-mpmath.ncdf(-b))
            elif x > 0.999:
                val = mpmath.log(mpmath.ncdf(-a)) if a >= 0 else mpmath.log1p(-mpmath.ncdf(a))
            elif a >= 0:
                val = mpmath.log(mpmath.ncdf(-a) - mpmath.ncdf(-b))
            elif b <= 0:
                val = mpmath.log(mpmath.ncdf(b) - mpmath.ncdf(a))
            else:
                val = mpmath.log1p(-(mpmath.ncdf(a) + mpmath.ncdf(-b)))
        if extra:
            with workdps(dps):
                if abs(val - prev) <= abs(val) * mpmath.mpf(10) ** (-dps + 5):
                    return val
        if extra > 2000:
            return val
        prev, extra = val, extra + 40 if extra else 40


def mp_prior(x0, ab, dps=50):
    import mpmath
    from numerics.precision import mpf_from_float, workdps
    with workdps(dps):
        a = mpf_from_float(ab)
        if a < mpmath.mpf("0.01"):                   # -a - log(1-a) = sum a^k/k, k >= 2
            g, k, term = mpmath.mpf(0), 2, a * a
            while term > g * mpmath.mpf(10) ** (-dps) or k == 2:
                g += term / k
                term *= a
                k += 1
        else:
            g = -a - mpmath.log(1 - a)
        return (g + a * mpf_from_float(x0) ** 2) / 2 / mpmath.log(2)


# ------------------------------------------------------------------ textbook formulas

def textbook_normal_kl(mean1, logvar1, mean2, logvar2):
    return 0.5 * (-1.0 + logvar2 - logvar1 + np.exp(logvar1 - logvar2)
                  + ((mean1 - mean2) ** 2) * np.exp(-logvar2))


def _approx_cdf(x):
    return 0.5 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * np.power(x, 3))))


def textbook_dgll(x, means, log_scales):
    centered_x = x - means
    inv_stdv = np.exp(-log_scales)
    cdf_plus = _approx_cdf(inv_stdv * (centered_x + 1.0 / 255.0))
    cdf_min = _approx_cdf(inv_stdv * (centered_x - 1.0 / 255.0))
    log_cdf_plus = np.log(np.maximum(cdf_plus, 1e-12))
    log_one_minus_cdf_min = np.log(np.maximum(1.0 - cdf_min, 1e-12))
    cdf_delta = cdf_plus - cdf_min
    return np.where(x < -0.999, log_cdf_plus,
                    np.where(x > 0.999, log_one_minus_cdf_min,
                             np.log(np.maximum(cdf_delta, 1e-12))))


def textbook_prior(x_start, alpha_bar):
    mean = np.sqrt(alpha_bar) * x_start
    return textbook_normal_kl(mean, np.log(1.0 - alpha_bar), 0.0, 0.0) / np.log(2.0)


KERNELS = {
    "normal_kl": (points_normal_kl, ref_normal_kl, mp_normal_kl, kernels.normal_kl,
                  textbook_normal_kl),
    "discretized_gaussian_log_likelihood": (points_dgll, ref_dgll, mp_dgll,
                                            kernels.discretized_gaussian_log_likelihood,
                                            textbook_dgll),
    "prior_bpd": (points_prior, ref_prior, mp_prior, kernels.prior_bpd, textbook_prior),
    "prior_bpd(scalar alpha_bar)": (points_prior_scalar, ref_prior, mp_prior, kernels.prior_bpd,
                                    textbook_prior),
}


# ------------------------------------------------------------------ measuring

def ulps(got, hi, lo):
    """|got - (hi + lo)| in units of the last place of hi (2^-1074 below the normal range)."""
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs((got - hi) - lo)
        err = np.where(got == hi, np.abs(lo), err)
        return err / np.spacing(np.abs(hi))


def _fingerprint(arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:32]


def references(name, inputs, refresh=False):
    n = max(np.size(a) for a in inputs)
    inputs = [np.broadcast_to(np.asarray(a, dtype=np.float64), (n,)) for a in inputs]
    key = f"{name}__{_fingerprint(inputs)}"
    cache = {}
    if os.path.exists(CACHE) and not refresh:
        with np.load(CACHE, allow_pickle=False) as data:
            cache = {k: data[k] for k in data.files}
        if key in cache:
            return cache[key], 0.0
    ref_fn = KERNELS[name][1]
    t0 = time.perf_counter()
    out = np.array([ref_fn(*p) for p in zip(*inputs)], dtype=np.float64).reshape(-1, 2)
    seconds = time.perf_counter() - t0
    cache[key] = out                         # other sizes (--n) keep their entries
    tmp = CACHE + ".tmp.npz"
    np.savez(tmp, **cache)
    os.replace(tmp, CACHE)
    return out, seconds


def best_times(fns, args, reps):
    """Best-of-reps wall time of each function, runs interleaved (the machine is shared)."""
    best = [float("inf")] * len(fns)
    with np.errstate(all="ignore"):
        for _ in range(reps):
            for i, fn in enumerate(fns):
                t0 = time.perf_counter()
                fn(*args)
                best[i] = min(best[i], time.perf_counter() - t0)
    return best


def validate(name, inputs, refs, k):
    """Largest relative gap between the Arb reference and mpmath at 50 digits on k points,
    with the point where it occurs."""
    import mpmath
    from numerics.precision import workdps
    mp_fn = KERNELS[name][2]
    n = max(np.size(a) for a in inputs)
    inputs = [np.broadcast_to(np.asarray(a, dtype=np.float64), (n,)) for a in inputs]
    idx = np.linspace(0, n - 1, k).astype(int)
    worst, where, t0 = 0.0, None, time.perf_counter()
    for i in idx:
        if not np.isfinite(refs[i, 0]):
            continue
        v = mp_fn(*(float(a[i]) for a in inputs))
        if not abs(v) > mpmath.mpf(2) ** -1022:
            continue                    # below the normal range the double reference is rounded
        with workdps(50):
            r = mpmath.mpf(refs[i, 0]) + mpmath.mpf(refs[i, 1])
            gap = abs(v - r) / abs(v)
        if float(gap) > worst:
            worst, where = float(gap), [float(a[i]) for a in inputs]
    return worst, where, (time.perf_counter() - t0) / len(idx)


def pin_allocator():
    """Serve every large allocation from glibc's heap and never give it back (mallopt).

    Otherwise whether an 8 MB temporary is a fresh mmap (and pays page faults: several ns per
    element on this machine) depends on which arrays the process freed before: the textbook
    formula, which makes a dozen such temporaries per call, measured 7 or 11 ns per element
    depending on the order the kernels ran in.  Pinned, neither side pays page faults, which
    is the textbook's best case.  Returns False where mallopt is unavailable (not glibc)."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 1 << 30)
                    and libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):
        return False


# ------------------------------------------------------------------ kl_mvn (multivariate KL)
#
# Not an elementwise kernel: points are pairs of Gaussians of dimension 1-8, grouped by
# dimension; the reference is mpmath at 50 digits (Arb has no matrix routines here) from the
# exact float inputs, by the trace / log-determinant formula evaluated with Cholesky factors
# in mpmath, and cached like the others.

MVN_DIMS = range(1, 9)


def points_kl_mvn(n, rng):
    """n pairs (about n/8 per dimension 1-8): {dim: (m1, c1, m2, c2)}.  cov1 = Q diag(l) Q^T
    with condition number 10^U(0, 6); half the pairs near-equal: cov2 = L1 (I + e S) L1^T
    (S symmetric, |S| <= 1, e = 10^U(-14, -2)) and mean2 = mean1 + 10^U(-16, -2) noise; the
    other half independent.  Matrices are symmetrised exactly ((c + c^T)/2); pairs whose
    float covariances fail Cholesky are dropped."""
    groups = {}
    for dim in MVN_DIMS:
        m = n // len(MVN_DIMS)

        def cov(k):
            q, _ = np.linalg.qr(rng.normal(size=(k, dim, dim)))
            cond = 10.0 ** rng.uniform(0, 6, (k, 1))
            lam = 10.0 ** rng.uniform(-1, 1, (k, 1)) * cond ** rng.uniform(0, 1, (k, dim))
            c = (q * lam[:, None, :]) @ np.swapaxes(q, -1, -2)
            return (c + np.swapaxes(c, -1, -2)) / 2

        c1 = cov(m)
        m1 = rng.normal(size=(m, dim)) * 10.0 ** rng.uniform(-2, 2, (m, 1))
        c2, m2 = cov(m), rng.normal(size=(m, dim)) * 10.0 ** rng.uniform(-2, 2, (m, 1))
        near = rng.random(m) < 0.5
        k = int(near.sum())
        s = rng.uniform(-1, 1, (k, dim, dim))
        s = (s + np.swapaxes(s, -1, -2)) / (2 * dim)
        e = 10.0 ** rng.uniform(-14, -2, (k, 1, 1))
        l1 = np.linalg.cholesky(c1[near])
        c = l1 @ (np.eye(dim) + e * s) @ np.swapaxes(l1, -1, -2)
        c2[near] = (c + np.swapaxes(c, -1, -2)) / 2
        m2[near] = m1[near] + (m1[near] * rng.normal(size=(k, dim))
                               * 10.0 ** rng.uniform(-16, -2, (k, 1)))
        ok = np.ones(m, dtype=bool)
        for i in range(m):
            try:
                np.linalg.cholesky(c1[i]), np.linalg.cholesky(c2[i])
            except np.linalg.LinAlgError:
                ok[i] = False
        groups[dim] = (m1[ok], c1[ok], m2[ok], c2[ok])
    return groups


def mp_kl_mvn(m1, c1, m2, c2, dps=50):
    """1/2 [tr(C2^-1 C1) + dm^T C2^-1 dm - n + log det C2 - log det C1] at dps digits from
    the exact float inputs (mpf_from_float), via mpmath Cholesky factors."""
    import mpmath
    from numerics.precision import mpf_from_float, workdps
    n = len(m1)
    with workdps(dps):
        C1 = mpmath.matrix([[mpf_from_float(float(v)) for v in row] for row in c1])
        C2 = mpmath.matrix([[mpf_from_float(float(v)) for v in row] for row in c2])
        d = mpmath.matrix([mpf_from_float(float(a)) - mpf_from_float(float(b))
                           for a, b in zip(m1, m2)])
        L1, L2 = mpmath.cholesky(C1), mpmath.cholesky(C2)

        def solve(b):                                # L2^-1 b, forward substitution
            x = [mpmath.mpf(0)] * n
            for i in range(n):
                x[i] = (b[i] - mpmath.fsum(L2[i, k] * x[k] for k in range(i))) / L2[i, i]
            return x

        fro = mpmath.fsum(v ** 2 for j in range(n)
                          for v in solve([L1[i, j] for i in range(n)]))  # |L2^-1 L1|_F^2
        quad = mpmath.fsum(v ** 2 for v in solve([d[i] for i in range(n)]))
        logdet = 2 * mpmath.fsum(mpmath.log(L2[i, i] / L1[i, i]) for i in range(n))
        return (fro + quad - n + logdet) / 2


def textbook_kl_mvn(m1, c1, m2, c2):
    """sum log diag Lq - sum log diag Lp + (|Lq^-1 Lp|_F^2 + |Lq^-1 dm|^2 - n)/2 (the usual
    torch formulation), batched numpy."""
    lp, lq = np.linalg.cholesky(c1), np.linalg.cholesky(c2)
    n = c1.shape[-1]
    a = np.linalg.solve(lq, lp)
    z = np.linalg.solve(lq, (m1 - m2)[..., None])[..., 0]
    ld = (np.log(np.diagonal(lq, axis1=-2, axis2=-1)).sum(-1)
          - np.log(np.diagonal(lp, axis1=-2, axis2=-1)).sum(-1))
    return ld + ((a ** 2).sum((-1, -2)) + (z ** 2).sum(-1) - n) / 2


def references_kl_mvn(groups, refresh=False):
    """{dim: (count, 2) double-double references}, cached under one key per dimension."""
    import mpmath
    from numerics.precision import workdps
    cache = {}
    if os.path.exists(CACHE) and not refresh:
        with np.load(CACHE, allow_pickle=False) as data:
            cache = {k: data[k] for k in data.files}
    out, seconds, changed = {}, 0.0, False
    for dim, arrays in groups.items():
        key = f"kl_mvn{dim}__{_fingerprint(arrays)}"
        if key not in cache:
            t0 = time.perf_counter()
            rows = []
            for p in zip(*arrays):
                v = mp_kl_mvn(*p)
                with workdps(50):
                    hi = float(v)
                    rows.append((hi, float(v - mpmath.mpf(hi))))
            cache[key] = np.array(rows).reshape(-1, 2)
            seconds += time.perf_counter() - t0
            changed = True
        out[dim] = cache[key]
    if changed:
        tmp = CACHE + ".tmp.npz"
        np.savez(tmp, **cache)
        os.replace(tmp, CACHE)
    return out, seconds


def bench_kl_mvn(n, reps, rounds):
    """One table row for kl_mvn: ulps over all pairs, and time vs the textbook formula summed
    over the dimension groups."""
    groups = points_kl_mvn(n, np.random.default_rng(SEED))
    refs, seconds = references_kl_mvn(groups)
    u, ut, worst = [], [], (0.0, None)
    for dim, arrays in groups.items():
        got = kernels.kl_mvn(*arrays)
        with np.errstate(all="ignore"):
            tb = textbook_kl_mvn(*arrays)
        e = ulps(got, refs[dim][:, 0], refs[dim][:, 1])
        u.append(e)
        ut.append(ulps(tb, refs[dim][:, 0], refs[dim][:, 1]))
        if e.max() > worst[0]:
            i = int(np.argmax(e))
            worst = (float(e.max()), (dim, float(refs[dim][i, 0])))
    u, ut = np.concatenate(u), np.concatenate(ut)
    count = u.size
    # the 50-digit reference cancels (KL ~ 1e-28 from terms ~ n): recheck the pairs with the
    # largest errors and the smallest references at 100 digits
    from numerics.precision import workdps
    flat = [(dim, i) for dim in groups for i in range(len(refs[dim]))]
    order = np.concatenate([np.argsort(u)[-5:],
                            np.argsort(np.concatenate([refs[d][:, 0] for d in groups]))[:5]])
    gap = 0.0
    for k in order:
        dim, i = flat[int(k)]
        p = [a[i] for a in groups[dim]]
        with workdps(100):
            v50, v100 = mp_kl_mvn(*p, dps=50), mp_kl_mvn(*p, dps=100)
            if v100 != 0:
                gap = max(gap, float(abs(v50 - v100) / abs(v100)))
    times, per_dim = [], []                         # per_dim[round][dim] = (ours, textbook)
    for _ in range(rounds):
        t, row = np.zeros(2), {}
        for dim, arrays in groups.items():
            row[dim] = np.array(best_times([kernels.kl_mvn, textbook_kl_mvn], arrays, reps))
            t += row[dim]
        times.append(t / count * 1e9)
        per_dim.append(row)
    times = np.array(times)
    ratios = times[:, 0] / times[:, 1]
    print(f"kl_mvn: {count} pairs (dims 1-8), reference {seconds:.1f} s "
          f"({'cached' if seconds == 0 else 'computed'}); worst {worst[0]:.3g} ulp at "
          f"(dim, KL) = {worst[1]}; 50 vs 100 digits on 10 hard pairs: max relative gap "
          f"{gap:.1e}", flush=True)
    print("kl_mvn by dimension: dim, pairs, max ulp, ns/pair (ours, textbook), ratio: median "
          "(range) over the rounds")
    start = 0
    for dim, arrays in groups.items():
        k = len(arrays[0])
        r = np.array([row[dim][0] / row[dim][1] for row in per_dim])
        ns = np.median([row[dim] for row in per_dim], axis=0) / k * 1e9
        print(f"  {dim}  {k:6d}  {u[start:start + k].max():5.2f}  {ns[0]:7.0f} {ns[1]:6.0f}  "
              f"{np.median(r):.2f} ({r.min():.2f}-{r.max():.2f})", flush=True)
        start += k
    return ("kl_mvn", count, np.median(u), np.quantile(u, 0.9999), u.max(), int((u > 2).sum()),
            np.nanmedian(ut), np.nanmax(ut), *np.median(times, axis=0), np.median(ratios),
            ratios.min(), ratios.max())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="points per kernel")
    parser.add_argument("--reps", type=int, default=5, help="timing repetitions (best of)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timing rounds (each best of --reps); medians are reported")
    parser.add_argument("--validate", type=int, default=0, metavar="K",
                        help="compare K Arb references with mpmath at 50 digits")
    parser.add_argument("--refresh", action="store_true", help="recompute cached references")
    parser.add_argument("--kernels", default=",".join([*KERNELS, "kl_mvn"]),
                        help="comma-separated subset")
    parser.add_argument("--mvn-n", type=int, default=100_000,
                        help="pairs for kl_mvn (mpmath references: ~ms per pair)")
    parser.add_argument("--no-pin", action="store_true",
                        help="leave glibc's allocator thresholds alone (see pin_allocator)")
    parser.add_argument("--shuffle", action="store_true",
                        help="time and check the points in a random order (seeded): every "
                             "block then mixes all the families of points, which costs the "
                             "kernels' regime dispatch more than the default order (points "
                             "grouped by family)")
    args = parser.parse_args(argv)
    if not args.no_pin and not pin_allocator():
        print("note: could not pin the allocator (not glibc); timings depend on run order")
    rows = []
    for name in args.kernels.split(","):
        if name == "kl_mvn":
            rows.append(bench_kl_mvn(min(args.n, args.mvn_n), args.reps, args.rounds))
            continue
        if name not in KERNELS:
            parser.error(f"unknown kernel {name!r}; choose among {', '.join(KERNELS)}")
        points, _, _, fn, textbook = KERNELS[name]
        inputs = points(args.n, np.random.default_rng(SEED))
        refs, ref_seconds = references(name, inputs, args.refresh)
        if args.shuffle:
            perm = np.random.default_rng(SEED + 1).permutation(args.n)
            inputs = [a[perm] if np.ndim(a) else a for a in inputs]
            refs = refs[perm]
        ok = np.isfinite(refs[:, 0])
        got = fn(*inputs)
        with np.errstate(all="ignore"):
            tb = textbook(*inputs)
        u, ut = ulps(got, refs[:, 0], refs[:, 1])[ok], ulps(tb, refs[:, 0], refs[:, 1])[ok]
        worst = int(np.flatnonzero(ok)[np.nanargmax(u)])
        flat = [np.broadcast_to(a, got.shape) for a in inputs]
        times = np.array([best_times([fn, textbook], inputs, args.reps)
                          for _ in range(args.rounds)]) / args.n * 1e9
        ratios = times[:, 0] / times[:, 1]
        t_ours, t_tb = np.median(times, axis=0)
        rows.append((name, int(ok.sum()), np.median(u), np.quantile(u, 0.9999), u.max(),
                     int((u > 2).sum()), np.nanmedian(ut), np.nanmax(ut), t_ours, t_tb,
                     np.median(ratios), ratios.min(), ratios.max()))
        print(f"{name}: {ok.sum()} points with a finite reference "
              f"({(~ok).sum()} overflow), reference {ref_seconds:.1f} s "
              f"({'cached' if ref_seconds == 0 else 'computed'}); worst point "
              f"{[float(a[worst]) for a in flat]}", flush=True)
        if args.validate:
            gap, where, per_point = validate(name, inputs, refs, args.validate)
            arb_per_point = ref_seconds / args.n if ref_seconds else float("nan")
            print(f"  reference check: Arb vs mpmath (50 digits) on {args.validate} points: "
                  f"max relative gap {gap:.1e} at {where}; mpmath {per_point * 1e6:.0f} us/point, "
                  f"Arb {arb_per_point * 1e6:.0f} us/point", flush=True)
    head = (f"{'kernel':<36} {'points':>8} {'median':>7} {'p99.99':>7} {'max':>6} {'>2ulp':>6}"
            f" {'textbook med/max':>20} {'ns/elem':>8} {'textbook':>8} {'ratio':>6}"
            f" {'(range)':>11}")
    print(head)
    for r in rows:
        print(f"{r[0]:<36} {r[1]:>8} {r[2]:>7.3f} {r[3]:>7.3f} {r[4]:>6.2f} {r[5]:>6}"
              f" {r[6]:>9.3g}/{r[7]:<10.3g} {r[8]:>8.1f} {r[9]:>8.1f} {r[10]:>6.2f}"
              f" {r[11]:>5.2f}-{r[12]:<5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
