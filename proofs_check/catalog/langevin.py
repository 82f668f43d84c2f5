"""The Langevin diffusion on Gaussian targets: dissipation, LSI, transport (catalog L1.5-L1.9).

Target pi = N(mu, A^{-1}) (A SPD with an exact spectrum), Langevin dX = -grad V dt + sqrt(2) dB
(an OU process), laws rho_t from :func:`numerics.langevin.ou_law`, divergences in closed form
(:mod:`numerics.divergences`).  LSI(alpha): KL <= I/(2 alpha) (Vempala-Wibisono convention).

Main statements:

* ``langevin.entropy_dissipation`` (L1.5): d/dt KL(rho_t || pi) = -I(rho_t || pi) and
  d/dt chi^2(rho_t || pi) = -2 E_pi |grad(rho_t/pi)|^2 (sympy chain rule in 1-D; numerical
  derivative of the exact KL / chi^2 along the exact OU law; d-dimensional anisotropic check).
* ``langevin.kl_decays_under_lsi`` (L1.6): KL(rho_t || pi) <= e^{-2 alpha t} KL(rho_0 || pi),
  equality for a mean shift along the lambda_min eigenvector with S_0 = A^{-1}.
* ``langevin.gaussian_lsi`` (L1.7): Bakry-Emery on Gaussians, KL <= I/(2 alpha) for
  alpha <= lambda_min(A), sharp (same equality case); PROVED by z3 on the scalar reduction.
* ``langevin.holley_stroock`` (L1.8): pi_c ∝ exp(-x^2/2 - c sin x) satisfies
  KL <= e^{osc psi} I / 2 on the family mu = N(a, b) (quadrature; evidence, not a proof).
* ``langevin.talagrand_t2`` (L1.9): W2^2 <= (2/alpha) KL (PROVED by z3 on the scalar reduction);
  ``langevin.w2_contraction``: W2(rho_t, pi) <= e^{-alpha t} W2(rho_0, pi).

References: Bakry-Emery 1985; Bakry-Gentil-Ledoux 2014; Otto-Villani 2000; Holley-Stroock 1987;
Vempala-Wibisono 2019; Chewi, *Log-concave sampling*, Ch. 1-2.
"""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import sympy as sp

from identities import prove_equal
from identities import langevin as il
from numerics import divergences as dv
from numerics.divergences import SPDMatrix
from numerics.langevin import certified_perturbed_gaussian_kl_fisher, ou_law, perturbed_gaussian_kl_fisher
from numerics.precision import current_dps, workdps
from numerics.strategies import random_gaussian, random_spd, random_vector
from proofs_check.bounds import Bound, BoxCertificate, Rate, Reduction, Teeth
from proofs_check.catalog import Assumption, Check, Entry, Mutant, Outcome, Ref, Status, register
from proofs_check.routes import numeric_route, replace

NOTES = "Lu, Movement I, entropy dissipation and guarantees for Langevin"


def _ref(item: str, *lit: str) -> Ref:
    return Ref(catalog=item, notes=NOTES, literature=lit)


def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else mpmath.mpmathify(x)


# ----------------------------------------------------------------------------- L1.5 (identity)

_m, _v, _lam, _mu = il.S.m, il.S.v, il.S.lam, il.S.mu
_vp = 1 / (2 / _v - _lam)                       # variance of nu ∝ rho^2 / pi
_mp_nu = _vp * (2 * _m / _v - _lam * _mu)       # mean of nu
_one_plus_chi2 = (1 / _lam) / sp.sqrt(_v * (2 / _lam - _v)) * sp.exp((_m - _mu) ** 2 / (2 / _lam - _v))
_g_sq = ((_lam - 1 / _v) ** 2 * (_vp + _mp_nu ** 2) + 2 * (_lam - 1 / _v) * (_m / _v - _lam * _mu) * _mp_nu
         + (_m / _v - _lam * _mu) ** 2)
DISSIPATION = {
    # -I(rho || pi) for rho = N(m, v), pi = N(mu, 1/lam)
    "dkl_dt": -(_lam ** 2 * _v - 2 * _lam + 1 / _v + _lam ** 2 * (_m - _mu) ** 2),
    # -2 E_pi |grad(rho/pi)|^2 = -2 (1 + chi^2) E_nu |grad log(rho/pi)|^2, nu ∝ rho^2/pi
    "dchi2_dt": -2 * _one_plus_chi2 * _g_sq,
}


