"""Catalog: the Gaussian identities (catalog M2.1-M2.5, LB.1, LB.2).

Entries (claims are the formulas as stated, as functions of sympy vectors and matrices):

* ``gaussian.density_normalisation`` (M2.1): (2 pi)^{-d/2} det S^{-1/2} exp(-(x-m)^T S^{-1} (x-m)/2)
  has mass 1, mean m and covariance S.
* ``gaussian.quadratic_expectation_trace`` (M2.2): E[(x-m)^T A (x-m)] = tr(A S), A arbitrary.
* ``gaussian.reparameterisation`` (M2.3): m + A z ~ N(m, A A^T).
* ``gaussian.product_of_densities`` (M2.4): N(x; m_p, S_p) N(x; m_q, S_q) =
  N(m_p; m_q, S_p + S_q) N(x; m, S), S^{-1} = S_p^{-1} + S_q^{-1},
  m = S(S_p^{-1} m_p + S_q^{-1} m_q).
* ``gaussian.kl_closed_form`` (M2.5): KL = [tr(S_q^{-1} S_p) + dm^T S_q^{-1} dm - d
  + log(det S_q / det S_p)] / 2, with its diagonal and isotropic forms.
* ``gaussian.conditioning_schur_complement`` (LB.2): x | y ~ N(m_x + S_xy S_yy^{-1}(y - m_y),
  S_xx - S_xy S_yy^{-1} S_yx).
* ``gaussian.stein_lemma`` (LB.1): E[Z f(Z)] = S E[grad f(Z)] and
  E[(Z Z^T - S) f(Z)] = S E[hess f(Z)] S.

Routes: *symbolic*, derivations from the definitions in :mod:`identities.gaussian` (Gaussian
integrals by completing the square, moment tables from the moment generating function)
reduce to the stated formulas (PROVED); *numeric*, independent references from
:mod:`numerics.gaussian` (lattice trapezoidal rule in Arb on self-normalised kernels,
``mpmath.quad``, Gauss-Hermite cubature) at dps and dps + 20 digits (CONFIRMED); *certified*
(KL, 1-D), ``acb.integral`` with a rigorous tail bound (CERTIFIED).  References are
independent of the claim, so they are computed once per (case, precision) and reused for the
mutants.

References: Maleki & Pourmoazemi 2025 (arXiv 2511.11746), Sec. 2; Lu 2026, Appendix
"Gaussian identities"; Stein 1981; Petersen & Pedersen, The Matrix Cookbook, Sec. 8.
"""

from __future__ import annotations

import random
from functools import lru_cache
from fractions import Fraction

import mpmath
import sympy as sp

from identities import gaussian as ig
from numerics import gaussian as ng
from numerics.errors import InvalidParameter
from numerics.precision import identity_tolerance, workdps
from proofs_check.catalog import Assumption, Check, Context, Entry, Mutant, Outcome, Ref, \
    Status, register
from numerics.quadrature import gaussian_expectation
from proofs_check.routes import (
    Case,
    Goal,
    case_numeric_route,
    goal_symbolic_route,
    numeric_route,
    once,
    replace,
    sympy_floats,
    sympy_matrix,
    symbolic_route,
    sympy_vector,
    to_mpf,
    to_mpmath,
)

MALEKI = "Maleki & Pourmoazemi 2025"
R = sp.Rational


# ----------------------------------------------------------------------------- cases

def _rng(ctx: Context, salt: str) -> random.Random:
    return random.Random(f"gaussian.{salt}:{ctx.seed}")


def _count(ctx: Context, base: int) -> int:
    return max(1, round(base * ctx.effort))


def _q(rng: random.Random, lo: int, hi: int, den: int = 6) -> Fraction:
    return Fraction(rng.randint(lo * den, hi * den), den)


def _vec(rng, d, lo=-2, hi=2) -> tuple:
    return tuple(_q(rng, lo, hi) for _ in range(d))


def _general(rng, d) -> tuple:
    """A random non-symmetric matrix with entries in [-2, 2]."""
    while True:
        a = tuple(tuple(_q(rng, -2, 2, 4) for _ in range(d)) for _ in range(d))
        if d == 1 or any(a[i][j] != a[j][i] for i in range(d) for j in range(i)):
            return a


def _spd(rng, d) -> tuple:
    """L L^T with L lower triangular, diagonal in [3/4, 3/2], below it in [-1/2, 1/2]
    (correlations stay below about 0.55, which keeps the 2-D lattice rules small)."""
    low = [[Fraction(0)] * d for _ in range(d)]
    for i in range(d):
        for j in range(i):
            low[i][j] = Fraction(rng.randint(-4, 4), 8)
        low[i][i] = Fraction(rng.randint(3, 6), 4)
    return tuple(tuple(sum(low[i][k] * low[j][k] for k in range(d)) for j in range(d))
                 for i in range(d))


def _diag(values) -> tuple:
    d = len(values)
    return tuple(tuple(values[i] if i == j else Fraction(0) for j in range(d)) for i in range(d))


def _lemma_goal() -> Goal:
    return ("lemma: int exp(-A x^2 + B x) dx = sqrt(pi/A) exp(B^2/(4A)), A > 0",
            ig.gaussian_integral_lemma)


# ============================================================================= M2.1

def _density(exponent_factor, det_power):
    def density(x, mean, cov):
        u = x - mean
        return (2 * sp.pi) ** R(-x.shape[0], 2) * cov.det() ** det_power * \
            sp.exp(-exponent_factor * (u.T * cov.inv() * u)[0, 0])
    return density


