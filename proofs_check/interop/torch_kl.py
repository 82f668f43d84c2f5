"""The ``torch`` target: Gaussian KL (RC-21) and discrete KL conventions (RC-24).

Checked: ``torch.distributions.kl_divergence`` for ``Normal`` and ``MultivariateNormal`` pairs
(random pairs over many magnitudes, nearly equal pairs over decades of the log-variance gap
Delta, a fixed well-conditioned 3x3 pair, batch broadcasting), ``torch.nn.functional.kl_div``
(every reduction, ``log_target``, zero targets) and scipy's ``rel_entr``, ``kl_div`` and
``stats.entropy`` against their definitions.  The exact value is the mathematical function at
the *float inputs the target was given* (converted exactly), at ``dps`` digits.

Tolerance: a backward-stable evaluation in a dtype with unit roundoff u errs by at most
(kappa + k)u relative, where kappa = sum_j |x_j dF/dx_j| / |F| is the condition number of the
quantity at those inputs (computed exactly) and k counts the formula's roundings.  A formula
that cancels (the textbook -1 - Delta + e^Delta near Delta = 0) exceeds that bound: that is the
departure the nearly-equal rows report.
"""

from __future__ import annotations

import time
import warnings

import mpmath
import numpy as np

from numerics.errors import InvalidParameter
from numerics.precision import mpf_from_float, workdps
from proofs_check.interop.common import (FAIL, Report, Result, compare, prop,
                                         to_float64)

#: Roundings in the closed-form Gaussian KL (ratio, square, three sums, log, halving) plus slack 2.
K_NORMAL = 10


def import_torch():
    try:
        import torch
    except ImportError:
        raise InvalidParameter("TARGET", "torch", "an installed torch",
                               "pip install torch==2.13.0 (CPU build)") from None
    return torch


def _mp(x):
    return mpf_from_float(float(x))


def _normal_kl_std(mp_, sp, mq, sq):
    """Exact KL(N(mp, sp^2) || N(mq, sq^2)) and kappa*|KL| (sum of |x dKL/dx|) at mp inputs."""
    r = (sp / sq) ** 2
    d = (mp_ - mq) / sq
    kl = (r + d * d - 1 - mpmath.log(r)) / 2
    cond_abs = abs(r - 1) + abs(r - 1 + d * d) + abs(d) * (abs(mp_) + abs(mq)) / sq
    return kl, cond_abs


def _pairs(rng, n):
    m1 = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-3, 3, n)
    m2 = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-3, 3, n)
    s1 = 10.0 ** rng.uniform(-3, 3, n)
    s2 = 10.0 ** rng.uniform(-3, 3, n)
    return m1, s1, m2, s2


def _normal_rows(torch, dtype_name, m1, s1, m2, s2, label, dps):
    dt = getattr(torch, dtype_name)
    t = [torch.tensor(v, dtype=dt) for v in (m1, s1, m2, s2)]
    from torch.distributions import Normal, kl_divergence

    got = kl_divergence(Normal(t[0], t[1]), Normal(t[2], t[3]))
    ins = [to_float64(v) for v in t]  # the float inputs actually used, exactly
    exact, bound = [], []
    with workdps(dps):
        for a, b, c, d in zip(*ins):
            kl, ca = _normal_kl_std(_mp(a), _mp(b), _mp(c), _mp(d))
            exact.append(kl)
            bound.append(float(ca / kl) + K_NORMAL if kl != 0 else 1e300)
    how = (f"{dtype_name}: (kappa + {K_NORMAL})u, kappa = condition number of KL in "
           "(mu_p, sigma_p, mu_q, sigma_q) at the inputs")
    return compare("RC-21", "kl_divergence(Normal, Normal)", f"{label}, {dtype_name}", got, exact,
                   dtype=dtype_name, bound_u=np.array(bound), how=how, dps=dps)