def _dissipation_symbolic(claim, ctx) -> Outcome:
    """prove_equal of each stated formula and the chain-rule derivation; the chi^2 pair is first
    divided by the positive factor 1 + chi^2 and written with w = 2/lam - v > 0."""
    derived = il.entropy_dissipation_1d()
    w = sp.Symbol("w", positive=True)
    done = []
    for name, stated in claim.items():
        lhs, rhs = derived[name], stated
        if name == "dchi2_dt":
            factor = il.gaussian_chi2_1d(_m, _v, _mu, 1 / _lam) + 1
            lhs, rhs = (lhs / factor).subs(_v, 2 / _lam - w), (rhs / factor).subs(_v, 2 / _lam - w)
        res = prove_equal(lhs, rhs, budget=8.0, seed=ctx.seed)
        if res.status == "FAIL":
            return Outcome(Status.FAIL, f"{name}: the stated formula differs from the chain-rule derivation",
                           counterexample={"formula": name, **(res.counterexample or {})})
        if res.status != "PROVED":
            return Outcome(Status.INCONCLUSIVE, f"{name}: {res}")
        done.append(f"{name} ({res.method})")
    return Outcome(Status.PROVED, "reduced to 0: " + ", ".join(done))


def _dissipation_reference(point, dps):
    """d/dt at t = 0+ of the exact KL and chi^2 along the exact OU law started at N(m, v)
    (mpmath.diff, one-sided, on closed forms evaluated 40 digits beyond dps)."""
    m, v, lam, mu = (Fraction(point[k]) for k in ("m", "v", "lam", "mu"))

    def law(t):  # at the precision mpmath.diff asks for (it raises it to take differences)
        return ou_law(t, [m], [[v]], [mu], [[lam]], current_dps() + 10), current_dps() + 10

    def kl_t(t):
        (mt, st), d = law(t)
        return dv.gaussian_kl(mt, st, [mu], [[1 / lam]], d)

    def chi2_t(t):
        (mt, st), d = law(t)
        return dv.gaussian_chi2(mt, st, [mu], [[1 / lam]], d)

    with workdps(dps + 10):
        return {"dkl_dt": mpmath.diff(kl_t, 0, direction=1), "dchi2_dt": mpmath.diff(chi2_t, 0, direction=1)}


def _dissipation_points(ctx):
    rng = random.Random(f"dissipation:{ctx.seed}")
    out = [{"m": 1, "v": Fraction(1, 2), "lam": 1, "mu": 0}]  # the catalog's spot check (pi = N(0, 1))
    for _ in range(max(2, int(3 * ctx.effort))):
        lam = Fraction(rng.randint(1, 16), 4)
        out.append({"m": Fraction(rng.randint(-12, 12), 6), "mu": Fraction(rng.randint(-6, 6), 6), "lam": lam,
                    "v": 2 / lam * Fraction(rng.randint(1, 9), 10)})
    return out


def _dissipation_ddim(claim, ctx) -> Outcome:
    """d-dimensional anisotropic targets: numerical dKL/dt along the exact OU law vs -I (closed form)."""
    rng = random.Random(f"dissipation_d:{ctx.seed}")
    tol = mpmath.mpf(10) ** (-(ctx.dps - 10))
    worst = mpmath.mpf(0)
    count = max(2, int(3 * ctx.effort))
    for _ in range(count):
        d = rng.randint(2, 4)
        A = random_spd(rng, d, max_condition=20)
        mu, g = random_vector(rng, d, 2), random_gaussian(rng, d)
        t0 = Fraction(rng.randint(1, 8), 8)

        def kl_t(t):
            d = current_dps() + 10
            mt, st = ou_law(t, g["mean"], g["cov"], mu, A, d)
            return dv.gaussian_kl(mt, st, mu, A.inverse(), d)

        with workdps(ctx.dps + 10):
            deriv = mpmath.diff(kl_t, _mp(t0))
            mt, st = ou_law(t0, g["mean"], g["cov"], mu, A, ctx.dps + 10)
            fisher = dv.gaussian_fisher(mt, st, mu, A.inverse(), ctx.dps + 10)
            worst = max(worst, abs(deriv + fisher) / fisher)
    status = Status.CONFIRMED if worst <= tol else Status.FAIL
    return Outcome(status, f"max rel |dKL/dt + I| = {mpmath.nstr(worst, 2)} over {count} anisotropic "
                   f"targets in d = 2..4 (tol {mpmath.nstr(tol, 1)})", value=float(worst))