#: (2 pi)^{-d/2} det(S)^{-1/2} exp(-(x - m)^T S^{-1} (x - m) / 2) (Eq. 1), and two mutants.
density_as_stated = _density(R(1, 2), R(-1, 2))
_density_no_half, _density_det_inverse = _density(1, R(-1, 2)), _density(R(1, 2), -1)




def _density_goals(claim) -> list:
    goals = [_lemma_goal()]
    v = sp.Symbol("v", positive=True)
    for d, cov in ((1, sp.Matrix([[v]])), (2, ig.spd_by_entries("S"))):
        x, mu = ig.real_vector(d, "x"), ig.real_vector(d, "mu")
        moments = once(lambda x=x, mu=mu, cov=cov: ig.normalisation_integrals(
            claim["density"](x, mu, cov), x, mu))
        goals += [(f"d={d}: mass 1", lambda m=moments: (m()[0], sp.Integer(1))),
                  (f"d={d}: mean m", lambda m=moments, mu=mu: (m()[1], mu)),
                  (f"d={d}: covariance S", lambda m=moments, cov=cov: (m()[2], cov))]
    return goals


def _density_cases(ctx: Context) -> list:
    rng = _rng(ctx, "density")
    out = [Case("1-D standard", (("mean", (Fraction(0),)), ("cov", ((Fraction(1),),)))),
           Case("1-D narrow", (("mean", (Fraction(1, 3),)), ("cov", ((Fraction(1, 50),),))))]
    for k in range(_count(ctx, 2)):
        out.append(Case(f"1-D random {k}", (("mean", _vec(rng, 1)),
                                             ("cov", ((_q(rng, 1, 4, 4),),)))))
    for k in range(_count(ctx, 1)):
        out.append(Case(f"2-D random {k}", (("mean", _vec(rng, 2)), ("cov", _spd(rng, 2)))))
    return out


def _test_points(case: Case) -> list:
    """Two evaluation points away from the mean (where a wrong exponent shows)."""
    m = case["mean"]
    offsets = ((Fraction(1, 2), Fraction(-1)), (Fraction(-1), Fraction(1, 3)))
    scale = min(Fraction(1), case["cov"][0][0])  # stay within a few s.d. of narrow laws
    return [tuple(m[i] + scale * off[i] for i in range(len(m))) for off in offsets]


def _density_reference(case: Case, dps: int) -> dict:
    mean, cov = case["mean"], case["cov"]
    moments = ng.kernel_moments(mean, cov, dps)
    inv = sp.Matrix(sympy_matrix(cov)).inv()
    values = []
    for x in _test_points(case):
        u = sympy_vector(x) - sympy_vector(mean)
        quad = (u.T * inv * u)[0, 0]  # exact rational
        values.append(mpmath.exp(-mpmath.mpf(int(quad.p)) / int(quad.q) / 2) / moments["mass"])
    return {"density": values, "mean": moments["mean"], "covariance": moments["covariance"]}


def _density_stated(claim, case: Case, ref, dps: int) -> dict:
    mean, cov = sympy_vector(case["mean"]), sympy_matrix(case["cov"])
    return {"density": [to_mpf(claim["density"](sympy_vector(x), mean, cov), dps) for x in _test_points(case)],
            "mean": to_mpmath(mean, dps), "covariance": to_mpmath(cov, dps)}


register(Entry(
    id="gaussian.density_normalisation",
    title="The Gaussian density integrates to 1, with mean m and covariance S",
    kind="identity",
    statement=r"\int (2\pi)^{-d/2}\det\Sigma^{-1/2} e^{-\frac12(x-\mu)^\top\Sigma^{-1}(x-\mu)}"
              r"\,(1, x, (x-\mu)(x-\mu)^\top)\,dx = (1, \mu, \Sigma)",
    source=Ref("M2.1", f"{MALEKI}, Sec. 2.1, Eq. 1-2", ("Petersen & Pedersen, Sec. 8.1",)),
    claim={"density": density_as_stated},
    checks=(
        goal_symbolic_route(_density_goals, "sympy: iterated Gaussian integrals of the stated density "
                  "(d = 1, and d = 2 with S = [[a, b], [b, (b^2 + delta)/a]]) give mass 1, "
                  "mean m, covariance S"),
        case_numeric_route(_density_cases, _density_reference, _density_stated,
                 "lattice trapezoidal rule (Arb): the kernel's mass, mean and covariance; "
                 "the stated density equals kernel / mass at two points off the mean"),
    ),
    mutants=(
        Mutant("exponent_missing_half", "exp(-(x-m)^T S^{-1} (x-m)) (the 1/2 dropped)",
               replace({"density": density_as_stated}, density=_density_no_half)),
        Mutant("det_power_minus_one", "det(S)^{-1} instead of det(S)^{-1/2}",
               replace({"density": density_as_stated}, density=_density_det_inverse)),
    ),
    assumptions=(Assumption("spd", "S is symmetric positive definite"),),
    notes="The isotropic case S = sigma^2 I is the special case a = sigma^2, b = 0.",
))


# ============================================================================= M2.2

def _trace_goals(claim) -> list:
    goals = []
    for d in (2, 3):
        a, s, m = ig.square_matrix(d, "A"), ig.symmetric_matrix(d, "S"), ig.real_vector(d, "m")
        goals.append((f"d={d}: E[(x-m)^T A (x-m)] with a general A",
                      lambda a=a, s=s, m=m: (ig.quadratic_expectation(a, m, s),
                                             claim["expectation"](a, s))))
    return goals