def _mvn_exact(mp_, Sp, mq, Sq, dps):
    with workdps(dps):
        Sp, Sq = mpmath.matrix(Sp), mpmath.matrix(Sq)
        n = Sp.rows
        iq = mpmath.inverse(Sq)
        dm = mpmath.matrix(mq) - mpmath.matrix(mp_)
        tr = sum((iq * Sp)[i, i] for i in range(n))
        quad = (dm.T * iq * dm)[0, 0]
        ld = mpmath.log(mpmath.det(Sq)) - mpmath.log(mpmath.det(Sp))
        kl = (tr + quad - n + ld) / 2
        ev = mpmath.eigsy(Sq)[0]
        kappa_q = max(ev) / min(ev)
        size = (abs(tr) + abs(quad) + n + abs(ld)) / 2
        return kl, float(kappa_q), float(size / abs(kl))


def _mvn_rows(torch, dtype_name, dps):
    from torch.distributions import MultivariateNormal, kl_divergence

    dt = getattr(torch, dtype_name)
    Sp = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.25], [0.0, 0.25, 1.5]], dtype=dt)
    Sq = torch.tensor([[1.0, 0.2, 0.1], [0.2, 2.0, 0.3], [0.1, 0.3, 1.0]], dtype=dt)
    mp_ = torch.tensor([0.1, -0.2, 0.3], dtype=dt)
    mq = torch.tensor([0.0, 0.1, -0.1], dtype=dt)
    got = kl_divergence(MultivariateNormal(mp_, Sp), MultivariateNormal(mq, Sq))
    f = lambda x: [[_mp(v) for v in row] for row in x.double().tolist()]
    g = lambda x: [_mp(v) for v in x.double().tolist()]
    with workdps(dps):
        kl, kappa, growth = _mvn_exact(g(mp_), f(Sp), g(mq), f(Sq), dps)
    n = 3
    bound = (n ** 3 + 10) * kappa * growth
    how = (f"{dtype_name}: Cholesky and triangular solves, (n^3 + 10) kappa(Sigma_q) "
           f"(sum |terms| / |KL|) u with n = 3, kappa = {kappa:.3g}")
    rows = [compare("RC-21", "kl_divergence(MultivariateNormal, MultivariateNormal)",
                    f"fixed 3x3 pair, {dtype_name}", got, [kl], dtype=dtype_name, bound_u=bound,
                    how=how, dps=dps)]
    # batch broadcasting: p batched (2, 1), q batched (3,) gives (2, 3) pairwise values
    scales_p = torch.tensor([1.0, 2.0], dtype=dt).reshape(2, 1, 1, 1)
    scales_q = torch.tensor([1.0, 0.5, 3.0], dtype=dt).reshape(3, 1, 1)
    try:
        out = kl_divergence(MultivariateNormal(mp_, Sp * scales_p), MultivariateNormal(mq, Sq * scales_q))
        exact, bounds = [], []
        for i in range(2):
            for j in range(3):
                kl_ij, kq, gr = _mvn_exact(g(mp_), f(Sp * scales_p[i, 0]), g(mq), f(Sq * scales_q[j]), dps)
                exact.append(kl_ij)
                bounds.append((n ** 3 + 10) * kq * gr)
        ok_shape = tuple(out.shape) == (2, 3)
        if not ok_shape:
            rows.append(prop("RC-21", "MultivariateNormal KL batch shape", dtype_name, False,
                             f"batch shapes (2,1) and (3,) gave {tuple(out.shape)}, expected (2, 3)"))
        else:
            rows.append(compare("RC-21", "MultivariateNormal KL, batch broadcast (2,1) x (3,)",
                                f"scaled 3x3 pairs, {dtype_name}", out, exact, dtype=dtype_name,
                                bound_u=np.array(bounds), how=how, dps=dps))
    except Exception as exc:  # a target that cannot broadcast: a departure, reported
        rows.append(Result("RC-21", "MultivariateNormal KL batch broadcast", dtype_name, None, None,
                           None, None, FAIL, f"raised {type(exc).__name__}: {exc}"))
    return rows


