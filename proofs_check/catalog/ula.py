"""ULA and MALA on Gaussian targets: recursion, exact bias, VW and DK bounds (catalog L1.10-L1.15).

Target pi = N(mu, A^{-1}); ULA x_{k+1} = x_k - h A(x_k - mu) + sqrt(2h) xi_k.  Every law is
Gaussian and exact (:mod:`numerics.langevin`), every divergence a closed form.

Main statements:

* ``ula.gaussian_recursion`` (L1.10): m' - mu = (I - hA)(m - mu), S' = (I - hA) S (I - hA) + 2h I;
  stationary variance 1/(lam (1 - h lam/2)) per eigenvalue; stable iff h < 2/lambda_max.
* ``ula.bias_calibration`` (L1.11): KL(pi_h || pi), KL(pi || pi_h), W2^2(pi_h, pi) per eigenvalue
  and their h-series; the calibration against the VW bias term 8 h d L^2 / alpha (a table in the
  rate check's ``extra``).
* ``ula.stationary_kl_below_vw_bias`` (L1.13 at k -> infinity): KL(pi_h || pi) <= 8 h d L^2 / alpha,
  PROVED by z3 per eigenvalue.
* ``ula.vw_one_step`` (L1.12): KL(rho_{k+1} || pi) <= e^{-alpha h} KL(rho_k || pi) + 6 h^2 d L^2.
* ``ula.vw_kl_theorem`` (L1.13): KL(rho_k || pi) <= e^{-alpha h k} KL(rho_0 || pi) + 8 h d L^2 / alpha.
* ``ula.dalalyan_karagulyan_w2`` (L1.14): W2(nu_K, pi) <= (1 - m h)^K W2(nu_0, pi) + 1.65 (M/m) sqrt(h d)
  (constant recalled, not re-read); PROVED on Gaussian targets by z3 on two scalar reductions.
* ``ula.mala_kernel_identities`` (L1.15): the Gaussian MALA log acceptance ratio
  (h/4)(|grad V(x)|^2 - |grad V(y)|^2), r(x) in closed form, TV(P_MALA(x,.), Q(x,.)) = r(x);
  detailed balance for quadratic and quartic potentials.

References: Roberts-Tweedie 1996; Vempala-Wibisono 2019 (Lemma 3, Thm 1); Dalalyan-Karagulyan
2019 (Thm 1); Chewi et al. 2021.
"""

from __future__ import annotations

import random
from fractions import Fraction
from functools import lru_cache

import mpmath
import sympy as sp

from identities import prove_equal
from identities import langevin as il
from numerics import divergences as dv
from numerics import langevin as nl
from numerics.divergences import SPDMatrix
from numerics.precision import identity_tolerance, workdps
from numerics.strategies import (random_dk_setting, random_dk_step_violation, random_ula_setting,
                                 random_vw_violation, ula_point)
from proofs_check.bounds import Bound, Rate, Reduction, Teeth, fit_order
from proofs_check.catalog import Assumption, Check, Entry, Mutant, Outcome, Ref, Status, register
from proofs_check.routes import evaluate_formula, numeric_route, replace, symbolic_route

NOTES = "Lu, Movement I, guarantees for ULA and MALA (explicit calibration on Gaussian targets)"


def _ref(item: str, *lit: str) -> Ref:
    return Ref(catalog=item, notes=NOTES, literature=lit)


def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else mpmath.mpmathify(x)


# ----------------------------------------------------------------------------- L1.10 (identity)

_h, _lam = il.S.h, il.S.lam
_a11, _a12, _a22, _s11, _s12, _s22, _m1, _m2, _mu1, _mu2 = sp.symbols(
    "a11 a12 a22 s11 s12 s22 m1 m2 mu1 mu2", real=True)


def _recursion_claim() -> dict:
    A = sp.Matrix([[_a11, _a12], [_a12, _a22]])
    Sig = sp.Matrix([[_s11, _s12], [_s12, _s22]])
    B = sp.eye(2) - _h * A
    mean = sp.Matrix([_mu1, _mu2]) + B * sp.Matrix([_m1 - _mu1, _m2 - _mu2])
    cov = B * Sig * B + 2 * _h * sp.eye(2)
    return {"mean_next_1": mean[0], "mean_next_2": mean[1], "cov_next_11": cov[0, 0], "cov_next_12": cov[0, 1],
            "cov_next_22": cov[1, 1], "stationary_variance": 1 / (_lam * (1 - _h * _lam / 2)),
            "stability_threshold": 2 / _lam}


RECURSION = _recursion_claim()


def _recursion_derive() -> dict:
    out = dict(il.ula_one_step_2d())
    out["stationary_variance"] = il.ula_stationary_variance()
    roots = sp.solve(sp.Eq((1 - _h * _lam) ** 2, 1), _h)  # |1 - h lam| = 1: the variance multiplier hits 1
    out["stability_threshold"] = max(roots, key=lambda r: 0 if r == 0 else 1)
    return out