register(Entry(
    id="langevin.entropy_dissipation", title="Entropy dissipation along Langevin", kind="identity",
    statement=r"\tfrac{d}{dt}\mathrm{KL}(\rho_t\|\pi) = -I(\rho_t\|\pi),\quad "
              r"\tfrac{d}{dt}\chi^2(\rho_t\|\pi) = -2\,\mathbb{E}_\pi|\nabla(\rho_t/\pi)|^2",
    source=_ref("L1.5", "BakryGentilLedoux2014", "VempalaWibisono2019"), claim=DISSIPATION,
    checks=(Check("symbolic", _dissipation_symbolic, "sympy: chain rule along the OU moment rates", budget=30.0),
            numeric_route(_dissipation_reference, _dissipation_points,
                          description="mpmath.diff of the exact KL / chi^2 along the exact OU law"),
            Check("numeric", _dissipation_ddim, "d-dim anisotropic: d/dt KL = -I (closed-form Fisher)",
                  on_mutants=False)),
    mutants=(Mutant("twice_fisher", "dKL/dt = -2 I (the chi^2 constant on the KL line)",
                    replace(DISSIPATION, dkl_dt=2 * DISSIPATION["dkl_dt"])),
             Mutant("fisher_without_mean", "I without the mean term lam^2 (m - mu)^2",
                    replace(DISSIPATION, dkl_dt=-(_lam ** 2 * _v - 2 * _lam + 1 / _v))),
             Mutant("chi2_constant_one", "d chi^2/dt = -E_pi |grad(rho/pi)|^2 (factor 2 dropped)",
                    replace(DISSIPATION, dchi2_dt=DISSIPATION["dchi2_dt"] / 2))),
    notes="pi = N(mu, 1/lam), rho_t = N(m, v) in 1-D for the symbolic and numeric routes (chi^2 needs "
          "v < 2/lam); the numeric route differentiates closed-form KL/chi^2 along ou_law, never the "
          "stated formulas."))


# ----------------------------------------------------------------------------- Gaussian bounds: shared

def _lsi_ok(p):
    return 0 < p["alpha"] <= p["A"].lambda_min


def _gauss_sampler(rng: random.Random, time: bool = False) -> dict:
    A = random_spd(rng)
    d = A.dim
    g = random_gaussian(rng, d)
    alpha = A.lambda_min * (1 if rng.random() < 0.5 else Fraction(rng.randint(1, 8), 8))
    out = {"A": A, "mu": random_vector(rng, d, 2), "alpha": alpha, "m": g["mean"], "S": g["cov"]}
    if time:
        out["t"] = Fraction(rng.randint(0, 24), 8) / A.lambda_min
    return out


def _slow_shift(A: SPDMatrix, c, alpha=None, t=None, mu=None) -> dict:
    """m = mu + c v_min, S = A^{-1}: the equality case of LSI, T2 and the decay bounds."""
    i = A.eigenvalues.index(A.lambda_min)
    mu = mu or tuple(Fraction(0) for _ in range(A.dim))
    out = {"A": A, "mu": mu, "alpha": A.lambda_min if alpha is None else alpha,
           "m": tuple(a + Fraction(c) * v for a, v in zip(mu, A.eigenvector(i))), "S": A.inverse()}
    if t is not None:
        out["t"] = Fraction(t)
    return out


_A2 = SPDMatrix(dv.givens_rotation(2, 0, 1, Fraction(1, 2)), (Fraction(1, 2), Fraction(3)))
_A3 = SPDMatrix(dv.givens_rotation(3, 0, 2, Fraction(2, 3)), (Fraction(5), Fraction(1, 4), Fraction(2)))
_A1 = SPDMatrix.diagonal((Fraction(3, 2),))
LSI = Assumption("lsi", "0 < alpha <= lambda_min(A): pi = N(mu, A^{-1}) satisfies LSI(alpha) (Bakry-Emery)", _lsi_ok)
TIME = Assumption("time", "t >= 0", lambda p: p.get("t", 0) >= 0)