def _kl_div_rows(torch, dps, rng) -> list[Result]:
    import torch.nn.functional as F

    B, n = 4, 6
    p = rng.uniform(0, 1, (B, n))
    p[0, :2] = 0.0  # zero targets contribute 0 (0 log 0 = 0)
    p[1] /= p[1].sum()
    q = rng.uniform(0.05, 1, (B, n))
    q /= q.sum(axis=1, keepdims=True)
    P = torch.tensor(p, dtype=torch.float64)
    logQ = torch.log(torch.tensor(q, dtype=torch.float64))
    pin, lin = to_float64(P).reshape(B, n), to_float64(logQ).reshape(B, n)
    rows = []
    with workdps(dps):
        elem = [[(_mp(a) * (mpmath.log(_mp(a)) - _mp(b)) if a > 0 else mpmath.mpf(0))
                 for a, b in zip(ra, rb)] for ra, rb in zip(pin, lin)]
        cond = [[(abs(_mp(a) * (mpmath.log(_mp(a)) + 1 - _mp(b))) + abs(_mp(a) * _mp(b)) if a > 0
                  else mpmath.mpf(0)) for a, b in zip(ra, rb)] for ra, rb in zip(pin, lin)]
        total = mpmath.fsum(mpmath.fsum(r) for r in elem)
        total_cond = mpmath.fsum(mpmath.fsum(r) for r in cond)
    k_elem = 4
    flat_e = [e for r in elem for e in r]
    flat_c = [c for r in cond for c in r]
    with workdps(dps):
        eb = np.array([float(c / abs(e)) + k_elem if e != 0 else k_elem for e, c in zip(flat_e, flat_c)])
    how = "float64: elementwise p (log p - input), (kappa + 4)u; 0 where p = 0"
    rows.append(compare("RC-24", "F.kl_div reduction='none'", "input = log q, target = p",
                        F.kl_div(logQ, P, reduction="none"), flat_e, dtype="float64",
                        bound_u=eb, how=how, dps=dps))
    sum_bound = float(total_cond / abs(total)) + k_elem + B * n
    for red, div in (("sum", 1), ("batchmean", B), ("mean", B * n)):
        with workdps(dps):
            want = total / div
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns that 'mean' is not the KL: we check that
            got = F.kl_div(logQ, P, reduction=red)
        rows.append(compare("RC-24", f"F.kl_div reduction='{red}'", f"divides the sum by {div}",
                            got, [want], dtype="float64", bound_u=sum_bound,
                            how=f"float64: sum of {B * n} terms, (kappa + 4 + {B * n})u", dps=dps))
    got = F.kl_div(logQ, torch.log(P.clamp_min(1e-300)), reduction="sum", log_target=True)
    rows.append(compare("RC-24", "F.kl_div log_target=True", "target = log p (p > 0 entries)",
                        got, [total], dtype="float64", bound_u=sum_bound + 2,
                        how="float64: exp(log p)(log p - input); entries with p = 0 use log 1e-300, "
                            "whose term is below 1e-297", dps=dps))
    return rows