def _trace_cases(ctx: Context) -> list:
    rng = _rng(ctx, "trace")
    out = []
    for k, d in enumerate([1] * _count(ctx, 2) + [2] * _count(ctx, 1) + [3] * _count(ctx, 1)):
        out.append(Case(f"{d}-D random {k}", (("A", _general(rng, d)), ("mean", _vec(rng, d)),
                                               ("cov", _spd(rng, d)))))
    return out


def _trace_reference(case: Case, dps: int) -> dict:
    d = len(case["mean"])
    method = "lattice" if d <= 2 else "hermite"
    return {"expectation": ng.quadratic_form_expectation(case["A"], case["mean"], case["cov"],
                                                         dps, method=method)}


def _trace_stated(claim, case: Case, ref, dps: int) -> dict:
    return {"expectation": to_mpf(claim["expectation"](sympy_matrix(case["A"]), sympy_matrix(case["cov"])), dps)}


def _trace_as_stated(a, cov):
    return (a * cov).trace()


register(Entry(
    id="gaussian.quadratic_expectation_trace",
    title="Expected quadratic form of a Gaussian: the trace trick",
    kind="identity",
    statement=r"x\sim\mathcal N(\mu,\Sigma):\ \mathbb E[(x-\mu)^\top A(x-\mu)]"
              r"=\operatorname{tr}(A\Sigma)\ \text{for every } A",
    source=Ref("M2.2", f"{MALEKI}, Def 2.1, Lemmas 2.2-2.3, Prop 2.4, Eq. 3"),
    claim={"expectation": _trace_as_stated},
    checks=(
        goal_symbolic_route(_trace_goals, "sympy: sum_ij A_ij E[u_i u_j] from the moment table, d = 2, 3, "
                  "general A and symmetric S"),
        case_numeric_route(_trace_cases, _trace_reference, _trace_stated,
                 "lattice trapezoidal rule on the self-normalised density (d = 1, 2); "
                 "Gauss-Hermite cubature, exact for this quadratic integrand (d = 3)"),
    ),
    mutants=(
        Mutant("transpose_sandwich", "tr(A^T S A)",
               replace({"expectation": _trace_as_stated},
                       expectation=lambda a, cov: (a.T * cov * a).trace())),
        Mutant("product_of_traces", "tr(A) tr(S)",
               replace({"expectation": _trace_as_stated},
                       expectation=lambda a, cov: a.trace() * cov.trace())),
    ),
    assumptions=(Assumption("spd", "S is symmetric positive definite (the symbolic identity is "
                            "polynomial and holds for every symmetric S)"),),
))


# ============================================================================= M2.3

def _test_polynomial(x0, x1):
    return x0 ** 2 * x1 - x1 ** 3 + 2 * x0 * x1 - x0 + 3


def _reparam_goals(claim) -> list:
    goals = []
    for d in (2, 3):
        mu, a = ig.real_vector(d, "mu"), ig.square_matrix(d, "A")
        goals += [
            (f"d={d}: mean of mu + A z", lambda mu=mu, a=a: (ig.affine_image(mu, a)[0],
                                                             claim["mean"](mu, a))),
            (f"d={d}: covariance of mu + A z", lambda mu=mu, a=a: (ig.affine_image(mu, a)[1],
                                                                   claim["covariance"](mu, a))),
        ]
    mu, a = ig.real_vector(2, "mu"), ig.square_matrix(2, "A")
    xs = sp.symbols("x0 x1", real=True)
    f = _test_polynomial(*xs)
    goals.append(("d=2: E_N(m,S) f = E_z f(mu + A z), f a cubic",
                  lambda: (ig.expectation(f, xs, claim["mean"](mu, a), claim["covariance"](mu, a)),
                           ig.affine_expectation(f, xs, mu, a))))
    return goals


def _reparam_cases(ctx: Context) -> list:
    rng = _rng(ctx, "reparam")
    return [Case(f"2-D random {k}", (("mu", _vec(rng, 2)), ("A", _general(rng, 2))))
            for k in range(_count(ctx, 1))]


def _reparam_reference(case: Case, dps: int) -> dict:
    return ng.affine_image_moments(case["mu"], case["A"], dps)


def _reparam_stated(claim, case: Case, ref, dps: int) -> dict:
    mu, a = sympy_vector(case["mu"]), sympy_matrix(case["A"])
    mean, cov = claim["mean"](mu, a), claim["covariance"](mu, a)
    exact_mean = ng.exact_vector(mean, "stated mean")
    exact_cov = ng.exact_spd(cov, "stated covariance")
    under = ng.expectations_under(exact_mean, exact_cov, dps)
    return {"mean": to_mpmath(mean, dps), "covariance": to_mpmath(cov, dps), **under}


_REPARAM = {"mean": lambda mu, a: mu, "covariance": lambda mu, a: a * a.T}

register(Entry(
    id="gaussian.reparameterisation",
    title="Reparameterisation: mu + A z is N(mu, A A^T)",
    kind="identity",
    statement=r"z\sim\mathcal N(0,I)\Rightarrow \mu+Az\sim\mathcal N(\mu,AA^\top),\ "
              r"\mathbb E_{\mathcal N(\mu,AA^\top)}f=\mathbb E_z f(\mu+Az)",
    source=Ref("M2.3", f"{MALEKI}, Def 2.5, Prop 2.6, Cor 2.7-2.8, Prop 2.9, Eq. 2-2 to 2-5",
               ("Kingma & Welling 2014",)),
    claim=_REPARAM,
    checks=(
        goal_symbolic_route(_reparam_goals, "sympy: mean and covariance of mu + A z from the moment table "
                  "(d = 2, 3, general A); E f for a cubic f under N(mean, covariance) as stated "
                  "equals E_z f(mu + A z)"),
        case_numeric_route(_reparam_cases, _reparam_reference, _reparam_stated,
                 f"lattice rule over z: mean, covariance and E f(mu + A z); lattice rule over x "
                 f"under N(stated mean, stated covariance); f = {ng.TEST_FUNCTIONS['exp']} "
                 f"and {ng.TEST_FUNCTIONS['poly']}"),
    ),
    mutants=(
        Mutant("gram_transposed", "covariance A^T A instead of A A^T (they differ for a "
               "non-symmetric A)", replace(_REPARAM, covariance=lambda mu, a: a.T * a)),
    ),
    notes="A Cholesky factor L of S gives the sampler mu + L z (Cor 2.7).",
))