def _teeth_alpha(rng: random.Random, time: bool = False) -> dict:
    """alpha = lambda_max(A) > lambda_min(A) at the slow-shift point."""
    A = random_spd(rng, rng.randint(2, 4), max_condition=50, min_condition=2)
    return _slow_shift(A, Fraction(rng.randint(1, 8), 4), alpha=A.lambda_max,
                       t=Fraction(rng.randint(1, 8), 8) / A.lambda_min if time else None)


def _kl0(p, dps):
    return dv.gaussian_kl(p["m"], p["S"], p["mu"], p["A"].inverse(), dps)


def _kl_t(p, dps):
    mt, st = ou_law(p["t"], p["m"], p["S"], p["mu"], p["A"], dps + 10)
    return dv.gaussian_kl(mt, st, p["mu"], p["A"].inverse(), dps)


def _w2_t(p, dps):
    mt, st = ou_law(p["t"], p["m"], p["S"], p["mu"], p["A"], dps + 10)
    return dv.gaussian_w2(mt, st, p["mu"], p["A"].inverse(), dps)


def _w2_0(p, dps):
    return dv.gaussian_w2(p["m"], p["S"], p["mu"], p["A"].inverse(), dps)


def _decay(f, rate_of):
    def rhs(p, dps):
        with workdps(dps):
            return mpmath.exp(-rate_of(p) * _mp(p["t"])) * f(p, dps)
    return rhs


# ----------------------------------------------------------------------------- L1.6

def _decay_family(ctx):
    """A generic start with a mean shift along v_min: KL_t ~ C e^{-2 lambda_min t} for large t."""
    base = {"A": _A2, "mu": (Fraction(0), Fraction(0)), "alpha": _A2.lambda_min,
            "m": (Fraction(3, 2), Fraction(-1)), "S": SPDMatrix.diagonal((Fraction(2), Fraction(1, 3)))}
    return [{**base, "t": Fraction(k, 1)} for k in (16, 18, 20, 22, 24)]


KL_DECAY = Bound(
    "langevin.kl_decays_under_lsi", _kl_t, _decay(_kl0, lambda p: 2 * _mp(p["alpha"])),
    assumptions=(LSI, TIME), sampler=lambda rng: _gauss_sampler(rng, time=True), draws=10,
    equality=(_slow_shift(_A1, 2, t=Fraction(1, 3)), _slow_shift(_A2, Fraction(3, 2), t=Fraction(7, 5)),
              _slow_shift(_A3, 1, t=Fraction(2))),
    rate=Rate("t", -1, _decay_family, kind="exponential",
              description="slope of log KL(rho_t || pi) in t at large t, vs -2 lambda_min = -1 (A has lambda_min = 1/2)"),
    teeth=(Teeth("lsi", lambda rng: _teeth_alpha(rng, time=True)),))
register(KL_DECAY.entry(
    title="LSI implies exponential KL decay along Langevin",
    statement=r"\mathrm{KL}(\rho_t\|\pi) \le e^{-2\alpha t}\,\mathrm{KL}(\rho_0\|\pi)",
    source=_ref("L1.6", "VempalaWibisono2019", "BakryEmery1985"),
    mutants=(KL_DECAY.mutant("rate_4alpha", "e^{-4 alpha t}: twice the rate", rhs=_decay(_kl0, lambda p: 4 * _mp(p["alpha"]))),
             KL_DECAY.mutant("rate_lambda_max", "e^{-2 lambda_max t}: the smoothness constant in place of alpha",
                             rhs=_decay(_kl0, lambda p: 2 * _mp(p["A"].lambda_max)))),
    notes="Exact anisotropic OU laws.  Equality: S_0 = A^{-1} and m_0 - mu along the lambda_min eigenvector "
          "(then KL_t = lambda_min c^2 e^{-2 lambda_min t}/2).  Proof: Gronwall on L1.5 + LSI (no z3 route: "
          "the reduction is not polynomial)."))