def _recursion_reference(point, dps):
    P = {k: _mp(Fraction(v)) for k, v in point.items()}
    A = mpmath.matrix([[P["a11"], P["a12"]], [P["a12"], P["a22"]]])
    S = mpmath.matrix([[P["s11"], P["s12"]], [P["s12"], P["s22"]]])
    mean, cov = nl.ula_step_moments_by_quadrature(A, S, mpmath.matrix([P["m1"], P["m2"]]),
                                                  mpmath.matrix([P["mu1"], P["mu2"]]), P["h"])
    lam, h = Fraction(point["lam"]), Fraction(point["h"])
    stat = nl.ula_stationary_covariance_by_series([[lam]], h, dps)[0, 0]

    def multiplier(hh):  # d Var(x') / d Var(x) - 1 in 1-D (Var x' is affine in Var x), by Gauss-Hermite
        one = nl.ula_step_moments_by_quadrature(mpmath.matrix([[_mp(lam)]]), mpmath.matrix([[1]]),
                                                mpmath.matrix([0]), mpmath.matrix([0]), hh)[1]
        return one[0, 0] - 2 * hh - 1

    threshold = mpmath.findroot(multiplier, 3 / (2 * _mp(lam)))
    return {"mean_next_1": mean[0], "mean_next_2": mean[1], "cov_next_11": cov[0, 0], "cov_next_12": cov[0, 1],
            "cov_next_22": cov[1, 1], "stationary_variance": stat, "stability_threshold": threshold}


def _recursion_points(ctx):
    rng = random.Random(f"ula_recursion:{ctx.seed}")
    out = []
    for _ in range(max(2, int(3 * ctx.effort))):
        a11, a22, s11, s22 = (Fraction(rng.randint(2, 12), 4) for _ in range(4))
        lam = Fraction(rng.randint(2, 16), 4)
        out.append({"a11": a11, "a22": a22, "a12": min(a11, a22) * Fraction(rng.randint(-4, 4), 10),
                    "s11": s11, "s22": s22, "s12": min(s11, s22) * Fraction(rng.randint(-4, 4), 10),
                    "m1": Fraction(rng.randint(-8, 8), 4), "m2": Fraction(rng.randint(-8, 8), 4),
                    "mu1": Fraction(rng.randint(-4, 4), 4), "mu2": Fraction(rng.randint(-4, 4), 4),
                    "lam": lam, "h": Fraction(rng.randint(2, 14), 8) / lam})
    return out


register(Entry(
    id="ula.gaussian_recursion", title="ULA on a Gaussian target stays Gaussian", kind="identity",
    statement=r"m_{k+1}-\mu = (I-hA)(m_k-\mu),\ S_{k+1} = (I-hA)S_k(I-hA) + 2hI,\ "
              r"v_h = \tfrac{1}{\lambda(1-h\lambda/2)},\ \text{stable iff } h < 2/\lambda_{\max}",
    source=_ref("L1.10", "RobertsTweedie1996"), claim=RECURSION,
    checks=(symbolic_route(_recursion_derive, budget=20.0),
            numeric_route(_recursion_reference, _recursion_points,
                          description="Gauss-Hermite moments of one step; the stationary series 2h sum B^2j; "
                                      "the root of the variance multiplier")),
    mutants=(Mutant("noise_h", "S' = B S B + h I: the noise scale sqrt(h) instead of sqrt(2h)",
                    replace(RECURSION, cov_next_11=RECURSION["cov_next_11"] - _h, cov_next_22=RECURSION["cov_next_22"] - _h)),
             Mutant("stationary_one_minus_h_lam", "v_h = 1/(lam (1 - h lam)): factor 1/2 dropped",
                    replace(RECURSION, stationary_variance=1 / (_lam * (1 - _h * _lam)))),
             Mutant("threshold_one_over_lam", "stable iff h < 1/lambda_max", replace(RECURSION, stability_threshold=1 / _lam))),
    notes="2-D with symbolic A, S for the one-step moments (the d-dim statement is the same matrix identity); "
          "per eigenvalue for the stationary variance and the threshold.  The stationary mean is mu exactly "
          "(the mean map is a contraction with fixed point mu)."))


# ----------------------------------------------------------------------------- assumptions shared by the ULA bounds

LSI = Assumption("lsi", "0 < alpha <= lambda_min(A): pi satisfies LSI(alpha)", lambda p: 0 < p["alpha"] <= p["A"].lambda_min)
SMOOTH = Assumption("smooth", "L >= lambda_max(A): V is L-smooth", lambda p: p["L"] >= p["A"].lambda_max)
STEP = Assumption("step", "0 < h <= alpha / (4 L^2)", lambda p: 0 < p["h"] <= p["alpha"] / (4 * p["L"] ** 2))


def _pi_cov(p):
    return p["A"].inverse()


def _kl_to_pi(m, S, p, dps):
    return dv.gaussian_kl(m, S, p["mu"], _pi_cov(p), dps)


def _stationary_kl(p, dps):
    mu_h, cov_h = nl.ula_stationary_law(p["mu"], p["A"], p["h"])
    return _kl_to_pi(mu_h, cov_h, p, dps)


def _vw_bias(constant=8, power=1):
    def rhs(p, dps):
        with workdps(dps):
            return constant * _mp(p["h"]) ** power * p["d"] * _mp(p["L"]) ** 2 / _mp(p["alpha"])
    return rhs


# ----------------------------------------------------------------------------- L1.11 (identity + calibration)