# ============================================================================= M2.4

def _product_cov(mp, sp_, mq, sq):
    return (sp_.inv() + sq.inv()).inv()


def _product_mean(mp, sp_, mq, sq):
    return _product_cov(mp, sp_, mq, sq) * (sp_.inv() * mp + sq.inv() * mq)


def _product_normaliser(mp, sp_, mq, sq):
    """N(m_p; m_q, S_p + S_q) written out."""
    return density_as_stated(mp, mq, sp_ + sq)


_PRODUCT = {"covariance": _product_cov, "mean": _product_mean, "normaliser": _product_normaliser}


@lru_cache(maxsize=None)
def _product_setup(d: int):
    if d == 1:
        sp_, sq = sp.Matrix([[sp.Symbol("vp", positive=True)]]), \
            sp.Matrix([[sp.Symbol("vq", positive=True)]])
    else:
        sp_, sq = ig.symmetric_matrix(d, "P"), ig.symmetric_matrix(d, "Q")
    x, mp, mq = ig.real_vector(d, "x"), ig.real_vector(d, "mp"), ig.real_vector(d, "mq")
    args = (mp, sp_, mq, sq)
    return args, ig.product_by_completing_square(x, *args)


def _product_goals(claim) -> list:
    goals = []
    for d in (1, 2):
        goals.append((f"d={d}: lemma det S_p det S_q det(S_p^-1 + S_q^-1) = det(S_p + S_q)",
                      lambda d=d: _product_setup(d)[1]["lemma"]))
        for name in ("covariance", "mean", "normaliser"):
            goals.append((f"d={d}: {name}", lambda d=d, name=name: (
                _product_setup(d)[1][name], claim[name](*_product_setup(d)[0]))))
    return goals


def _product_cases(ctx: Context) -> list:
    rng = _rng(ctx, "product")
    out = [Case("1-D unequal variances",
                (("mp", (Fraction(1),)), ("cov_p", ((Fraction(2),),)),
                 ("mq", (Fraction(-1),)), ("cov_q", ((Fraction(1, 2),),))))]
    for k in range(_count(ctx, 2)):
        out.append(Case(f"1-D random {k}", (("mp", _vec(rng, 1)), ("cov_p", _spd(rng, 1)),
                                             ("mq", _vec(rng, 1)), ("cov_q", _spd(rng, 1)))))
    for k in range(_count(ctx, 1)):
        out.append(Case(f"2-D random {k}", (("mp", _vec(rng, 2, -1, 1)), ("cov_p", _spd(rng, 2)),
                                             ("mq", _vec(rng, 2, -1, 1)), ("cov_q", _spd(rng, 2)))))
    return out


def _product_reference(case: Case, dps: int) -> dict:
    return ng.product_moments(case["mp"], case["cov_p"], case["mq"], case["cov_q"], dps)


def _product_stated(claim, case: Case, ref, dps: int) -> dict:
    args = (sympy_vector(case["mp"]), sympy_matrix(case["cov_p"]), sympy_vector(case["mq"]), sympy_matrix(case["cov_q"]))
    return {name: to_mpmath(claim[name](*args), dps) for name in _PRODUCT}


register(Entry(
    id="gaussian.product_of_densities",
    title="The product of two Gaussian densities is a scaled Gaussian density",
    kind="identity",
    statement=r"\mathcal N(x;\mu_p,\Sigma_p)\mathcal N(x;\mu_q,\Sigma_q)=\mathcal N(\mu_p;\mu_q,"
              r"\Sigma_p+\Sigma_q)\mathcal N(x;\mu,\Sigma),\ "
              r"\Sigma^{-1}=\Sigma_p^{-1}+\Sigma_q^{-1},"
              r"\ \mu=\Sigma(\Sigma_p^{-1}\mu_p+\Sigma_q^{-1}\mu_q)",
    source=Ref("M2.4", f"{MALEKI}, Lemma 2.10, Prop 2.11, Cor 2.12, Eq. 2-6 to 2-10 (the "
               "normalising constant is added)", ("Petersen & Pedersen, Sec. 8.1.8",)),
    claim=_PRODUCT,
    checks=(
        goal_symbolic_route(_product_goals, "sympy: completing the square in log space (d = 1, 2), with "
                  "the determinant lemma proved by cancel"),
        case_numeric_route(_product_cases, _product_reference, _product_stated,
                 "lattice rule: integral, mean and covariance of N_p N_q (densities "
                 "self-normalised by quadrature)"),
    ),
    mutants=(
        Mutant("covariances_added", "S = S_p + S_q", replace(
            _PRODUCT, covariance=lambda mp, sp_, mq, sq: sp_ + sq)),
        Mutant("unweighted_mean", "m = (m_p + m_q) / 2", replace(
            _PRODUCT, mean=lambda mp, sp_, mq, sq: (mp + mq) / 2)),
    ),
    notes="The same holds for n factors by induction (precisions add).",
))


# ============================================================================= M2.5