# ----------------------------------------------------------------------------- L1.7

def _fisher(p, dps):
    return dv.gaussian_fisher(p["m"], p["S"], p["mu"], p["A"].inverse(), dps)


def _lsi_rhs(c):
    def rhs(p, dps):
        with workdps(dps):
            return _fisher(p, dps) / (c * _mp(p["alpha"]))
    return rhs


def _lsi_reduction(c):
    return Reduction.from_table(il.lsi_reduction(c), il.lsi_reduction.__doc__.strip())


GAUSSIAN_LSI = Bound(
    "langevin.gaussian_lsi", _kl0, _lsi_rhs(2), assumptions=(LSI,), sampler=_gauss_sampler, draws=12,
    equality=(_slow_shift(_A1, 1), _slow_shift(_A2, 2), _slow_shift(_A3, Fraction(-1, 2))),
    reduction=_lsi_reduction(2), teeth=(Teeth("lsi", _teeth_alpha),))
register(GAUSSIAN_LSI.entry(
    title="Gaussian LSI constant (Bakry-Emery)", kind="theorem",
    statement=r"\nabla^2 V = A \succeq \alpha I \Rightarrow \mathrm{KL}(\mu\|\pi) \le \tfrac{1}{2\alpha} I(\mu\|\pi)"
              r"\ \text{for } \mu = N(m, S);\ \alpha = \lambda_{\min}(A) \text{ is sharp}",
    source=_ref("L1.7", "BakryEmery1985", "Chewi2024"),
    mutants=(GAUSSIAN_LSI.mutant("constant_4", "KL <= I/(4 alpha): wrong constant", rhs=_lsi_rhs(4),
                                 reduction=_lsi_reduction(4)),),
    notes="I(mu||pi) = tr(S A^2 - 2A + S^{-1}) + (m - mu)' A^2 (m - mu) (numerics.divergences.gaussian_fisher). "
          "Equality at S = A^{-1}, m - mu along the lambda_min eigenvector of A."))


# ----------------------------------------------------------------------------- L1.8

def _hs_sampler(rng: random.Random) -> dict:
    return {"a": Fraction(rng.randint(-12, 12), 4), "b": Fraction(rng.randint(1, 16), 4),
            "c": Fraction(rng.choice((-3, -2, -1, 1, 2, 3)), 2), "alpha": Fraction(1)}


def _hs_kl(p, dps):
    return perturbed_gaussian_kl_fisher(p["a"], p["b"], p["c"], dps)[0]


def _hs_rhs(sign):
    def rhs(p, dps):
        kl_val, fisher = perturbed_gaussian_kl_fisher(p["a"], p["b"], p["c"], dps)
        with workdps(dps):
            return mpmath.exp(sign * 2 * abs(_mp(p["c"]))) * fisher / (2 * _mp(p["alpha"]))
    return rhs


def _hs_certificate(sign, cs=(Fraction(1, 2), Fraction(3, 2))):
    def margin(x):
        kl_val, fisher = certified_perturbed_gaussian_kl_fisher(x["a"], x["b"], x["c"])
        return _arb_exp(sign * 2 * abs(x["c"])) * fisher / 2 - kl_val
    return BoxCertificate(tuple({"a": (-3, 3), "b": (Fraction(1, 4), 4), "c": (c, c)} for c in cs), margin,
                          "Arb branch and bound over mu = N(a, b), a in [-3, 3], b in [1/4, 4], for c in {1/2, 3/2}")


def _arb_exp(q: Fraction):
    from flint import arb, fmpq
    return arb(fmpq(q.numerator, q.denominator)).exp()


HOLLEY_STROOCK = Bound(
    "langevin.holley_stroock", _hs_kl, _hs_rhs(1),
    assumptions=(Assumption("base_lsi", "pi = N(0, 1) satisfies LSI(alpha) with alpha = 1", lambda p: p["alpha"] == 1),
                 Assumption("bounded_perturbation", "psi = c sin x: osc psi = 2|c| is finite (true of every drawn c)")),
    sampler=_hs_sampler, draws=6, edges=({"a": 3, "b": 1, "c": 2, "alpha": 1}, {"a": 0, "b": Fraction(1, 4), "c": 1, "alpha": 1}),
    certificate=_hs_certificate(1))