_one = 1 - _h * _lam / 2
BIAS = {
    "kl_forward": (1 / _one - 1 + sp.log(_one)) / 2,
    "kl_reverse": (_one - 1 - sp.log(_one)) / 2,
    "w2_sq": (sp.sqrt(1 / (_lam * _one)) - 1 / sp.sqrt(_lam)) ** 2,
    "kl_forward_series": _h ** 2 * _lam ** 2 / 16 + _h ** 3 * _lam ** 3 / 24,
    "kl_reverse_series": _h ** 2 * _lam ** 2 / 16 + _h ** 3 * _lam ** 3 / 48,
    "w2_sq_series": _h ** 2 * _lam / 16 + 3 * _h ** 3 * _lam ** 2 / 64,
}
_CLOSED = ("kl_forward", "kl_reverse", "w2_sq")


def _bias_symbolic(claim, ctx) -> Outcome:
    """Closed forms: prove_equal after h = (2 - w)/lam with w > 0 (i.e. 0 < h lam < 2); series:
    the Taylor polynomial to h^3 of the derivation."""
    derived = il.ula_bias_1d()
    w = sp.Symbol("w", positive=True)
    done = []
    for name, stated in claim.items():
        if name in _CLOSED:
            lhs, rhs = derived[name].subs(_h, (2 - w) / _lam), stated.subs(_h, (2 - w) / _lam)
        else:
            lhs, rhs = il.series_in_h(derived[name.replace("_series", "")], 4), stated
        res = prove_equal(lhs, rhs, budget=6.0, seed=ctx.seed)
        if res.status == "FAIL":
            return Outcome(Status.FAIL, f"{name}: differs from the derivation",
                           counterexample={"formula": name, **(res.counterexample or {})})
        if res.status != "PROVED":
            return Outcome(Status.INCONCLUSIVE, f"{name}: {res}")
        done.append(name)
    return Outcome(Status.PROVED, f"{len(done)} formulas reduced to 0 (closed forms and Taylor polynomials to h^3)")


def _exact_bias(lam: Fraction, h: Fraction, dps: int) -> dict:
    """Per eigenvalue, from the ULA stationary variance (exact) and the Gaussian closed forms."""
    (vh,) = nl.ula_stationary_variances([lam], h)
    return {"kl_forward": dv.gaussian_kl([0], [[vh]], [0], [[1 / lam]], dps),
            "kl_reverse": dv.gaussian_kl([0], [[1 / lam]], [0], [[vh]], dps),
            "w2_sq": dv.gaussian_w2_sq([0], [[vh]], [0], [[1 / lam]], dps)}


def _bias_reference(point, dps):
    lam, h = Fraction(point["lam"]), Fraction(point["h"])
    vh = nl.ula_stationary_covariance_by_series([[lam]], h, dps + 10)  # 2h sum (1 - h lam)^{2j}: no closed form
    return {"kl_forward": dv.gaussian_kl([0], vh, [0], [[1 / lam]], dps),
            "kl_reverse": dv.gaussian_kl([0], [[1 / lam]], [0], vh, dps),
            "w2_sq": dv.gaussian_w2_sq([0], vh, [0], [[1 / lam]], dps)}


def _bias_points(ctx):
    rng = random.Random(f"ula_bias:{ctx.seed}")
    out = []
    for _ in range(max(2, int(3 * ctx.effort))):
        lam = Fraction(rng.randint(1, 40), 4)
        out.append({"lam": lam, "h": Fraction(rng.randint(3, 13), 8) / lam})
    return out


def _bias_numeric(claim, ctx) -> Outcome:
    """Closed forms against the series-summed stationary covariance (at dps and dps + 20); series
    against numerical Taylor coefficients of the exact bias; neither uses the stated formulas."""
    tol = identity_tolerance(ctx.dps)
    worst, where, gap = mpmath.mpf(0), None, mpmath.mpf(0)
    for point in _bias_points(ctx):
        ref = _bias_reference(point, ctx.dps)
        high = _bias_reference(point, ctx.dps + 20)
        coeffs = nl.ula_bias_taylor_coefficients(Fraction(point["lam"]), ctx.dps)
        small = {"h": Fraction(point["h"]) / 64, "lam": point["lam"]}  # the series compared as a polynomial
        with workdps(ctx.dps):
            for name, stated in claim.items():
                if name in ref:
                    err = abs(evaluate_formula(stated, point) - ref[name]) / abs(ref[name])
                    gap = max(gap, abs(ref[name] - high[name]) / abs(high[name]))
                else:
                    poly = mpmath.polyval(coeffs[name.replace("_series", "")][::-1], _mp(small["h"]))
                    err = abs(evaluate_formula(stated, small) - poly) / abs(poly)
                if err > worst:
                    worst, where = err, (name, point)
    metric = (f"max rel err {mpmath.nstr(worst, 2)} (tol {mpmath.nstr(tol, 1)}) over closed forms and series; "
              f"dps/dps+20 gap {mpmath.nstr(gap, 2)}")
    if gap > tol:
        return Outcome(Status.INCONCLUSIVE, metric, detail="the reference disagreed with itself at two precisions")
    if worst > tol:
        return Outcome(Status.FAIL, metric, value=float(worst),
                       counterexample={"formula": where[0], "point": {k: str(v) for k, v in where[1].items()}})
    return Outcome(Status.CONFIRMED, metric, value=float(worst))


