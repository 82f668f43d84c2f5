"""numerics.kernels.kl_mvn: within 2 ulp of a 50-digit reference across conditioning,
near-equal and far-apart pairs, extreme scales, both of its routes, and bad input."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from numerics import kernels
from numerics.errors import InvalidParameter

from tests.test_kernels import MAX_ULPS, stable, ulp_error


def ref_kl_mvn(m1, c1, m2, c2):
    """1/2 [tr(C2^-1 C1) + dm^T C2^-1 dm - n + log det C2 - log det C1] from the exact float
    inputs, by mpmath's inverse and determinant (not Cholesky: an independent route), at
    rising precision until stable."""
    def f():
        C1, C2 = mpmath.matrix(c1.tolist()), mpmath.matrix(c2.tolist())
        d = mpmath.matrix((np.asarray(m2) - 0).tolist()) - mpmath.matrix(np.asarray(m1).tolist())
        inv2 = C2 ** -1
        n = C1.rows
        tr = mpmath.fsum((inv2 * C1)[i, i] for i in range(n))
        quad = (d.T * inv2 * d)[0, 0]
        return (tr + quad - n + mpmath.log(mpmath.det(C2) / mpmath.det(C1))) / 2
    return stable(f)


def textbook(m1, c1, m2, c2):
    """The usual float formula (torch's): the teeth of the near-equal tests."""
    lp, lq = np.linalg.cholesky(c1), np.linalg.cholesky(c2)
    a = np.linalg.solve(lq, lp)
    z = np.linalg.solve(lq, m1 - m2)
    return (np.log(np.diag(lq)).sum() - np.log(np.diag(lp)).sum()
            + ((a ** 2).sum() + (z ** 2).sum() - len(m1)) / 2)


def spd(rng, n, cond):
    """A symmetric positive definite matrix with condition number ~cond (exactly symmetric)."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = cond ** np.linspace(0, 1, n) * 10.0 ** rng.uniform(-1, 1)
    c = (q * lam) @ q.T
    return (c + c.T) / 2


def near(rng, c, e):
    """L (I + e S) L^T: a covariance at relative distance ~e from c."""
    n = len(c)
    s = rng.uniform(-1, 1, (n, n))
    s = (s + s.T) / (2 * n)
    l = np.linalg.cholesky(c)
    d = l @ (np.eye(n) + e * s) @ l.T
    return (d + d.T) / 2


def assert_ulps(m1, c1, m2, c2, got=None):
    got = kernels.kl_mvn(m1, c1, m2, c2) if got is None else got
    ref = ref_kl_mvn(m1, c1, m2, c2)
    err = ulp_error(float(got), ref)
    assert err <= MAX_ULPS, (float(got), float(ref), err)
    return ref


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("cond", [1.0, 1e3, 1e6, 1e10])
def test_independent_pairs_within_two_ulp(n, cond):
    rng = np.random.default_rng(n * 1000 + int(np.log10(cond)))
    for _ in range(3):
        c1, c2 = spd(rng, n, cond), spd(rng, n, cond)
        m1, m2 = rng.normal(size=n), rng.normal(size=n) * 10.0 ** rng.uniform(-3, 3)
        assert_ulps(m1, c1, m2, c2)


@pytest.mark.parametrize("e", [1e-15, 1e-10, 1e-6, 1e-2, 0.3])
@pytest.mark.parametrize("cond", [1.0, 1e4, 1e8])
def test_near_equal_pairs_keep_their_digits(e, cond):
    # KL ~ e^2 while the float Cholesky factors differ from the exact ones by ~u cond: the
    # textbook formula loses every digit at small e (asserted: the test has teeth there)
    rng = np.random.default_rng(int(-np.log10(e) * 10 + np.log10(cond)))
    n = 4
    c1 = spd(rng, n, cond)
    c2 = near(rng, c1, e)
    m1 = rng.normal(size=n)
    for m2 in (m1, m1 + 1e-9 * rng.normal(size=n)):
        ref = assert_ulps(m1, c1, m2, c2)
        if e <= 1e-10 and m2 is m1:
            assert ulp_error(textbook(m1, c1, m2, c2), ref) > 1e3


@pytest.mark.parametrize("s", [0.5, 1e-3, 1e-9, 1e-11, 1e-13, 1e-20, 1e3, 1e12])
def test_shrunk_and_inflated_pairs_both_routes(s):
    # cov1 = s cov2 (plus a small rotation): the difference Cholesky cancels ~log2(1/s) bits
    # in L2_jj^2 + r for s < 1; below L1_jj^2 < 2^-40 L2_jj^2 (s < ~1e-12) the direct route
    rng = np.random.default_rng(7)
    n = 3
    c2 = spd(rng, n, 1e3)
    c1 = near(rng, c2 * s, 1e-3)
    m1, m2 = rng.normal(size=n), rng.normal(size=n)
    assert_ulps(m1, c1, m2, c2)


def test_mixed_batch_routes_and_broadcasting():
    rng = np.random.default_rng(11)
    n = 3
    c2 = spd(rng, n, 1e2)
    c1 = np.stack([near(rng, c2, 1e-8), c2 * 1e-15, spd(rng, n, 10.0), c2 * 4.0])
    m1 = rng.normal(size=(4, n))
    got = kernels.kl_mvn(m1, c1, np.zeros(n), c2)             # cov2 and mean2 broadcast
    assert got.shape == (4,)
    for k in range(4):
        assert_ulps(m1[k], c1[k], np.zeros(n), c2, got=got[k])
    grid = kernels.kl_mvn(m1[:, None], c1[:, None], m1[None, :2], np.stack([c2, c2 * 2]))
    assert grid.shape == (4, 2)
    assert grid[2, 1] == kernels.kl_mvn(m1[2], c1[2], m1[1], c2 * 2)
    assert np.ndim(kernels.kl_mvn(m1[0], c1[0], m1[0], c1[0])) == 0
    assert kernels.kl_mvn(m1[0], c1[0], m1[0], c1[0]) == 0.0


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_extreme_scales(scale):
    # the kernel rescales every pair by a power of 4 (exact): products of the factors
    # neither underflow nor overflow
    rng = np.random.default_rng(13)
    c2 = spd(rng, 2, 10.0) * scale
    c1 = near(rng, c2, 1e-4)
    m1 = rng.normal(size=2) * np.sqrt(scale)
    assert_ulps(m1, c1, m1 * (1 + 1e-3), c2)


def test_kl_beyond_the_largest_double_is_inf():
    got = kernels.kl_mvn(np.zeros(2), np.eye(2), np.array([1e200, 0.0]), np.eye(2) * 1e-200)
    assert got == np.inf


def test_bad_input_names_parameter_and_batch_index():
    eye = np.eye(2)
    cases = [
        ((np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]), np.zeros(2), eye), "cov1",
         "positive definite"),
        ((np.zeros(2), eye, np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]])), "cov2",
         "positive definite"),
        ((np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), eye), "cov1",
         "symmetric"),
        ((np.zeros(2), np.ones(2), np.zeros(2), eye), "cov1", "(..., n, n)"),
        ((np.zeros(3), eye, np.zeros(2), eye), "mean1", "matching"),
        ((np.zeros(2), eye, np.zeros(2), np.eye(3)), "cov2", "matching"),
        ((np.zeros(2), eye * np.nan, np.zeros(2), eye), "cov1", ""),
        ((np.zeros((3, 2)), eye, np.zeros((2, 2)), eye), "mean1", "broadcast"),
    ]
    for args, name, text in cases:
        with pytest.raises(InvalidParameter) as info:
            kernels.kl_mvn(*args)
        assert info.value.name == name and text in str(info.value), str(info.value)
    # a non positive definite member of a batch is named by its index
    batch = np.stack([eye, eye, np.array([[1.0, 2.0], [2.0, 1.0]])])
    with pytest.raises(InvalidParameter, match=r"batch index \(2,\)"):
        kernels.kl_mvn(np.zeros(2), batch, np.zeros(2), eye)
    # ... also on the direct route (a tiny, indefinite cov1)
    bad = np.array([[1.0, 2.0], [2.0, 1.0]]) * 1e-20
    with pytest.raises(InvalidParameter, match="positive definite"):
        kernels.kl_mvn(np.zeros(2), bad, np.zeros(2), eye)


# ---------------------------------------------------------------- property: random pairs

from hypothesis import given, strategies as st  # noqa: E402


@st.composite
def mvn_pairs(draw):
    """(m1, c1, m2, c2): n = 1..4, cond(c1) up to 1e8, c2 either independent or at relative
    distance 10^-15..10^-1 from c1, means near or far."""
    n = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    c1 = spd(rng, n, 10.0 ** draw(st.floats(0, 8)))
    if draw(st.booleans()):
        c2 = near(rng, c1, 10.0 ** draw(st.floats(-15, -1)))
    else:
        c2 = spd(rng, n, 10.0 ** draw(st.floats(0, 8)))
    m1 = rng.normal(size=n) * 10.0 ** draw(st.floats(-3, 3))
    m2 = m1 + rng.normal(size=n) * 10.0 ** draw(st.floats(-12, 2))
    return m1, c1, m2, c2


@given(mvn_pairs())
def test_random_pairs_within_two_ulp(pair):
    assert_ulps(*pair)