register(HOLLEY_STROOCK.entry(
    title="Holley-Stroock on a perturbed Gaussian (family test)", kind="theorem",
    statement=r"\tilde\pi \propto e^{-c\sin x}N(0,1):\ \mathrm{KL}(\mu\|\tilde\pi) \le \tfrac{e^{\mathrm{osc}\,\psi}}{2\alpha} I(\mu\|\tilde\pi)",
    source=_ref("L1.8", "HolleyStroock1987", "Chewi2024"),
    mutants=(HOLLEY_STROOCK.mutant("inverted_exponent", "LSI(alpha e^{+osc psi}): the perturbation improving the constant",
                                   rhs=_hs_rhs(-1), certificate=_hs_certificate(-1)),),
    notes="A test on the family mu = N(a, b), psi = c sin x, not a proof of the theorem: CERTIFIED by Arb on the "
          "boxes a in [-3, 3], b in [1/4, 4] for c in {1/2, 3/2}, property-tested elsewhere.  KL and I from exact "
          "Gaussian moments of sin/cos and the normaliser by its moment series (both checked against "
          "quadrature in tests/test_langevin.py)."))


# ----------------------------------------------------------------------------- L1.9

def _w2_sq0(p, dps):
    return dv.gaussian_w2_sq(p["m"], p["S"], p["mu"], p["A"].inverse(), dps)


def _t2_rhs(c):
    def rhs(p, dps):
        with workdps(dps):
            return c * _kl0(p, dps) / _mp(p["alpha"])
    return rhs


def _t2_reduction(c):
    return Reduction.from_table(il.talagrand_reduction(c), il.talagrand_reduction.__doc__.strip())


T2 = Bound("langevin.talagrand_t2", _w2_sq0, _t2_rhs(2), assumptions=(LSI,), sampler=_gauss_sampler, draws=10,
           equality=(_slow_shift(_A1, 1), _slow_shift(_A2, 2), _slow_shift(_A3, Fraction(1, 3))),
           reduction=_t2_reduction(2), teeth=(Teeth("lsi", _teeth_alpha),))
register(T2.entry(
    title="Talagrand's transport inequality T2 on Gaussian targets", kind="theorem",
    statement=r"W_2^2(\mu,\pi) \le \tfrac{2}{\alpha}\mathrm{KL}(\mu\|\pi)",
    source=_ref("L1.9", "OttoVillani2000", "Chewi2024"),
    mutants=(T2.mutant("constant_1", "W2^2 <= KL/alpha: wrong constant", rhs=_t2_rhs(1), reduction=_t2_reduction(1)),),
    notes="W2 by the Bures formula (numerics.divergences.gaussian_w2_sq); equality at S = A^{-1} with a mean "
          "shift along the lambda_min eigenvector."))

W2_CONTRACTION = Bound(
    "langevin.w2_contraction", _w2_t, _decay(_w2_0, lambda p: _mp(p["alpha"])),
    assumptions=(Assumption("strong_convexity", "0 < alpha <= lambda_min(A): V is alpha-strongly convex", _lsi_ok), TIME),
    sampler=lambda rng: _gauss_sampler(rng, time=True), draws=8,
    equality=(_slow_shift(_A2, 2, t=Fraction(3, 2)), _slow_shift(_A3, 1, t=Fraction(1, 2))),
    teeth=(Teeth("strong_convexity", lambda rng: _teeth_alpha(rng, time=True)),))
register(W2_CONTRACTION.entry(
    title="W2 contraction of Langevin under strong convexity",
    statement=r"W_2(\rho_t,\pi) \le e^{-\alpha t} W_2(\rho_0,\pi)",
    source=_ref("L1.9", "Chewi2024", "BolleyGentilGuillin2012"),
    mutants=(W2_CONTRACTION.mutant("rate_2alpha", "e^{-2 alpha t}: the KL rate on the W2 line",
                                   rhs=_decay(_w2_0, lambda p: 2 * _mp(p["alpha"]))),),
    notes="Synchronous coupling: X_t - Y_t = e^{-tA}(X_0 - Y_0).  Equality for a mean shift along the "
          "lambda_min eigenvector with S_0 = A^{-1}."))