def _series_remainder(claim, ctx) -> Outcome:
    """|stated closed form - stated series| must be O(h^4): each series expands its closed form."""
    lam = Fraction(3, 2)
    hs = [Fraction(1, 6 * 2 ** j) for j in range(2, 8)]
    fits = {}
    with workdps(ctx.dps):
        for name in ("kl_forward_series", "kl_reverse_series", "w2_sq_series"):
            closed = claim[name.replace("_series", "")]
            rem = [abs(evaluate_formula(closed, {"h": h, "lam": lam}) - evaluate_formula(claim[name], {"h": h, "lam": lam}))
                   for h in hs]
            fits[name] = float(fit_order([_mp(h) for h in hs], rem)) if all(r > 0 for r in rem) else float("inf")
    bad = {k: v for k, v in fits.items() if abs(v - 4) > 0.1}
    metric = "closed form - series: orders " + ", ".join(f"{k}: {v:.3f}" for k, v in fits.items()) + " (declared 4, tol 0.1)"
    if bad:
        return Outcome(Status.FAIL, metric, counterexample={"fitted_orders": fits})
    return Outcome(Status.CONFIRMED, metric, extra={"remainder_orders": fits})


def _calibration_targets():
    iso = SPDMatrix.diagonal((Fraction(2),) * 4)
    aniso = SPDMatrix(dv.givens_rotation(3, 0, 1, Fraction(1, 3)), (Fraction(1, 2), Fraction(5), Fraction(10)))
    return (("isotropic d=4, lambda=2", iso), ("anisotropic d=3, kappa=20", aniso))


def _calibration(claim, ctx) -> Outcome:
    """The exact ULA bias on Gaussian targets against the VW bias term 8 h d L^2 / alpha."""
    tables, fits_all, ok, lines = [], {}, True, []
    declared = {"kl_forward": 2, "kl_reverse": 2, "w2": 1, "ratio_kl_to_vw": 1, "ratio_w2_to_dk": 0.5}
    with workdps(ctx.dps):
        for label, A in _calibration_targets():
            alpha, L, d = A.lambda_min, A.lambda_max, A.dim
            hmax = alpha / (4 * L * L)
            rows = nl.ula_bias_calibration_rows(A, [hmax / 2 ** j for j in range(9)], ctx.dps)
            for j, r in enumerate(rows):
                r["h_over_hmax"] = Fraction(1, 2 ** j)
            tail = rows[-5:]
            fits = {k: float(fit_order([_mp(r["h"]) for r in tail], [r[k] for r in tail])) for k in declared}
            fits_all[label] = fits
            ok = ok and all(abs(fits[k] - v) <= 0.1 for k, v in declared.items())
            tables.append({"target": label, "alpha": str(alpha), "L": str(L), "d": d, "h_max": str(hmax),
                           "rows": [{k: (str(v) if isinstance(v, Fraction) else mpmath.nstr(v, 8)) for k, v in r.items()}
                                    for r in rows],
                           "fitted_orders_small_h": fits})
            lines.append(f"{label}: exact/VW = {mpmath.nstr(rows[0]['ratio_kl_to_vw'], 3)} at h = alpha/(4L^2), "
                         f"{mpmath.nstr(rows[-1]['ratio_kl_to_vw'], 3)} at h/256")
    f = fits_all[_calibration_targets()[0][0]]
    metric = (f"exact bias orders in h: KL(pi_h||pi) {f['kl_forward']:.3f}, KL(pi||pi_h) {f['kl_reverse']:.3f}, "
              f"W2 {f['w2']:.3f}; VW term 8hdL^2/alpha is order 1, so exact/VW has order {f['ratio_kl_to_vw']:.3f} "
              f"(off by a factor of order 1/h); W2/DK-term order {f['ratio_w2_to_dk']:.3f}. " + "; ".join(lines))
    extra = {"declared_orders": declared, "tables": tables}
    return Outcome(Status.CONFIRMED if ok else Status.FAIL, metric, value=f["ratio_kl_to_vw"], extra=extra)


