"""numerics.kernels: ulp error against 50-digit mpmath references, shapes, invalid input.

The pass threshold is the kernels' documented target, 2 ulp of the correctly rounded value
(issue 4), on points spread over all magnitudes: both signs, log-spaced, near-equal pairs over
many decades of the difference, far tails.  The references are written here from the
definitions (series where the closed form cancels; precision raised until two evaluations
agree), independently of the kernels' algorithms (Tang exponential, Mills-ratio tables,
Hermite series).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from numerics import kernels
from numerics.errors import InvalidParameter
from numerics.precision import mpf_from_float, workdps

MAX_ULPS = 2.0   # the documented accuracy target of the kernels (issue 4)


def ulp_error(got: float, ref: mpmath.mpf) -> float:
    """|got - ref| in units of the last place of the double nearest ref."""
    with workdps(60):
        nearest = float(ref)
        spacing = np.spacing(abs(nearest)) if nearest != 0 else 2.0 ** -1074
        return float(abs(mpmath.mpf(got) - ref) / spacing)


def stable(fn, dps=50):
    """Evaluate fn() at dps, dps+40, ... until two successive values agree to dps-5 digits."""
    prev = None
    for extra in range(0, 2000, 40):
        with workdps(dps + extra):
            val = fn()
        if prev is not None:
            with workdps(dps):
                if val == prev or abs(val - prev) <= abs(val) * mpmath.mpf(10) ** (5 - dps):
                    return val
        prev = val
    raise AssertionError("reference did not converge")


def ref_kl(m1, v1, m2, v2):
    def f():
        d = mpf_from_float(v1) - mpf_from_float(v2)
        dm = mpf_from_float(m1) - mpf_from_float(m2)
        return (mpmath.exp(d) - 1 - d + dm * dm * mpmath.exp(-mpf_from_float(v2))) / 2
    return stable(f)


def ref_log_phi(t):
    return mpmath.log(mpmath.ncdf(t)) if t <= 0 else mpmath.log1p(-mpmath.ncdf(-t))


def ref_dgll(x, mu, ls):
    def f():
        c = mpf_from_float(x) - mpf_from_float(mu)
        inv = mpmath.exp(-mpf_from_float(ls))
        b, a = (c + mpmath.mpf(1) / 255) * inv, (c - mpmath.mpf(1) / 255) * inv
        if x < -0.999:
            return ref_log_phi(b)
        if x > 0.999:
            return ref_log_phi(-a)
        if a >= 0:
            return mpmath.log(mpmath.ncdf(-a) - mpmath.ncdf(-b))
        if b <= 0:
            return mpmath.log(mpmath.ncdf(b) - mpmath.ncdf(a))
        return mpmath.log1p(-(mpmath.ncdf(a) + mpmath.ncdf(-b)))
    return stable(f)


def ref_prior(x0, ab):
    def f():
        a = mpf_from_float(ab)
        if a < mpmath.mpf("0.01"):
            # -log(1 - a) - a = sum_{k >= 2} a^k / k: the closed form cancels for small a (at
            # a = 2^-500 it would need 150 digits more than the working precision)
            g, term, k = mpmath.mpf(0), a * a, 2
            while term > g * mpmath.eps or k == 2:
                g += term / k
                term *= a
                k += 1
        else:
            g = -mpmath.log1p(-a) - a
        return (g + a * mpf_from_float(x0) ** 2) / 2 / mpmath.log(2)
    return stable(f)


def logu(rng, lo, hi, n):
    return 10.0 ** rng.uniform(lo, hi, n) * rng.choice([-1.0, 1.0], n)


def worst(points, got, ref_fn):
    errs = [ulp_error(g, ref_fn(*p)) for p, g in zip(zip(*points), got)]
    i = int(np.argmax(errs))
    return errs[i], [float(a[i]) for a in points]


# ---------------------------------------------------------------- normal_kl

def test_normal_kl_ulps_across_magnitudes():
    rng = np.random.default_rng(11)
    n = 600
    pts = [logu(rng, -12, 3, n), logu(rng, -12, 2.4, n), logu(rng, -12, 3, n),
           logu(rng, -12, 2.4, n)]
    err, where = worst(pts, kernels.normal_kl(*pts), ref_kl)
    assert err <= MAX_ULPS, (err, where)


def test_normal_kl_near_equal_distributions_keep_their_digits():
    # D = logvar1 - logvar2 over 1e-30 .. 1: the textbook formula loses every digit here
    rng = np.random.default_rng(12)
    n = 500
    v1 = rng.uniform(-5, 5, n)
    v2 = v1 + logu(rng, -15, 0, n)
    m1 = rng.normal(size=n)
    m2 = np.where(rng.random(n) < 0.5, m1, m1 + logu(rng, -15, -3, n))
    pts = [m1, v1, m2, v2]
    got = kernels.normal_kl(*pts)
    err, where = worst(pts, got, ref_kl)
    assert err <= MAX_ULPS, (err, where)
    textbook = 0.5 * (-1.0 + v2 - v1 + np.exp(v1 - v2) + (m1 - m2) ** 2 * np.exp(-v2))
    assert np.nanmax(np.abs(textbook / got - 1)) > 1e-3     # the test points really are hard
    assert kernels.normal_kl(0.3, -2.0, 0.3, -2.0) == 0.0   # KL(p || p) = 0 exactly


def test_normal_kl_far_range_and_overflow():
    rng = np.random.default_rng(13)
    n = 300
    pts = [logu(rng, -5, 30, n), rng.uniform(-600, 600, n), logu(rng, -5, 30, n),
           rng.uniform(-600, 600, n)]
    with workdps(50):
        keep = [i for i in range(n) if abs(ref_kl(*(p[i] for p in pts))) < mpmath.mpf("1e300")]
    pts = [p[keep] for p in pts]
    err, where = worst(pts, kernels.normal_kl(*pts), ref_kl)
    assert err <= MAX_ULPS, (err, where)
    # e^D/2 just below the largest double is finite; past it the result is inf, not NaN
    assert np.isfinite(kernels.normal_kl(0.0, 709.0, 0.0, 0.0))
    assert kernels.normal_kl(0.0, 712.0, 0.0, 0.0) == np.inf
    assert kernels.normal_kl(1e200, 0.0, -1e200, -10.0) == np.inf
    # A/2 past the largest double is marked, not inf (an inf part would make the final TwoSum
    # NaN); with B/2 overflowing too, or e^-logvar2 itself inf (B = 0 * inf), still inf,
    # alone or in a block of finite results
    both = [(1e200, 712.0, -1e200, -10.0), (0.0, 0.0, 0.0, -800.0), (1.0, 0.0, 0.0, -800.0),
            (1e150, 712.0, 0.0, 0.0)]
    for p in both:
        assert kernels.normal_kl(*p) == np.inf, p
    finite = [(0.5, 3.0, -0.25, 2.0), (0.0, 1e-3, 0.0, 0.0)]
    got = kernels.normal_kl(*(np.array(c) for c in zip(*(both + finite))))
    assert np.all(got[:4] == np.inf)
    assert list(got[4:]) == [kernels.normal_kl(*p) for p in finite]
    assert all(ulp_error(kernels.normal_kl(*p), ref_kl(*p)) <= MAX_ULPS for p in finite)


def test_normal_kl_shapes_and_broadcasting():
    m1 = np.linspace(-1, 1, 3)[:, None]
    v2 = np.linspace(-2, 2, 4)[None, :]
    out = kernels.normal_kl(m1, 0.5, 0.0, v2)
    assert out.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert out[i, j] == kernels.normal_kl(float(m1[i, 0]), 0.5, 0.0, float(v2[0, j]))
    assert isinstance(kernels.normal_kl(0.0, 0.0, 1.0, 0.0), float)
    assert kernels.normal_kl(0.0, 0.0, 1.0, 0.0) == 0.5      # (m1 - m2)^2/2
    assert kernels.normal_kl(np.zeros((0, 2)), 0.0, 0.0, 0.0).shape == (0, 2)


def around(x, k=2):
    """x and its k nearest doubles on each side."""
    out, lo, hi = [x], x, x
    for _ in range(k):
        lo, hi = np.nextafter(lo, -np.inf), np.nextafter(hi, np.inf)
        out += [lo, hi]
    return out


def test_normal_kl_regime_boundaries():
    # the fast path switches at |D| = 2^-20, 2^-10 (series degree), 2^-5 (series -> addition
    # formula), D = 3 and -3/2 (-> expm1), D = -40 (expm1's argument clipped below), D = 700
    # (-> e^D/2 directly), at the half-way points (k + 1/2)/256 of the formula's table (all
    # those below 1/8 in magnitude, where its E(c) r term weighs most; one in eight above),
    # and in the range of the B term (|m1 - m2| near 2^-479, logvar2 near 708, B/2 at the
    # largest double): doubles just on both sides of each
    thresholds = [2.0 ** -20, 2.0 ** -10, 2.0 ** -5, -(2.0 ** -5), 3.0, -1.5, -40.0, 700.0,
                  709.0]
    thresholds += [(k + 0.5) / 256 for k in sorted({*range(-384, 768, 8), *range(-32, 32)})]
    pts = []
    for d in (x for t in thresholds for x in around(t)):
        pts += [(0.3, d, -0.2, 0.0), (0.0, d, 0.0, 0.0), (1e-9, d - 2.5, 0.0, -2.5)]
    for g in around(2.0 ** -479):
        pts += [(g, 0.0, 0.0, -600.0), (g, 1e-30, 0.0, 0.0)]
    for v in around(708.0) + around(708.4):
        pts += [(1e10, v, 0.0, v), (3.0, 1.0, 2.0, v)]
    with workdps(50):                              # B/2 = m^2 e^700 / 2 = the largest double
        m_over = float(mpmath.sqrt(2 * mpmath.mpf(np.finfo(float).max) * mpmath.exp(-700)))
    pts += [(m, 0.0, 0.0, -700.0) for m in around(m_over, 3) + [0.999 * m_over, 1.001 * m_over]]
    cols = [np.array(c) for c in zip(*pts)]
    refs = [ref_kl(*p) for p in pts]
    for got in (kernels.normal_kl(*cols),                        # blocks mixing the regimes
                np.array([kernels.normal_kl(*p) for p in pts])):  # one regime per call
        over = [i for i, r in enumerate(refs) if not np.isfinite(float(r))]
        assert all(got[i] == np.inf for i in over), [pts[i] for i in over if got[i] != np.inf]
        errs = [0.0 if i in over else ulp_error(got[i], refs[i]) for i in range(len(pts))]
        i = int(np.argmax(errs))
        assert errs[i] <= MAX_ULPS, (errs[i], pts[i])


def kl_mid_route(dh, dl):
    """hi + lo of the addition-formula route of A/2 = (e^D - 1 - D)/2, D = dh + dl
    (kernels._kl_mid)."""
    n = dh.size
    hi, lo, work = np.empty(n), np.empty(n), np.empty((4, n))
    kernels._kl_mid(dh, dl, hi, lo, *work)
    return hi, lo


def test_normal_kl_addition_formula_relative_error():
    # The final ulp test cannot see an error of A/2 below ~half an ulp, so A/2 itself is
    # checked on 1/32 < |D| <= 3: the route's analysis bounds it by 0.37 * 2^-53 relative
    # (roundings of E(c)/2 r, of the table's E(c)/2 and of the low part's last sum, with
    # |E(c) r| <= 0.142 A); asserted: 0.4 * 2^-53.  Mutants this rejects (each tried, worst
    # relative error in units of 2^-53): the table's low part of A(c)/2 dropped (1.00), the
    # polynomial of A(r) one degree lower (1.39), dl (the rounding error of logvar1 -
    # logvar2) left out (2.76).
    rng = np.random.default_rng(36)
    k = np.concatenate([rng.integers(-384, 769, 300), np.arange(-40, 41)])
    k = k[np.abs(k) >= 8]
    half = (k + np.where(rng.random(k.size) < 0.5, -0.5, 0.5)) / 256
    dh = np.concatenate([k / 256, half, np.nextafter(half, 0), np.nextafter(half, 4),
                         rng.uniform(1 / 32, 1 / 8, 150), -rng.uniform(1 / 32, 1 / 8, 150),
                         rng.uniform(-1.5, 3, 150), [np.nextafter(1 / 32, 1), 3.0, -1.5]])
    dh = np.append(dh[(np.abs(dh) > 1 / 32) & (dh <= 3) & (dh >= -1.5)], -np.nextafter(1 / 32, 1))
    dl = np.spacing(dh) * rng.uniform(-0.5, 0.5, dh.size)
    dl[::3] = 0.0
    hi, lo = kl_mid_route(dh, dl)
    worst = 0.0
    with workdps(60):
        for a, b, h, low in zip(dh.tolist(), dl.tolist(), hi.tolist(), lo.tolist()):
            d = mpmath.mpf(a) + mpmath.mpf(b)
            half_a = (mpmath.expm1(d) - d) / 2
            worst = max(worst, float(abs(mpmath.mpf(h) + mpmath.mpf(low) - half_a) / half_a))
    assert worst <= 0.4 * 2.0 ** -53, worst * 2 ** 53


def test_normal_kl_same_result_whatever_the_block_mix():
    # a block takes the series on all its elements and redoes the others compacted, or the
    # other way round, by which regime is commoner: each element's result must not depend on
    # its neighbours (bitwise)
    rng = np.random.default_rng(15)
    n = 600
    d = np.concatenate([logu(rng, -12, -1, n // 3), rng.uniform(-1.5, 3, n // 3),
                        rng.uniform(-600, 600, n - 2 * (n // 3))])
    m1, v2 = rng.normal(size=n), rng.uniform(-5, 5, n)
    pts = [m1, v2 + d, m1 + logu(rng, -8, 0, n), v2]
    base = kernels.normal_kl(*pts)
    for fill in (1e-9, 50.0):                      # mostly series, mostly expm1
        padded = [np.concatenate([p, np.full(3 * n, q)])
                  for p, q in zip(pts, (0.0, fill, 0.0, 0.0))]
        assert np.array_equal(kernels.normal_kl(*padded)[:n], base), fill
    singles = np.array([kernels.normal_kl(*(p[i] for p in pts)) for i in range(n)])
    assert np.array_equal(singles, base)


def test_normal_kl_inexact_logvar_difference():
    # logvar1 - logvar2 rounds when the two differ in magnitude; the kernels carry its rounding
    # error (without it, the benchmark sees 2.6 ulp on such pairs): |D| from 1e-3 to 3
    rng = np.random.default_rng(14)
    n = 400
    v1 = np.concatenate([logu(rng, -3, 0.4, n // 2), -rng.uniform(0.01, 0.02, n // 2)])
    v2 = np.concatenate([logu(rng, -9, -4, n // 2), -10.0 ** rng.uniform(-7, -5, n // 2)])
    m1 = rng.normal(size=n) * 1e-10
    pts = [m1, v1, m1 + np.where(rng.random(n) < 0.5, 0.0, 1e-18), v2]
    # the benchmark's worst such point when the rounding error is dropped (2.6 ulp)
    pins = (-2.2464923944510417e-17, -0.01564793551150095, 6.46455297553068e-20,
            -1.395714135892569e-06)
    pts = [np.append(p, q) for p, q in zip(pts, pins)]
    err, where = worst(pts, kernels.normal_kl(*pts), ref_kl)
    assert err <= MAX_ULPS, (err, where)


def test_normal_kl_overflow_threshold():
    # KL = (e^D - 1 - D)/2 stays finite up to D = log(2 max double) = 710.4758...
    with workdps(50):
        limit = float(mpmath.log(2 * mpmath.mpf(np.finfo(float).max)))
    below, above = np.nextafter(limit, 0) - 1e-12, limit + 1e-9
    assert np.isfinite(kernels.normal_kl(0.0, below, 0.0, 0.0))
    assert ulp_error(kernels.normal_kl(0.0, below, 0.0, 0.0), ref_kl(0.0, below, 0.0, 0.0)) <= 2
    assert kernels.normal_kl(0.0, above, 0.0, 0.0) == np.inf
    assert kernels.normal_kl([0.0, 1e200], [0.0, 0.0], [0.0, 0.0], [0.0, -50.0])[1] == np.inf


@pytest.mark.parametrize("args,name", [
    ((np.nan, 0.0, 0.0, 0.0), "mean1"),
    ((0.0, np.inf, 0.0, 0.0), "logvar1"),
    ((0.0, 0.0, 0.0, [1.0, -np.inf]), "logvar2"),
    (([0.0, np.nan], 712.0, 0.0, 0.0), "mean1"),                  # where A/2 overflows
    ((0.0, 712.0, [1.0, np.inf], -800.0), "mean2"),              # where both parts do
    ((np.zeros(3), 0.0, np.zeros(4), 0.0), "mean1"),          # shapes do not broadcast
    (("a", 0.0, 0.0, 0.0), "mean1"),
])
def test_normal_kl_invalid_input(args, name):
    with pytest.raises(InvalidParameter) as info:
        kernels.normal_kl(*args)
    assert info.value.name == name


# ---------------------------------------------------------------- discretized log-likelihood

def _dgll_points(rng, n):
    x = np.round(rng.uniform(0, 255, n)) / 127.5 - 1
    x[: n // 5] = rng.choice([-1.0, 1.0], n // 5)             # edge bins
    mu = np.where(rng.random(n) < 0.5, x + logu(rng, -14, 0.3, n), rng.uniform(-1.5, 1.5, n))
    ls = rng.uniform(-12, 3, n)
    ls[: n // 10] = rng.uniform(-25, -8, n // 10)             # far tails, z up to ~1e9
    return [x, mu, ls]


def test_dgll_ulps_across_magnitudes_and_tails():
    rng = np.random.default_rng(21)
    pts = _dgll_points(rng, 500)
    err, where = worst(pts, kernels.discretized_gaussian_log_likelihood(*pts), ref_dgll)
    assert err <= MAX_ULPS, (err, where)


def test_dgll_narrow_and_wide_bins():
    # sigma from 1e-9 (bin spans millions of sigmas) to 1e4 (bin ~ 1e-7 sigma wide)
    rng = np.random.default_rng(22)
    n = 300
    x = np.round(rng.uniform(1, 254, n)) / 127.5 - 1
    mu = x + rng.normal(size=n) * 10.0 ** rng.uniform(-12, 0, n)
    ls = rng.uniform(-20, 9, n)
    pts = [x, mu, ls]
    err, where = worst(pts, kernels.discretized_gaussian_log_likelihood(*pts), ref_dgll)
    assert err <= MAX_ULPS, (err, where)


def test_dgll_edges_use_the_half_lines():
    # x = -1: log Phi((x - mu + 1/255)/sigma); x = 1: log(1 - Phi((x - mu - 1/255)/sigma))
    got = kernels.discretized_gaussian_log_likelihood(np.array([-1.0, 1.0]), 0.0, 0.0)
    with workdps(50):
        lo = mpmath.log(mpmath.ncdf(-1 + mpmath.mpf(1) / 255))
        assert ulp_error(got[0], lo) <= MAX_ULPS
        assert ulp_error(got[1], lo) <= MAX_ULPS               # symmetry of the two edges


def test_dgll_shapes_and_keywords():
    x = np.zeros((2, 1, 3))
    out = kernels.discretized_gaussian_log_likelihood(x, means=np.zeros((4, 1)), log_scales=-3.0)
    assert out.shape == (2, 4, 3)
    assert np.all(out == out.flat[0])
    assert isinstance(kernels.discretized_gaussian_log_likelihood(0.0, 0.0, 0.0), float)


@pytest.mark.parametrize("args,name", [
    ((np.nan, 0.0, 0.0), "x"),
    ((0.0, -np.inf, 0.0), "means"),
    ((0.0, 0.0, [np.nan]), "log_scales"),
    ((np.zeros(2), np.zeros(3), 0.0), "x"),
])
def test_dgll_invalid_input(args, name):
    with pytest.raises(InvalidParameter) as info:
        kernels.discretized_gaussian_log_likelihood(*args)
    assert info.value.name == name


# ---------------------------------------------------------------- prior bpd

def test_prior_bpd_ulps():
    rng = np.random.default_rng(31)
    n = 400
    x0 = logu(rng, -12, 1, n)
    ab = np.concatenate([10.0 ** rng.uniform(-200, 0, n // 2), rng.uniform(0, 1, n - n // 2)])
    ab = np.minimum(ab, np.nextafter(1, 0))
    err, where = worst([x0, ab], kernels.prior_bpd(x0, ab), ref_prior)
    assert err <= MAX_ULPS, (err, where)
    # a scalar alpha_bar (OpenAI's _prior_bpd) takes the shared path
    x = rng.uniform(-1, 1, 200)
    err, where = worst([x, np.full(200, 4.0358e-5)], kernels.prior_bpd(x, 4.0358e-5), ref_prior)
    assert err <= MAX_ULPS, (err, where)


def test_prior_bpd_regime_boundaries():
    # G(a) = -log(1 - a) - a switches from its series to the table route at a = 1/16; the
    # table's buckets change at the binade and 1/256 steps of 1 - a (bucket edges of several
    # binades, both sides, among them the bucket at a = 1/16 where c rho is largest); 1 - a
    # is exact from a = 1/2 up and rounded below; below 1 - a = 2^-45 a bucket holds one
    # point of 1 - a's grid; results below 2^-1000 are recomputed scaled; a subnormal
    # alpha_bar and products near overflow take the exact path
    edges = [1 - 2.0 ** e * (1 + i / 256) for e, i in ((-1, 224), (-1, 223), (-1, 0),
                                                       (-2, 255), (-2, 17), (-20, 101),
                                                       (-44, 3), (-45, 200), (-46, 7),
                                                       (-51, 0))]
    alphas = [x for t in [1 / 16, 0.5, 0.75, 1 - 2.0 ** -30] + edges for x in around(t)]
    alphas += [np.nextafter(1.0, 0.0), 5e-324, 2.0 ** -1022, 0.0]
    pts = [(x, a) for a in alphas for x in (0.0, 0.4, -3.0)]
    x_tiny = float(mpmath.sqrt(2 * mpmath.log(2)) * mpmath.mpf(2) ** -230)   # bits ~ 2^-1000
    pts += [(x, 2.0 ** -540) for x in around(x_tiny)]
    pts += [(1e300, 1e-300), (1e154, 0.5), (-1e154, 2.0 ** -20)]
    x0, ab = (np.array(c) for c in zip(*pts))
    for got in (kernels.prior_bpd(x0, ab), np.array([kernels.prior_bpd(*p) for p in pts])):
        errs = [ulp_error(g, ref_prior(*p)) for g, p in zip(got, pts)]
        i = int(np.argmax(errs))
        assert errs[i] <= MAX_ULPS, (errs[i], pts[i])
    # the shared path for one alpha_bar, on both sides of the tiny threshold and near overflow
    for a in (2.0 ** -540, 0.5, 5e-324):
        xs = np.array(around(x_tiny) + [0.0, 1.0, 1e150, -1e153])
        got = kernels.prior_bpd(xs, a)
        errs = [ulp_error(g, ref_prior(x, a)) for g, x in zip(got, xs)]
        assert max(errs) <= MAX_ULPS, (max(errs), a)
    assert kernels.prior_bpd(0.0, 0.0) == 0.0                 # KL(N(0, 1) || N(0, 1)) = 0
    assert kernels.prior_bpd([1e200, 1.0], 0.5)[0] == np.inf   # 2^1329 bits: overflow


def test_prior_bpd_same_result_whatever_the_block_mix():
    # a block takes the series or the table route on all its elements, by the share of
    # alpha_bar <= 1/16, and redoes the others compacted: each element's result must not
    # depend on its neighbours (bitwise)
    rng = np.random.default_rng(33)
    n = 600
    ab = np.concatenate([10.0 ** rng.uniform(-200, np.log10(1 / 16), n // 2),
                         rng.uniform(1 / 16, 1, n - n // 2)])
    x0 = logu(rng, -12, 1, n)
    base = kernels.prior_bpd(x0, ab)
    for fill in (1e-3, 0.5):                       # mostly series, mostly logarithm
        got = kernels.prior_bpd(np.concatenate([x0, np.ones(3 * n)]),
                                np.concatenate([ab, np.full(3 * n, fill)]))
        assert np.array_equal(got[:n], base), fill


def test_prior_bpd_tiny_results_recomputed_scaled():
    # results below 2^-1000 (alpha_bar < 2^-499, tiny x0) are recomputed with alpha_bar and x0
    # scaled by 2^500 and 2^250, out of the subnormal range: within ~1 ulp (here 0.93); left
    # to the unscaled path, intermediates round in the subnormal range and the same points
    # reach 1.76 ulp, so the bound asserted is tighter than the kernels' general 2 ulp
    rng = np.random.default_rng(34)
    n = 400
    ab = 2.0 ** rng.uniform(-545, -500, n)
    x0 = 2.0 ** rng.uniform(-290, -240, n) * rng.choice([-1.0, 1.0], n)
    got = kernels.prior_bpd(x0, ab)
    assert np.count_nonzero(got < 2.0 ** -1000) > n // 2           # the path is exercised
    err, where = worst([x0, ab], got, ref_prior)
    assert err <= 1.25, (err, where)


def test_prior_bpd_small_alpha_cubic_term():
    # G(a) = a^2/2 + a^3 Q(a) for a <= 1/16; the cubic term (under 2^-60 of G) is skipped for
    # a <= 2^-59, so a call of mostly tiny alpha_bar and a few larger ones evaluates it on
    # those few only: alpha_bar on both sides of 2^-59, and x0 small enough for G to matter
    rng = np.random.default_rng(32)
    ab = np.concatenate([10.0 ** rng.uniform(-150, -20, 60), around(2.0 ** -59, 3),
                         [1e-3, 0.02, 1 / 33, 0.05, 1 / 17], around(1 / 16, 2)])
    x0 = np.concatenate([np.zeros(40), 10.0 ** rng.uniform(-80, 0, ab.size - 40)])
    got = kernels.prior_bpd(x0, ab)
    errs = [ulp_error(g, ref_prior(x, a)) for g, x, a in zip(got, x0, ab)]
    i = int(np.argmax(errs))
    assert errs[i] <= MAX_ULPS, (errs[i], x0[i], ab[i])


def prior_g_table_route(a):
    """gh + gl of the table route of G(a) = -log(1 - a) - a (kernels._prior_g_table)."""
    a = np.asarray(a, dtype=np.float64)
    n = a.size
    gh, gl, work = np.empty(n), np.empty(n), np.empty((5, n))
    kernels._prior_g_table(a, gh, gl, *work[:4], work[4].view(np.int64))
    return gh, gl


def test_prior_table_route_relative_error_of_g():
    # The final ulp test cannot see an error of G below ~half an ulp, so G itself is checked:
    # the route's analysis bounds it by 0.2 * 2^-53 relative (three roundings on c rho,
    # |c rho| <= 0.067 G); asserted: 2^-55.  Mutants this rejects (each tried, worst relative
    # error in units of 2^-53): dropping the table's low part T_lo (0.96), R(rho) of degree 3
    # (2.5), c taken at the bucket's midpoint while the table holds its bottom (2.9e14).
    rng = np.random.default_rng(35)
    e = rng.integers(-53, 0, 300)
    i = rng.integers(0, 256, 300)
    w = np.ldexp(1 + i / 256, e)
    w = w[w < 15 / 16]
    inside = np.ldexp(2.0 ** rng.uniform(0, 1, w.size), np.frexp(w)[1] - 1)
    a = np.concatenate([1 - w, np.nextafter(1 - w, 0), np.nextafter(1 - w, 1), 1 - inside,
                        rng.uniform(1 / 16, 1 / 2, 100), around(1 / 16, 3)[1:]])
    a = a[(a > 1 / 16) & (a < 1)]
    gh, gl = prior_g_table_route(a)
    worst = 0.0
    with workdps(60):
        for x, h, lo in zip(a.tolist(), gh.tolist(), gl.tolist()):
            m = mpmath.mpf(x)
            g = -mpmath.log1p(-m) - m
            worst = max(worst, float(abs(mpmath.mpf(h) + mpmath.mpf(lo) - g) / g))
    assert worst <= 2.0 ** -55, worst * 2 ** 53
    assert np.all(np.abs(gl) <= np.spacing(gh)), "gh + gl is not normalised"


def test_prior_bpd_invalid():
    with pytest.raises(InvalidParameter) as info:
        kernels.prior_bpd(0.0, 1.0)
    assert info.value.name == "alpha_bar_last"
    with pytest.raises(InvalidParameter):
        kernels.prior_bpd([0.0, np.nan], 0.5)