def _scipy_rows(dps, rng) -> list[Result]:
    from scipy import special, stats

    rows = []
    cases = [(0.0, 0.0, 0.0, 0.0), (0.0, 0.5, 0.0, 0.5), (0.5, 0.0, np.inf, np.inf),
             (-0.5, 0.5, np.inf, np.inf)]
    for x, y, re_want, kd_want in cases:
        re_got, kd_got = float(special.rel_entr(x, y)), float(special.kl_div(x, y))
        ok = re_got == re_want and kd_got == kd_want
        rows.append(prop("RC-24", "rel_entr / kl_div special arguments", f"x={x}, y={y}", ok,
                         f"definition: rel_entr = {re_want}, kl_div = {kd_want}; got {re_got}, {kd_got}"))
    x = rng.uniform(0, 2, 12)
    y = rng.uniform(0.01, 2, 12)
    x[3] = 0.0
    with workdps(dps):
        re = [(_mp(a) * mpmath.log(_mp(a) / _mp(b)) if a > 0 else mpmath.mpf(0)) for a, b in zip(x, y)]
        kd = [r - _mp(a) + _mp(b) for r, a, b in zip(re, x, y)]
        cre = [abs(_mp(a) * (mpmath.log(_mp(a) / _mp(b)) + 1)) + abs(_mp(a)) if a > 0 else mpmath.mpf(0)
               for a, b in zip(x, y)]
        ckd = [c + abs(_mp(a)) + abs(_mp(b)) for c, a, b in zip(cre, x, y)]
        bre = np.array([float(c / abs(r)) + 4 if r != 0 else 4 for c, r in zip(cre, re)])
        bkd = np.array([float(c / abs(r)) + 6 if r != 0 else 6 for c, r in zip(ckd, kd)])
    rows.append(compare("RC-24", "scipy.special.rel_entr", "x log(x/y)", special.rel_entr(x, y), re,
                        dtype="float64", bound_u=bre, how="float64: (kappa + 4)u", dps=dps))
    rows.append(compare("RC-24", "scipy.special.kl_div", "x log(x/y) - x + y", special.kl_div(x, y), kd,
                        dtype="float64", bound_u=bkd, how="float64: (kappa + 6)u", dps=dps))
    with workdps(dps):
        X, Y = mpmath.fsum(_mp(a) for a in x), mpmath.fsum(_mp(b) for b in y)
        ent = mpmath.fsum((_mp(a) / X) * mpmath.log((_mp(a) / X) / (_mp(b) / Y)) if a > 0 else 0
                          for a, b in zip(x, y))
        cent = mpmath.fsum(abs((_mp(a) / X) * (mpmath.log((_mp(a) / X) / (_mp(b) / Y)) + 1)) + _mp(a) / X
                           for a, b in zip(x, y) if a > 0)
    rows.append(compare("RC-24", "scipy.stats.entropy(pk, qk)", "normalizes pk and qk, sums rel_entr",
                        [stats.entropy(x, y)], [ent], dtype="float64",
                        bound_u=float(cent / abs(ent)) + 8 + 2 * len(x),
                        how="float64: normalization (2n roundings) then a sum: (kappa + 8 + 2n)u", dps=dps))
    ent0 = float(stats.entropy(y, 3.0 * y))
    rows.append(prop("RC-24", "scipy.stats.entropy(p, 3p)", "proportional vectors", abs(ent0) <= 64 * 2.0 ** -53,
                     f"normalization makes proportional vectors identical: 0 exactly, got {ent0:.3g} "
                     "(tolerance 64u for the rounding of two normalizations)", value=abs(ent0),
                     tolerance=64 * 2.0 ** -53))
    return rows


def check(dps: int = 50, seed: int = 0, progress=None) -> Report:
    torch = import_torch()
    start = time.monotonic()
    rng = np.random.default_rng(seed)
    results = []
    for dt in ("float64", "float32"):
        m1, s1, m2, s2 = _pairs(rng, 64)
        results.append(_normal_rows(torch, dt, m1, s1, m2, s2, "random pairs, |mu|, sigma in [1e-3, 1e3]", dps))
        decades = range(1, 13) if dt == "float64" else range(1, 7)
        s2n = 10.0 ** rng.uniform(-2, 2, len(decades))
        deltas = np.array([10.0 ** -k for k in decades])
        m = np.zeros(len(decades))
        results.append(_normal_rows(torch, dt, m, s2n * np.exp(deltas / 2), m, s2n,
                                    "nearly equal, Delta = logvar_p - logvar_q in 1e-1..1e-"
                                    f"{decades[-1]}, exact 1/2(e^Delta - 1 - Delta)", dps))
        results += _mvn_rows(torch, dt, dps)
    results += _kl_div_rows(torch, dps, rng)
    results += _scipy_rows(dps, rng)
    import scipy

    return Report("torch", f"torch {torch.__version__}, scipy {scipy.__version__}", results,
                  time.monotonic() - start, loaded_from=str(getattr(torch, "__file__", "")))