register(Entry(
    id="ula.bias_calibration", title="Exact ULA bias on Gaussian targets and its calibration", kind="identity",
    statement=r"\mathrm{KL}(\pi_h\|\pi) = \tfrac12\sum_i[(1-\tfrac{h\lambda_i}{2})^{-1} - 1 + \log(1-\tfrac{h\lambda_i}{2})]"
              r" = \tfrac{h^2}{16}\sum\lambda_i^2 + \tfrac{h^3}{24}\sum\lambda_i^3 + O(h^4)",
    source=_ref("L1.11", "VempalaWibisono2019", "Mou2022"), claim=BIAS,
    checks=(Check("symbolic", _bias_symbolic, "sympy: closed forms from the stationary variance; Taylor polynomials", budget=30.0),
            Check("numeric", _bias_numeric, "closed forms vs the series-summed stationary covariance; series vs "
                  "numerical Taylor coefficients of the exact bias"),
            Check("rate", _series_remainder, "each stated series is the stated closed form to O(h^4)"),
            Check("rate", _calibration, "calibration: exact bias vs the VW term 8hdL^2/alpha (table in extra)",
                  on_mutants=False)),
    mutants=(Mutant("forward_cubic_12", "KL(pi_h||pi) = h^2 lam^2/16 + h^3 lam^3/12 + O(h^4)",
                    replace(BIAS, kl_forward_series=_h ** 2 * _lam ** 2 / 16 + _h ** 3 * _lam ** 3 / 12)),
             Mutant("reverse_equals_forward", "KL(pi||pi_h) with the forward cubic coefficient 1/24",
                    replace(BIAS, kl_reverse_series=BIAS["kl_forward_series"])),
             Mutant("w2_without_root", "W2^2 = (v_h - 1/lam)^2: square roots dropped",
                    replace(BIAS, w2_sq=(1 / (_lam * _one) - 1 / _lam) ** 2))),
    notes="Per eigenvalue lam of A; the d-dim quantities are sums over the spectrum.  The calibration "
          "(rate check, extra.tables) shows the VW bias term 8hdL^2/alpha overestimates the exact stationary "
          "KL bias by a factor of order 1/h (exact ~ h^2 sum lam^2/16)."))


# ----------------------------------------------------------------------------- L1.13 at k -> infinity (z3)

def _stationary_search(rng):
    R = il.R
    alpha = Fraction(2) ** rng.randint(-4, 4)
    lam = alpha * (1 + Fraction(rng.randint(0, 8), 4))
    L = lam * (1 + Fraction(rng.randint(0, 8), 4))
    h = alpha / (4 * L * L) / 2 ** rng.randint(0, 16)
    return {R.alpha: alpha, R.lam: lam, R.L: L, R.h: h}


def _stationary_reduction(constant=8, power=1):
    return Reduction.from_table(il.ula_stationary_kl_reduction(constant, power),
                                il.ula_stationary_kl_reduction.__doc__.strip(),
                                search={"per_eigenvalue": _stationary_search})


def _bias_family(ctx):
    A = SPDMatrix(dv.givens_rotation(2, 0, 1, Fraction(1, 2)), (Fraction(1), Fraction(3)))
    hmax = A.lambda_min / (4 * A.lambda_max ** 2)
    return [ula_point(A, A.lambda_min, A.lambda_max, hmax / 2 ** j) for j in range(3, 8)]


STATIONARY = Bound(
    "ula.stationary_kl_below_vw_bias", _stationary_kl, _vw_bias(), assumptions=(LSI, SMOOTH, STEP),
    sampler=random_ula_setting, draws=10,
    edges=(ula_point(SPDMatrix.diagonal((Fraction(4),)), Fraction(4), Fraction(4), Fraction(1, 16)),
           ula_point(SPDMatrix.diagonal((Fraction(1), Fraction(1))), Fraction(1), Fraction(1), Fraction(1, 4000))),
    rate=Rate("h", 2, _bias_family, description="log-log slope of KL(pi_h || pi) in h vs the declared 2"),
    reduction=_stationary_reduction(), teeth=(Teeth("step", lambda rng: random_vw_violation(rng, "step_to_stability")),))
register(STATIONARY.entry(
    title="The stationary ULA bias is below the VW bias term (Gaussian targets)", kind="estimate",
    statement=r"\mathrm{KL}(\pi_h\|\pi) \le 8hdL^2/\alpha\quad (0 < h \le \alpha/4L^2)",
    source=_ref("L1.13", "VempalaWibisono2019"),
    mutants=(STATIONARY.mutant("h_cubed", "8 h^3 d L^2/alpha: a wrong power of h (fails as h -> 0)",
                               rhs=_vw_bias(8, 3), reduction=_stationary_reduction(8, 3)),),
    notes="The k -> infinity limit of L1.13 on Gaussian targets.  Loose by a factor ~ 128/(h L) "
          "(see ula.bias_calibration)."))


# ----------------------------------------------------------------------------- L1.12

def _one_step_lhs(p, dps):
    m1, S1 = nl.ula_step(p["m0"], p["S0"], p["mu"], p["A"], p["h"])
    return _kl_to_pi(m1, S1, p, dps)


def _one_step_rhs(rate=1, error=True):
    def rhs(p, dps):
        with workdps(dps):
            val = mpmath.exp(-rate * _mp(p["alpha"]) * _mp(p["h"])) * _kl_to_pi(p["m0"], p["S0"], p, dps)
            return val + (6 * _mp(p["h"]) ** 2 * p["d"] * _mp(p["L"]) ** 2 if error else 0)
    return rhs


_STATIONARY_START = ula_point(SPDMatrix.diagonal((Fraction(2), Fraction(5))), Fraction(2), Fraction(5), Fraction(1, 50))
ONE_STEP = Bound(
    "ula.vw_one_step", _one_step_lhs, _one_step_rhs(), assumptions=(LSI, SMOOTH, STEP), sampler=random_ula_setting,
    draws=12,
    edges=(_STATIONARY_START, {**_STATIONARY_START, "m0": (Fraction(40), Fraction(0))}),
    teeth=tuple(Teeth(a, lambda rng, a=a: random_vw_violation(rng, a)) for a in ("step", "lsi", "smooth")))