def kl_as_stated(mp, sp_, mq, sq):
    """[tr(S_q^-1 S_p) + (m_q - m_p)^T S_q^-1 (m_q - m_p) - d + log(det S_q / det S_p)] / 2."""
    d = mp.shape[0]
    dm = mq - mp
    return (sq.inv() * sp_).trace() / 2 + (dm.T * sq.inv() * dm)[0, 0] / 2 - R(d, 2) + \
        sp.log(sq.det() / sp_.det()) / 2


def _kl_diagonal(mp, sp_, mq, sq):
    """sum_i [v_p,i / v_q,i + (m_q,i - m_p,i)^2 / v_q,i - 1 + log(v_q,i / v_p,i)] / 2."""
    return sum((sp_[i, i] / sq[i, i] + (mq[i] - mp[i]) ** 2 / sq[i, i] - 1 +
                sp.log(sq[i, i] / sp_[i, i])) / 2 for i in range(mp.shape[0]))


def _kl_isotropic(mp, sp_, mq, sq):
    """[d (s_p^2/s_q^2 - 1 - log(s_p^2/s_q^2)) + |m_q - m_p|^2 / s_q^2] / 2, S = s^2 I."""
    d, r = mp.shape[0], sp_[0, 0] / sq[0, 0]
    dm = mq - mp
    return (d * (r - 1 - sp.log(r)) + (dm.T * dm)[0, 0] / sq[0, 0]) / 2


_KL = {"kl": kl_as_stated, "kl_diagonal": _kl_diagonal, "kl_isotropic": _kl_isotropic}


def _factored_logs(e):
    """log(a/b) with a, b factored (an exact rewriting) so that log rules can split them."""
    return e.replace(lambda t: isinstance(t, sp.log), lambda t: sp.log(sp.factor(t.args[0])))


@lru_cache(maxsize=None)
def _kl_setup(kind: str, d: int):
    """(args, KL from the definition) for full (Cholesky), diagonal or isotropic covariances."""
    mp, mq = ig.real_vector(d, "mp"), ig.real_vector(d, "mq")
    if kind == "full":
        (sp_, _), (sq, _) = ig.spd_by_cholesky(d, "Lp"), ig.spd_by_cholesky(d, "Lq")
    elif kind == "diagonal":
        sp_ = sp.diag(*[sp.Symbol(f"vp{i}", positive=True) for i in range(d)])
        sq = sp.diag(*[sp.Symbol(f"vq{i}", positive=True) for i in range(d)])
    else:
        sp_ = sp.Symbol("s2p", positive=True) * sp.eye(d)
        sq = sp.Symbol("s2q", positive=True) * sp.eye(d)
    args = (mp, sp_, mq, sq)
    return args, ig.kl_from_definition(*args)


def _kl_goal(claim, name: str, kind: str, d: int):
    args, derived = _kl_setup(kind, d)
    return derived, _factored_logs(claim[name](*args))


def _kl_goals(claim) -> list:
    goals = [(f"d={d}: full covariances (Cholesky-parametrised)",
              lambda d=d: _kl_goal(claim, "kl", "full", d)) for d in (1, 2, 3)]
    goals.append(("d=3: diagonal form", lambda: _kl_goal(claim, "kl_diagonal", "diagonal", 3)))
    goals.append(("d=3: isotropic form", lambda: _kl_goal(claim, "kl_isotropic", "isotropic", 3)))
    return goals


def _kl_cases(ctx: Context) -> list:
    rng = _rng(ctx, "kl")
    out = [Case("1-D unit vs (1, 2)", (("mp", (Fraction(0),)), ("cov_p", ((Fraction(1),),)),
                                       ("mq", (Fraction(1),)), ("cov_q", ((Fraction(2),),))))]
    for k in range(_count(ctx, 1)):
        out.append(Case(f"1-D random {k}", (("mp", _vec(rng, 1)), ("cov_p", _spd(rng, 1)),
                                             ("mq", _vec(rng, 1)), ("cov_q", _spd(rng, 1)))))
    for d in range(2, 6):
        out.append(Case(f"{d}-D random", (("mp", _vec(rng, d)), ("cov_p", _spd(rng, d)),
                                          ("mq", _vec(rng, d)), ("cov_q", _spd(rng, d)))))
    out.append(Case("3-D diagonal", (("mp", _vec(rng, 3)),
                                     ("cov_p", _diag([_q(rng, 1, 3, 4) for _ in range(3)])),
                                     ("mq", _vec(rng, 3)),
                                     ("cov_q", _diag([_q(rng, 1, 3, 4) for _ in range(3)])))))
    out.append(Case("2-D isotropic",
                    (("mp", _vec(rng, 2)), ("cov_p", _diag([Fraction(3, 2)] * 2)),
                     ("mq", _vec(rng, 2)), ("cov_q", _diag([Fraction(2, 5)] * 2)))))
    return out


def _kl_kind(case: Case) -> tuple:
    cov_p, cov_q = case["cov_p"], case["cov_q"]
    d = len(cov_p)
    diagonal = all(m[i][j] == 0 for m in (cov_p, cov_q) for i in range(d) for j in range(d)
                   if i != j)
    isotropic = diagonal and len({cov_p[i][i] for i in range(d)}) == 1 and \
        len({cov_q[i][i] for i in range(d)}) == 1
    return ("kl",) + (("kl_diagonal",) if diagonal and d > 1 else ()) + \
        (("kl_isotropic",) if isotropic and d > 1 else ())