register(ONE_STEP.entry(
    title="Vempala-Wibisono one-step lemma on Gaussian targets", kind="estimate",
    statement=r"\mathrm{KL}(\rho_{k+1}\|\pi) \le e^{-\alpha h}\mathrm{KL}(\rho_k\|\pi) + 6h^2dL^2\quad (0<h\le\alpha/4L^2)",
    source=_ref("L1.12", "VempalaWibisono2019"),
    mutants=(ONE_STEP.mutant("no_error_term", "KL(rho_{k+1}) <= e^{-alpha h} KL(rho_k): the discretisation error dropped "
                             "(fails at rho_k = pi)", rhs=_one_step_rhs(1, False)),
             ONE_STEP.mutant("rate_4alpha", "e^{-4 alpha h}: twice the continuous-time KL rate", rhs=_one_step_rhs(4))),
    notes="Exact one-step laws (rational arithmetic).  The suggested mutant e^{-2 alpha h} is TRUE on every "
          "Gaussian target (mean modes contract by (1 - h lam)^2 <= e^{-2 alpha h}; the O(h^4) covariance excess "
          "is far below 6h^2dL^2), so Gaussian checks cannot reject it; e^{-4 alpha h} fails for a large mean "
          "shift along the lambda_min eigenvector."))


# ----------------------------------------------------------------------------- L1.13

def _vw_sampler(rng):
    p = random_ula_setting(rng)
    p["k"] = rng.choice((0, 1, 3, 10, 40, 150))
    if rng.random() < 0.2:
        p["m0"], p["S0"] = p["mu"], p["A"].inverse()  # start at pi: only the bias term is left
    return p


def _vw_lhs(p, dps):
    mk, Sk = nl.ula_law(p["k"], p["m0"], p["S0"], p["mu"], p["A"], p["h"], dps + 10)
    return _kl_to_pi(mk, Sk, p, dps)


def _vw_rhs(rate=1, bias=True):
    def rhs(p, dps):
        with workdps(dps):
            val = mpmath.exp(-rate * _mp(p["alpha"]) * _mp(p["h"]) * p["k"]) * _kl_to_pi(p["m0"], p["S0"], p, dps)
            return val + (_vw_bias()(p, dps) if bias else 0)
    return rhs


VW = Bound(
    "ula.vw_kl_theorem", _vw_lhs, _vw_rhs(), assumptions=(LSI, SMOOTH, STEP), sampler=_vw_sampler, draws=10,
    edges=({**_STATIONARY_START, "k": 200}, {**_STATIONARY_START, "m0": (Fraction(30), Fraction(-30)), "k": 20}),
    teeth=(Teeth("step", lambda rng: random_vw_violation(rng, "step_to_stability", k=3)),
           Teeth("lsi", lambda rng: random_vw_violation(rng, "lsi", k=12)),
           Teeth("smooth", lambda rng: random_vw_violation(rng, "smooth", k=5))))
register(VW.entry(
    title="Vempala-Wibisono: ULA converges in KL under LSI (Gaussian targets)", kind="theorem",
    statement=r"\mathrm{KL}(\rho_k\|\pi) \le e^{-\alpha hk}\mathrm{KL}(\rho_0\|\pi) + 8hdL^2/\alpha",
    source=_ref("L1.13", "VempalaWibisono2019"),
    mutants=(VW.mutant("no_bias_term", "KL(rho_k) <= e^{-alpha h k} KL(rho_0): bias term dropped (fails from rho_0 = pi)",
                       rhs=_vw_rhs(1, False)),
             VW.mutant("rate_4alpha", "e^{-4 alpha h k}", rhs=_vw_rhs(4))),
    notes="Exact k-step laws in the eigenbasis of A.  The gap to the true bias: see ula.bias_calibration "
          "(the bias term is loose by a factor of order 1/h on Gaussians)."))


# ----------------------------------------------------------------------------- L1.14

DK_CONVEX = Assumption("strong_convexity", "0 < m <= lambda_min(A)", lambda p: 0 < p["m"] <= p["A"].lambda_min)
DK_SMOOTH = Assumption("smooth", "M >= lambda_max(A)", lambda p: p["M"] >= p["A"].lambda_max)
DK_STEP = Assumption("step", "0 < h <= 2/(m + M)", lambda p: 0 < p["h"] <= 2 / (p["m"] + p["M"]))


def _dk_lhs(p, dps):
    mk, Sk = nl.ula_law(p["K"], p["m0"], p["S0"], p["mu"], p["A"], p["h"], dps + 10)
    return dv.gaussian_w2(mk, Sk, p["mu"], _pi_cov(p), dps)


def _dk_rhs(rate=1, constant="1.65"):
    def rhs(p, dps):
        with workdps(dps):
            w0 = dv.gaussian_w2(p["m0"], p["S0"], p["mu"], _pi_cov(p), dps)
            bias = mpmath.mpf(constant) * _mp(p["M"]) / _mp(p["m"]) * mpmath.sqrt(_mp(p["h"]) * p["d"])
            return (1 - rate * _mp(p["m"]) * _mp(p["h"])) ** p["K"] * w0 + bias
    return rhs