def _kl_reference(case: Case, dps: int) -> dict:
    args = (case["mp"], case["cov_p"], case["mq"], case["cov_q"])
    if len(case["mp"]) == 1:
        value = ng.kl_by_quadrature(args[0][0], args[1][0][0], args[2][0], args[3][0][0])
    else:
        value = ng.kl_by_cubature(*args)
    return {name: value for name in _kl_kind(case)}


def _kl_args(case: Case) -> tuple:
    return (sympy_vector(case["mp"]), sympy_matrix(case["cov_p"]), sympy_vector(case["mq"]), sympy_matrix(case["cov_q"]))


def _kl_stated(claim, case: Case, ref, dps: int) -> dict:
    return {name: to_mpf(claim[name](*_kl_args(case)), dps) for name in _kl_kind(case)}


def _kl_certified(claim, ctx: Context) -> Outcome:
    """The stated KL (as an Arb ball) overlaps a rigorous enclosure of int p log(p/q)."""
    dps, tol = ctx.dps, identity_tolerance(ctx.dps)
    cases = [c for c in _kl_cases(ctx) if len(c["mp"]) == 1]
    cases.append(Case("1-D wide p", (("mp", (Fraction(1, 2),)), ("cov_p", ((Fraction(9),),)),
                                     ("mq", (Fraction(-1),)), ("cov_q", ((Fraction(4),),)))))
    widest = mpmath.mpf(0)
    for case in cases:
        ball = ng.kl_enclosure_1d(case["mp"][0], case["cov_p"][0][0], case["mq"][0],
                                  case["cov_q"][0][0], dps)
        try:
            stated = ng.arb_value(claim["kl"](*_kl_args(case)), dps)
        except InvalidParameter as exc:
            return Outcome(Status.FAIL, f"{case.label}: the stated KL cannot be enclosed",
                           detail=str(exc), counterexample={"point": case.shown()})
        if not stated.overlaps(ball):
            return Outcome(Status.FAIL, f"{case.label}: the stated KL lies outside the certified "
                           "enclosure", detail=f"stated {stated.str(20)}, enclosure {ball.str(20)}",
                           counterexample={"case": case.label, "point": case.shown()})
        with workdps(dps):
            widest = max(widest, ng.relative_radius(ball), ng.relative_radius(stated))
    metric = f"stated KL within rigorous enclosures at {len(cases)} points; " \
             f"max relative radius {mpmath.nstr(widest, 2)}"
    if widest > tol:
        return Outcome(Status.INCONCLUSIVE, metric,
                       detail="an enclosure is wider than the tolerance")
    return Outcome(Status.CERTIFIED, metric, value=float(widest))


register(Entry(
    id="gaussian.kl_closed_form",
    title="KL divergence between two Gaussians in closed form",
    kind="identity",
    statement=r"\mathrm{KL}(\mathcal N_P\|\mathcal N_Q)=\tfrac12\big["
              r"\operatorname{tr}(\Sigma_Q^{-1}"
              r"\Sigma_P)+(\mu_Q-\mu_P)^\top\Sigma_Q^{-1}(\mu_Q-\mu_P)-d+\log\tfrac{\det\Sigma_Q}"
              r"{\det\Sigma_P}\big]",
    source=Ref("M2.5", f"{MALEKI}, Prop 2.13, Eq. 4, 2-11, 2-12"),
    claim=_KL,
    checks=(
        goal_symbolic_route(_kl_goals, "sympy: E_p[log p - log q] from the definition with the moment "
                  "table of p (d = 1, 2, 3 full; d = 3 diagonal and isotropic)"),
        case_numeric_route(_kl_cases, _kl_reference, _kl_stated,
                 "mpmath.quad of p log(p/q) (1-D); Gauss-Hermite cubature of E_p[log p - log q] "
                 "in p's whitened coordinates, exact for the quadratic integrand (d = 2..5)"),
        Check("certified", _kl_certified, description="acb.integral of p (log p - log q) on a "
              "window plus a rigorous Gaussian tail bound (1-D)", budget=20.0),
    ),
    mutants=(
        Mutant("log_det_dropped", "without log(det S_q / det S_p)", replace(
            _KL, kl=lambda mp, sp_, mq, sq: kl_as_stated(mp, sp_, mq, sq)
            - sp.log(sq.det() / sp_.det()) / 2)),
        Mutant("trace_swapped", "tr(S_p^-1 S_q) instead of tr(S_q^-1 S_p)", replace(
            _KL, kl=lambda mp, sp_, mq, sq: kl_as_stated(mp, sp_, mq, sq)
            + ((sp_.inv() * sq).trace() - (sq.inv() * sp_).trace()) / 2)),
        Mutant("minus_d_dropped", "without the -d", replace(
            _KL, kl=lambda mp, sp_, mq, sq: kl_as_stated(mp, sp_, mq, sq) + R(mp.shape[0], 2))),
    ),
    assumptions=(Assumption("spd", "S_p and S_q are symmetric positive definite"),),
))


# ============================================================================= LB.2

def _cond_mean(mx, my, sxx, sxy, syy, y):
    return mx + sxy * syy.inv() * (y - my)


def _cond_cov(mx, my, sxx, sxy, syy, y):
    return sxx - sxy * syy.inv() * sxy.T


_COND = {"mean": _cond_mean, "covariance": _cond_cov}


def _blocks(mean, cov, nx):
    """(m_x, m_y, S_xx, S_xy, S_yy) of a joint mean and covariance (sympy)."""
    d = mean.shape[0]
    return (mean[:nx, :], mean[nx:, :], cov[:nx, :nx], cov[:nx, nx:d], cov[nx:, nx:])