def _dk_reduction(rate=None, constant=sp.Rational(165, 100)):
    table = {**il.dk_contraction_reduction(rate), **il.dk_bias_reduction(constant)}
    return Reduction.from_table(table, il.dk_bias_reduction.__doc__.strip())


def _dk_family(ctx):
    A = SPDMatrix(dv.givens_rotation(2, 0, 1, Fraction(1, 2)), (Fraction(1), Fraction(3)))
    base = {"d": 2, "A": A, "mu": (Fraction(0),) * 2, "m": Fraction(1), "M": Fraction(3), "K": 0,
            "m0": (Fraction(0),) * 2, "S0": A.inverse()}
    return [{**base, "h": Fraction(1, 2) / 2 ** j} for j in range(3, 8)]


def _stationary_w2(p, dps):
    _, cov_h = nl.ula_stationary_law(p["mu"], p["A"], p["h"])
    return dv.gaussian_w2(p["mu"], cov_h, p["mu"], _pi_cov(p), dps)


DK = Bound(
    "ula.dalalyan_karagulyan_w2", _dk_lhs, _dk_rhs(), assumptions=(DK_CONVEX, DK_SMOOTH, DK_STEP),
    sampler=random_dk_setting, draws=10,
    edges=({"d": 2, "A": SPDMatrix.diagonal((Fraction(1), Fraction(3))), "mu": (Fraction(0),) * 2, "m": Fraction(1),
            "M": Fraction(3), "h": Fraction(1, 4), "K": 10, "m0": (Fraction(1000), Fraction(0)),
            "S0": SPDMatrix.diagonal((Fraction(1), Fraction(1, 3)))},),
    rate=Rate("h", 1, _dk_family, quantity=_stationary_w2,
              description="order in h of the exact stationary bias W2(pi_h, pi): 1, against the sqrt(h) of the bound"),
    reduction=_dk_reduction(), teeth=(Teeth("step", random_dk_step_violation),))
register(DK.entry(
    title="Dalalyan-Karagulyan W2 bound for ULA (Gaussian targets; constant recalled)", kind="theorem",
    statement=r"W_2(\nu_K,\pi) \le (1-mh)^K W_2(\nu_0,\pi) + 1.65\,(M/m)\sqrt{hd}\quad (h \le 2/(m+M))",
    source=_ref("L1.14", "DalalyanKaragulyan2019"),
    mutants=(DK.mutant("rate_2m", "(1 - 2mh)^K: contraction overstated", rhs=_dk_rhs(2), reduction=_dk_reduction(2 * il.R.m_c)),
             DK.mutant("no_bias_term", "bias term dropped (fails from nu_0 = pi)", rhs=_dk_rhs(1, "0"),
                       reduction=_dk_reduction(None, 0))),
    notes="The constant 1.65 and the step condition are recalled, not re-read (catalog LIT-MED): the property "
          "and proof routes test the statement as written; on Gaussian targets even the constant 1 suffices "
          "(the reduction proves 2 W2(pi_h, pi) <= (M/m) sqrt(hd)), and the exact bias is O(h), not O(sqrt h)."))


# ----------------------------------------------------------------------------- L1.15 (identity)

_x, _y, _mu = il.S.x, il.S.yy, il.S.mu
_s = 1 + _h ** 2 * _lam ** 2
_r_closed = ((sp.erfc(_h * _lam * _x / (2 * sp.sqrt(_h))) + sp.erfc((2 - _h * _lam) * _x / (2 * sp.sqrt(_h)))) / 2
             - sp.exp(_h ** 2 * _lam ** 3 * _x ** 2 / (2 * _s)) / (2 * sp.sqrt(_s))
             * (sp.erfc(_h * _lam * (1 + _h * _lam) * _x / (2 * sp.sqrt(_h * _s)))
                + sp.erfc((2 - _h * _lam + _h ** 2 * _lam ** 2) * _x / (2 * sp.sqrt(_h * _s)))))
MALA = {
    "log_acceptance_ratio": _h / 4 * _lam ** 2 * ((_x - _mu) ** 2 - (_y - _mu) ** 2),
    "rejection_probability": _r_closed,
    "tv_mala_ula": _r_closed,
}
_xp = sp.Symbol("x", positive=True)


def _mala_derive() -> dict:
    r = il.mala_rejection_probability_1d()
    return {"log_acceptance_ratio": il.mala_log_ratio_1d(), "rejection_probability": r,
            # P = a Q + r delta_x: TV(P, Q) = (int (1 - a) q + r)/2 = r
            "tv_mala_ula": r}


def _mala_symbolic(claim, ctx) -> Outcome:
    derived = _mala_derive()
    for name, stated in claim.items():
        lhs, rhs = derived[name], stated
        if name != "log_acceptance_ratio":  # x > 0 and erfc arguments in canonical form
            lhs, rhs = il.canonical_erfc(lhs).subs(_x, _xp), il.canonical_erfc(rhs).subs(_x, _xp)
        res = prove_equal(lhs, rhs, budget=6.0, seed=ctx.seed)
        if res.status == "FAIL":
            return Outcome(Status.FAIL, f"{name}: differs from the derivation",
                           counterexample={"formula": name, **(res.counterexample or {})})
        if res.status != "PROVED":
            return Outcome(Status.INCONCLUSIVE, f"{name}: {res}")
    return Outcome(Status.PROVED, f"{len(claim)} formulas reduced to 0 (log ratio expanded from the densities; "
                   "r(x) by completing the square in each tail)")