@lru_cache(maxsize=None)
def _cond_setup(d: int, nx: int):
    mean, cov = ig.real_vector(d, "m"), ig.symmetric_matrix(d, "S")
    x, y = ig.real_vector(nx, "x"), ig.real_vector(d - nx, "y")
    return _blocks(mean, cov, nx) + (y,), ig.conditional_by_completing_square(x, y, mean, cov)


def _cond_goals(claim) -> list:
    goals = []
    for d, nx in ((2, 1), (3, 1), (3, 2)):
        for k, name in enumerate(("mean", "covariance")):
            goals.append((f"d={d}, dim x={nx}: conditional {name}",
                          lambda d=d, nx=nx, k=k, name=name: (
                              _cond_setup(d, nx)[1][k], claim[name](*_cond_setup(d, nx)[0]))))
    return goals


def _cond_cases(ctx: Context) -> list:
    rng = _rng(ctx, "cond")
    out = []
    for k, d in enumerate([2] * _count(ctx, 2) + [3] * _count(ctx, 2)):
        out.append(Case(f"{d}-D joint, scalar x, random {k}",
                        (("mean", _vec(rng, d)), ("cov", _spd(rng, d)), ("y", _vec(rng, d - 1)))))
    return out


def _cond_reference(case: Case, dps: int) -> dict:
    return ng.conditional_moments(case["mean"], case["cov"], case["y"], dps)


def _cond_stated(claim, case: Case, ref, dps: int) -> dict:
    args = _blocks(sympy_vector(case["mean"]), sympy_matrix(case["cov"]), 1) + (sympy_vector(case["y"]),)
    return {name: to_mpmath(claim[name](*args)[0, 0], dps) for name in _COND}


register(Entry(
    id="gaussian.conditioning_schur_complement",
    title="Conditioning a joint Gaussian: the Schur complement",
    kind="identity",
    statement=r"X\mid Y=y\sim\mathcal N(\mu_X+\Sigma_{XY}\Sigma_{YY}^{-1}(y-\mu_Y),\ "
              r"\Sigma_{XX}-\Sigma_{XY}\Sigma_{YY}^{-1}\Sigma_{YX})",
    source=Ref("LB.2", "Lu 2026, Appendix 'Gaussian identities' (conditioning)",
               ("Petersen & Pedersen, Sec. 8.1.3",)),
    claim=_COND,
    checks=(
        goal_symbolic_route(_cond_goals, "sympy: complete the square of the joint log-density in x for "
                  "fixed y (d = 2; block 3-D with dim x = 1 and 2), general symmetric S"),
        case_numeric_route(_cond_cases, _cond_reference, _cond_stated,
                 "lattice rule over x of p(x, y) / int p(x, y) dx (joint kernel from the "
                 "definition), scalar x, y of dimension 1 and 2"),
    ),
    mutants=(
        Mutant("schur_sign_flipped", "S_xx + S_xy S_yy^-1 S_yx", replace(
            _COND, covariance=lambda mx, my, sxx, sxy, syy, y: sxx + sxy * syy.inv() * sxy.T)),
        Mutant("mean_without_inverse", "m_x + S_xy (y - m_y)", replace(
            _COND, mean=lambda mx, my, sxx, sxy, syy, y: mx + sxy * (y - my))),
    ),
    assumptions=(Assumption("spd", "the joint covariance is symmetric positive definite"),),
))


# ============================================================================= LB.1

_STEIN = {"first_order": lambda cov, e_grad: cov * e_grad,
          "second_order": lambda cov, e_hess: cov * e_hess * cov}


@lru_cache(maxsize=None)
def _stein_setup(kind: str):
    s = ig.symmetric_matrix(2, "S")
    if kind == "cubic":
        z = sp.symbols("z0 z1", real=True)
        return s, ig.stein_polynomial(ig.polynomial_with_symbolic_coefficients(z, 3), z, s)
    return s, ig.stein_exponential(ig.real_vector(2, "c"), s)


def _stein_goals(claim) -> list:
    goals = []
    for kind, label in (("cubic", "cubic f with symbolic coefficients"), ("exp", "f = exp(c^T z)")):
        goals += [
            (f"d=2, {label}: first order", lambda kind=kind: (
                _stein_setup(kind)[1]["E_z_f"],
                claim["first_order"](_stein_setup(kind)[0], _stein_setup(kind)[1]["E_grad"]))),
            (f"d=2, {label}: second order", lambda kind=kind: (
                _stein_setup(kind)[1]["E_zz_f"],
                claim["second_order"](_stein_setup(kind)[0], _stein_setup(kind)[1]["E_hess"]))),
        ]
    return goals


def _stein_cases(ctx: Context) -> list:
    rng = _rng(ctx, "stein")
    out = [Case("1-D sin, variance 2", (("cov", ((Fraction(2),),)), ("f", "sin"),
                                        ("c", (Fraction(1),))))]
    for k in range(_count(ctx, 1)):
        out.append(Case(f"1-D exp, random {k}", (("cov", _spd(rng, 1)), ("f", "exp"),
                                                  ("c", (_q(rng, -1, 1, 4) or Fraction(1, 2),)))))
    for k in range(_count(ctx, 1)):
        out.append(Case(f"2-D sin, random {k}", (("cov", _spd(rng, 2)), ("f", "sin"),
                                                  ("c", (Fraction(1), Fraction(-1, 2))))))
    return out


def _stein_reference(case: Case, dps: int) -> dict:
    sides = ng.stein_sides(case["cov"], case["f"], case["c"], dps)
    return {"first_order": sides["E_z_f"], "second_order": sides["E_zz_f"],
            "_E_grad": sides["E_grad"], "_E_hess": sides["E_hess"]}