@lru_cache(maxsize=64)
def _mala_reference_cached(key, dps):
    point = dict(key)
    x, y, lam, h, mu = (Fraction(point[k]) for k in ("x", "y", "lam", "h", "mu"))
    lr = nl.mala_log_acceptance_ratio([x], [y], [mu], [[lam]], h, dps)  # target N(mu, 1/lam)
    with workdps(dps + 10):
        lm = _mp(lam)
        V = lambda z: lm * z * z / 2  # noqa: E731 (r(x) is stated for the target N(0, 1/lam))
        G = lambda z: lm * z  # noqa: E731
    rej, tv = nl.mala_rejection_and_tv_1d(x, V, G, h, dps, [x, -x])  # kinks of a(x, .) at |y| = |x|
    return {"log_acceptance_ratio": lr, "rejection_probability": rej, "tv_mala_ula": tv}


def _mala_reference(point, dps):
    return _mala_reference_cached(tuple(sorted((k, Fraction(v)) for k, v in point.items())), dps)


def _mala_points(ctx):
    rng = random.Random(f"mala:{ctx.seed}")
    out = []
    for _ in range(max(1, int(ctx.effort))):  # quadrature at dps and dps + 20: ~0.4 s a point
        lam = Fraction(rng.randint(2, 12), 4)
        x = Fraction(rng.randint(1, 12), 4)
        mu = Fraction(rng.choice((-3, -2, -1, 1, 2, 3)), 4)
        y = x + Fraction(rng.randint(1, 8), 4) * rng.choice((-1, 1))  # |x - mu| != |y - mu| below
        if abs(x - mu) == abs(y - mu):
            y += Fraction(1, 3)
        out.append({"x": x, "y": y, "lam": lam, "h": Fraction(rng.randint(1, 12), 8) / lam, "mu": mu})
    return out


def _detailed_balance(claim, ctx) -> Outcome:
    """pi(x) q(x,y) a(x,y) = pi(y) q(y,x) a(y,x) on a grid, for V = x^2/2 and V = x^4/4 + x^2/2."""
    tol = identity_tolerance(ctx.dps)
    worst, count = mpmath.mpf(0), 0
    potentials = ((lambda z: z * z / 2, lambda z: z), (lambda z: z ** 4 / 4 + z * z / 2, lambda z: z ** 3 + z))
    rng = random.Random(f"mala_db:{ctx.seed}")
    for V, G in potentials:
        for _ in range(max(3, int(6 * ctx.effort))):
            x, y, h = Fraction(rng.randint(-12, 12), 4), Fraction(rng.randint(-12, 12), 4), Fraction(rng.randint(1, 8), 16)
            f, b = nl.mala_flux_1d(x, y, V, G, h, ctx.dps)
            with workdps(ctx.dps):
                if max(f, b) > 0:
                    worst = max(worst, abs(f - b) / max(f, b))
            count += 1
    status = Status.CONFIRMED if worst <= tol else Status.FAIL
    return Outcome(status, f"max rel |flux(x->y) - flux(y->x)| = {mpmath.nstr(worst, 2)} over {count} pairs "
                   "(quadratic and quartic V)", value=float(worst))


register(Entry(
    id="ula.mala_kernel_identities", title="MALA: reversibility, acceptance on Gaussians, TV to ULA", kind="identity",
    statement=r"\log\tfrac{\pi(y)q(y,x)}{\pi(x)q(x,y)} = \tfrac{h}{4}(|\nabla V(x)|^2 - |\nabla V(y)|^2),\ "
              r"\mathrm{TV}(P_{\mathrm{MALA}}(x,\cdot), Q(x,\cdot)) = r(x) = 1 - \mathbb{E}_{y\sim Q(x,\cdot)}a(x,y)",
    source=_ref("L1.15", "RobertsTweedie1996", "Chewi2021"), claim=MALA,
    checks=(Check("symbolic", _mala_symbolic, "sympy: from the densities; completing the square in each tail", budget=30.0),
            numeric_route(_mala_reference, _mala_points,
                          description="log ratio from the densities; r and TV by quadrature (Lebesgue decomposition)"),
            Check("numeric", _detailed_balance, "detailed balance on grids (quadratic and quartic V)", on_mutants=False)),
    mutants=(Mutant("log_ratio_sign", "log ratio (h/4)(|grad V(y)|^2 - |grad V(x)|^2): sign flipped",
                    replace(MALA, log_acceptance_ratio=-MALA["log_acceptance_ratio"])),
             Mutant("tv_half", "TV(P, Q) = r(x)/2: the atom at x forgotten", replace(MALA, tv_mala_ula=_r_closed / 2))),
    notes="1-D Gaussian target N(mu, 1/lam) for the log ratio (it is (h/4)(|A(x-mu)|^2 - |A(y-mu)|^2) in any "
          "dimension); r(x) for N(0, 1/lam) and x > 0 (r is even in x)."))