def _stein_stated(claim, case: Case, ref, dps: int) -> dict:
    cov = sympy_matrix(case["cov"])
    return {"first_order": to_mpmath(claim["first_order"](cov, sympy_floats(ref["_E_grad"], dps)), dps),
            "second_order": to_mpmath(claim["second_order"](cov, sympy_floats(ref["_E_hess"], dps)), dps)}


register(Entry(
    id="gaussian.stein_lemma",
    title="Stein's lemma: Gaussian integration by parts, first and second order",
    kind="identity",
    statement=r"Z\sim\mathcal N(0,\Sigma):\ \mathbb E[Zf(Z)]=\Sigma\,\mathbb E[\nabla f(Z)],\ "
              r"\mathbb E[(ZZ^\top-\Sigma)f(Z)]=\Sigma\,\mathbb E[\nabla^2 f(Z)]\,\Sigma",
    source=Ref("LB.1", "Lu 2026, Appendix 'Gaussian identities' (Stein's lemma)",
               ("Stein 1981",)),
    claim=_STEIN,
    checks=(
        goal_symbolic_route(_stein_goals, "sympy: moment table (from the MGF) for a cubic with symbolic "
                  "coefficients; derivatives of the MGF for f = exp(c^T z); general symmetric S"),
        case_numeric_route(_stein_cases, _stein_reference, _stein_stated,
                 "lattice rule: E[Z f], E[(Z Z^T - S) f] and E[grad f], E[hess f] for f = sin(c.z) "
                 "and exp(c.z) (1-D and 2-D); the stated right-hand sides are evaluated on the "
                 "quadrature values of E[grad f], E[hess f]"),
    ),
    mutants=(
        Mutant("inverse_covariance", "S^-1 E[grad f]", replace(
            _STEIN, first_order=lambda cov, e_grad: cov.inv() * e_grad)),
        Mutant("one_sided_second_order", "S E[hess f] (one S missing)", replace(
            _STEIN, second_order=lambda cov, e_hess: cov * e_hess)),
    ),
))


# ============================================================================= LB.2 entropy

_H_V = sp.Symbol("v", positive=True)
_H_COV2, _H_LOW = ig.spd_by_cholesky(2, "l")   # S = L L^T: log det S splits under positivity
_H_ZERO1, _H_ZERO2 = sp.zeros(1, 1), sp.zeros(2, 1)


def _entropy(factor, with_e):
    e = sp.E if with_e else 1
    return {"entropy_1d": factor * sp.log(2 * sp.pi * e * _H_V),
            "entropy_2d": factor * sp.log((2 * sp.pi * e) ** 2 * _H_COV2.det())}


#: h(N(m, S)) = (1/2) log((2 pi e)^d det S) (Lu, Appendix "Gaussian identities").
_ENTROPY = _entropy(R(1, 2), True)


def _entropy_derived():
    return {"entropy_1d": ig.entropy_from_definition(_H_ZERO1, sp.Matrix([[_H_V]])),
            "entropy_2d": ig.entropy_from_definition(_H_ZERO2, _H_COV2)}


def _entropy_points(ctx: Context) -> list:
    rng = _rng(ctx, "entropy")
    out = [{"v": Fraction(1), "l00": Fraction(1), "l10": Fraction(0), "l11": Fraction(1)}]
    for _ in range(_count(ctx, 4)):
        out.append({"v": _q(rng, 1, 40, 8), "l00": _q(rng, 1, 12, 4), "l10": _q(rng, -2, 2, 4),
                    "l11": _q(rng, 1, 12, 4)})
    return out


def _entropy_reference(point, dps: int) -> dict:
    # 1-D: quadrature of -log p under p; 2-D: exact Gauss-Hermite cubature of -log p
    v = point["v"]
    one = gaussian_expectation(
        lambda x: (mpmath.log(2 * mpmath.pi * to_mpf(R(v.numerator, v.denominator), dps)) +
                   x * x / to_mpf(R(v.numerator, v.denominator), dps)) / 2, "0", v, dps).value
    low = ((point["l00"], Fraction(0)), (point["l10"], point["l11"]))
    cov = tuple(tuple(sum(low[i][k] * low[j][k] for k in range(2)) for j in range(2))
                for i in range(2))
    return {"entropy_1d": one, "entropy_2d": ng.entropy_by_cubature((Fraction(0),) * 2, cov)}


register(Entry(
    id="gaussian.entropy_closed_form",
    title="Differential entropy of a Gaussian: h = (1/2) log((2 pi e)^d det S)",
    kind="identity",
    statement=r"h(\mathcal N(m,\Sigma))=-\mathbb E\log p(X)=\tfrac12\log\big((2\pi e)^d\det\Sigma\big)",
    source=Ref("LB.2", "Lu 2026, Appendix 'Gaussian identities' (entropy)",
               ("Cover & Thomas 2006, Thm 8.4.1",)),
    claim=_ENTROPY,
    checks=(
        symbolic_route(_entropy_derived, budget=20.0,
                       description="sympy: -E[log p] from the density with the moment table, "
                                   "d = 1 and d = 2 with S = L L^T (L lower triangular)"),
        numeric_route(_entropy_reference, _entropy_points,
                      description="mpmath: quadrature of -log p under p (1-D) and exact "
                                  "Gauss-Hermite cubature of -log p (2-D), never the closed form"),
    ),
    mutants=(
        Mutant("missing_e", "(1/2) log((2 pi)^d det S): the +d/2 from E[quadratic form] dropped",
               _entropy(R(1, 2), False)),
        Mutant("missing_half", "log((2 pi e)^d det S) without the factor 1/2",
               _entropy(1, True)),
    ),
))
