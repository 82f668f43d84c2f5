"""Divergences between laws on finite spaces and Markov kernels (catalog L1.1-L1.3).

Main statements (all on exact rational laws; KL and Hellinger at ``dps`` digits):

* ``divergences.pinsker``: TV <= sqrt(KL/2); ``divergences.bretagnolle_huber``: TV <= sqrt(1 - e^{-KL});
  ``divergences.kl_le_log_one_plus_chi2``: KL <= log(1 + chi^2) (equality for p = q restricted
  to a subset); ``divergences.log_one_plus_chi2_le_chi2`` (z3 + a proved log lemma);
  ``divergences.hellinger_sq_le_tv``: H^2 <= TV (z3 per coordinate) and
  ``divergences.tv_le_hellinger``: TV <= H sqrt(2 - H^2) (equality for disjoint supports);
  ``divergences.w2_sq_le_diam_sq_tv``: W2^2 <= diam^2 TV on the line (maximal coupling).
* ``divergences.data_processing``: KL(pK || qK) <= KL(p || q); ``divergences.kl_chain_rule``:
  KL(P_XY || Q_XY) = KL(P_X || Q_X) + E_{P_X} KL(P_{Y|X} || Q_{Y|X}) (sympy, and exactly on
  n x m tables as rational combinations of logs of primes).
* ``divergences.detailed_balance_invariance``: pi(x)P(x,y) = pi(y)P(y,x) implies pi P = pi;
  ``divergences.metropolis_hastings_reversible``: the MH kernel is pi-reversible.

Conventions: H^2 = 1/2 sum (sqrt p - sqrt q)^2 in [0, 1]; TV = 1/2 sum |p - q|.
References: Tsybakov 2009, Ch. 2; Bretagnolle-Huber 1979; Cover-Thomas Ch. 2; Levin-Peres-Wilmer
Ch. 1 and 3; Chewi, *Log-concave sampling*, Ch. 1.
"""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import sympy as sp

from identities.langevin import LOG1P_UPPER, R
from numerics import divergences as dv
from numerics.langevin import metropolis_hastings_kernel
from numerics.precision import workdps
from numerics.strategies import random_probability_vector, random_stochastic_matrix
from proofs_check.bounds import Bound, Reduction, Teeth
from proofs_check.catalog import Assumption, Check, Entry, Mutant, Outcome, Ref, Status, register
from proofs_check.routes import numeric_route, replace, symbolic_route

NOTES = "Lu, Movement I, discrepancies and Markov kernels"


def _ref(item: str, *lit: str) -> Ref:
    return Ref(catalog=item, notes=NOTES, literature=lit)


def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else mpmath.mpmathify(x)


def _laws(p):
    return len(p["p"]) == len(p["q"]) and all(sum(v) == 1 and min(v) >= 0 for v in (p["p"], p["q"]))


LAWS = Assumption("laws", "p and q are probability vectors on the same finite set", _laws)


def _pair_sampler(rng: random.Random) -> dict:
    """Random pairs, a third of them close (q = (1 - e) p + e r) to probe sharpness near p = q."""
    p = random_probability_vector(rng, allow_zero=rng.random() < 0.3)
    k = len(p)
    r = random_probability_vector(rng, k)
    if rng.random() < 0.35:
        e = Fraction(1, rng.choice((10, 100, 1000)))
        q = tuple((1 - e) * a + e * b for a, b in zip(p, r))
    elif rng.random() < 0.4:  # Dirichlet(1/2): laws near the faces of the simplex
        q = random_probability_vector(rng, k, concentration=Fraction(1, 2))
    else:
        q = random_probability_vector(rng, k)
        if rng.random() < 0.5:  # q > 0 so that KL and chi^2 are finite
            q = tuple((a + Fraction(1, 50)) / (1 + Fraction(k, 50)) for a in q)
    return {"p": p, "q": q}


_NEAR = {"p": (Fraction(501, 1000), Fraction(499, 1000)), "q": (Fraction(1, 2), Fraction(1, 2))}
_DISJOINT = {"p": (Fraction(1), Fraction(0)), "q": (Fraction(0), Fraction(1))}
_FAR = {"p": (Fraction(1), Fraction(0), Fraction(0)), "q": (Fraction(1, 3), Fraction(1, 3), Fraction(1, 3))}


def _kl(p, dps):
    return dv.kl(p["p"], p["q"], dps)


def _tv(p, dps):
    with workdps(dps):
        return _mp(dv.tv(p["p"], p["q"]))


def _chi2(p, dps):
    with workdps(dps):
        return _mp(dv.chi2(p["p"], p["q"]))


def _h2(p, dps):
    return dv.hellinger_sq(p["p"], p["q"], dps)


def _sqrt_of(f, scale=1):
    def g(p, dps):
        with workdps(dps):
            return mpmath.sqrt(f(p, dps) * scale)
    return g


# ----------------------------------------------------------------------------- L1.1

PINSKER = Bound("divergences.pinsker", _tv, _sqrt_of(_kl, Fraction(1, 2)), assumptions=(LAWS,),
                sampler=_pair_sampler, draws=16, edges=(_NEAR, _FAR))
register(PINSKER.entry(
    kind="theorem",
    title="Pinsker's inequality", statement=r"\mathrm{TV}(p,q) \le \sqrt{\mathrm{KL}(p\|q)/2}",
    source=_ref("L1.1", "Tsybakov2009", "Pinsker1964"),
    mutants=(PINSKER.mutant("constant_quarter", "TV <= sqrt(KL/4): wrong constant (fails near p = q)",
                            rhs=_sqrt_of(_kl, Fraction(1, 4))),),
    notes="Sharp only in the limit p -> q (the near-equal edge point shows lhs/rhs close to 1)."))


def _bh(p, dps):
    with workdps(dps):
        return mpmath.sqrt(-mpmath.expm1(-_kl(p, dps)))


def _bh_no_sqrt(p, dps):
    with workdps(dps):
        return -mpmath.expm1(-_kl(p, dps))


BRETAGNOLLE_HUBER = Bound("divergences.bretagnolle_huber", _tv, _bh, assumptions=(LAWS,),
                          sampler=_pair_sampler, draws=16, edges=(_NEAR, _FAR), equality=(_DISJOINT,))
register(BRETAGNOLLE_HUBER.entry(
    kind="theorem",
    title="Bretagnolle-Huber inequality", statement=r"\mathrm{TV}(p,q) \le \sqrt{1 - e^{-\mathrm{KL}(p\|q)}}",
    source=_ref("L1.1", "BretagnolleHuber1979", "Tsybakov2009"),
    mutants=(BRETAGNOLLE_HUBER.mutant("dropped_sqrt", "TV <= 1 - e^{-KL}: square root dropped",
                                      rhs=_bh_no_sqrt),)))


def _log1p_chi2(p, dps):
    with workdps(dps):
        return mpmath.log1p(_chi2(p, dps))


def _log1p_half_chi2(p, dps):
    with workdps(dps):
        return mpmath.log1p(_chi2(p, dps) / 2)


def _restricted(q, mask):
    total = sum(x for x, keep in zip(q, mask) if keep)
    return tuple(x / total if keep else Fraction(0) for x, keep in zip(q, mask))


_Q4 = (Fraction(1, 10), Fraction(2, 10), Fraction(3, 10), Fraction(4, 10))
_RESTRICTED = ({"p": _restricted(_Q4, (1, 0, 1, 0)), "q": _Q4}, {"p": _restricted(_Q4, (0, 1, 1, 1)), "q": _Q4})
KL_CHI2 = Bound("divergences.kl_le_log_one_plus_chi2", _kl, _log1p_chi2, assumptions=(LAWS,),
                sampler=_pair_sampler, draws=16, edges=(_NEAR,), equality=_RESTRICTED)
register(KL_CHI2.entry(
    kind="theorem",
    title="KL is below log(1 + chi^2)", statement=r"\mathrm{KL}(p\|q) \le \log(1 + \chi^2(p\|q))",
    source=_ref("L1.1", "Tsybakov2009"),
    mutants=(KL_CHI2.mutant("half_chi2", "KL <= log(1 + chi^2/2): confuses with the local expansion KL ~ chi^2/2",
                            rhs=_log1p_half_chi2),),
    notes="Jensen: KL = E_p log(p/q) <= log E_p (p/q) = log(1 + chi^2); equality iff p/q is constant on "
          "the support of p, i.e. p = q conditioned on a subset (the declared equality cases)."))

_w = R.w


def _chi2_pair(p, dps):
    return _chi2(p, dps)


def _half_chi2(p, dps):
    with workdps(dps):
        return _chi2(p, dps) / 2


def _log1p_reduction(factor) -> Reduction:
    return Reduction.from_table(
        {"log1p": (factor * _w - sp.log(1 + _w), (_w >= 0,), ((LOG1P_UPPER, _w),))},
        "With w = chi^2 >= 0 the claim is log(1 + w) <= w, the lemma log(1 + w) <= w itself "
        "(proved: f(0) = 0 and w f'(w) = w^2/(1 + w) >= 0 by z3).")


LOG_CHI2 = Bound("divergences.log_one_plus_chi2_le_chi2", _log1p_chi2, _chi2_pair, assumptions=(LAWS,),
                 sampler=_pair_sampler, draws=8, edges=(_NEAR, {"p": _Q4, "q": _Q4}),
                 equality=({"p": _Q4, "q": _Q4},), reduction=_log1p_reduction(1))
register(LOG_CHI2.entry(
    kind="theorem",
    title="log(1 + chi^2) is below chi^2", statement=r"\log(1 + \chi^2(p\|q)) \le \chi^2(p\|q)",
    source=_ref("L1.1", "Tsybakov2009"),
    mutants=(LOG_CHI2.mutant("half_chi2", "log(1 + chi^2) <= chi^2/2: wrong constant (fails for small chi^2)",
                             rhs=_half_chi2, reduction=_log1p_reduction(sp.Rational(1, 2))),)))

_a, _b = sp.symbols("a b", real=True)


def _hellinger_reduction(factor) -> Reduction:
    return Reduction.from_table(
        {"per_coordinate": (sp.Abs(_a ** 2 - _b ** 2) - factor * (_a - _b) ** 2, (_a >= 0, _b >= 0), ())},
        "With a = sqrt(p_i), b = sqrt(q_i): 2 H^2 = sum (a - b)^2 and 2 TV = sum |a^2 - b^2|; "
        "(a - b)^2 <= |a - b|(a + b) = |a^2 - b^2| term by term.")


def _two_h2(p, dps):
    with workdps(dps):
        return 2 * _h2(p, dps)


H2_TV = Bound("divergences.hellinger_sq_le_tv", _h2, _tv, assumptions=(LAWS,), sampler=_pair_sampler,
              draws=12, edges=(_NEAR, _FAR), equality=(_DISJOINT,), reduction=_hellinger_reduction(1))
register(H2_TV.entry(
    kind="theorem",
    title="Squared Hellinger is below TV", statement=r"H^2(p,q) \le \mathrm{TV}(p,q),\ H^2 = \tfrac12\sum(\sqrt{p}-\sqrt{q})^2",
    source=_ref("L1.1", "Tsybakov2009"),
    mutants=(H2_TV.mutant("hellinger_without_half", "sum (sqrt p - sqrt q)^2 <= TV: the convention without 1/2",
                          lhs=_two_h2, reduction=_hellinger_reduction(2)),)))


def _h_bound(p, dps):
    with workdps(dps):
        h2 = _h2(p, dps)
        return mpmath.sqrt(h2 * (2 - h2))


def _h_only(p, dps):
    with workdps(dps):
        return mpmath.sqrt(_h2(p, dps))


TV_H = Bound("divergences.tv_le_hellinger", _tv, _h_bound, assumptions=(LAWS,), sampler=_pair_sampler,
             draws=12, edges=(_NEAR, _FAR), equality=(_DISJOINT,))
register(TV_H.entry(
    kind="theorem",
    title="TV is below H sqrt(2 - H^2)", statement=r"\mathrm{TV}(p,q) \le H\sqrt{2 - H^2}",
    source=_ref("L1.1", "Tsybakov2009", "LeCam1986"),
    mutants=(TV_H.mutant("dropped_factor", "TV <= H: the factor sqrt(2 - H^2) dropped", rhs=_h_only),),
    notes="Cauchy-Schwarz on sum |sqrt p - sqrt q|(sqrt p + sqrt q); equality for disjoint supports."))


def _line_sampler(rng: random.Random) -> dict:
    pts = sorted({Fraction(rng.randint(-40, 40), rng.randint(1, 8)) for _ in range(rng.randint(2, 5))})
    if len(pts) < 2:
        pts.append(pts[0] + 1)
    return {"points": tuple(pts), **{k: random_probability_vector(rng, len(pts), allow_zero=True) for k in "pq"}}


def _w2_sq(p, dps):
    with workdps(dps):
        return _mp(dv.w2_sq_line(p["points"], p["p"], p["q"]))


def _w2(p, dps):
    with workdps(dps):
        return mpmath.sqrt(_w2_sq(p, dps))


def _diam_sq_tv(p, dps):
    with workdps(dps):
        diam = max(p["points"]) - min(p["points"])
        return _mp(diam * diam * dv.tv(p["p"], p["q"]))


_TWO_POINT = {"points": (Fraction(0), Fraction(3)), "p": (Fraction(1), Fraction(0)), "q": (Fraction(0), Fraction(1))}
_SMALL_MOVE = {"points": (Fraction(0), Fraction(1)), "p": (Fraction(99, 100), Fraction(1, 100)), "q": (Fraction(1), Fraction(0))}
W2_TV = Bound("divergences.w2_sq_le_diam_sq_tv", _w2_sq, _diam_sq_tv,
              assumptions=(Assumption("laws_on_points", "p, q laws on the given points of the line",
                                      lambda p: len(p["p"]) == len(p["q"]) == len(p["points"])),),
              sampler=_line_sampler, draws=12, edges=(_SMALL_MOVE,), equality=(_TWO_POINT,))
register(W2_TV.entry(
    kind="theorem",
    title="W2^2 is below diam^2 TV on a bounded set", statement=r"W_2^2(p,q) \le \mathrm{diam}^2\,\mathrm{TV}(p,q)",
    source=_ref("L1.1", "Villani2009"),
    mutants=(W2_TV.mutant("w2_not_squared", "W2 <= diam^2 TV: the square on W2 dropped (fails for small moves)",
                          lhs=_w2),),
    notes="Maximal coupling moves mass TV at most diam; W2^2 exact by the quantile coupling on the line."))


# ----------------------------------------------------------------------------- L1.2

def _dpi_sampler(rng: random.Random) -> dict:
    pq = _pair_sampler(rng)
    k = len(pq["p"])
    m = rng.randint(2, 5)
    return {**pq, "K": random_stochastic_matrix(rng, k, m, allow_zero=rng.random() < 0.3)}


def _kl_after(p, dps):
    return dv.kl(dv.push_forward(p["p"], p["K"]), dv.push_forward(p["q"], p["K"]), dps)


def _half_kl(p, dps):
    with workdps(dps):
        return _kl(p, dps) / 2


_IDENTITY3 = tuple(tuple(Fraction(int(i == j)) for j in range(3)) for i in range(3))
_P3, _Q3 = (Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)), (Fraction(1, 5), Fraction(3, 5), Fraction(1, 5))
DPI = Bound("divergences.data_processing", _kl_after, _kl,
            assumptions=(LAWS, Assumption("kernel", "K is a row-stochastic matrix on p's states",
                                          lambda p: len(p["K"]) == len(p["p"]) and all(sum(r) == 1 for r in p["K"]))),
            sampler=_dpi_sampler, draws=12, equality=({"p": _P3, "q": _Q3, "K": _IDENTITY3},))
register(DPI.entry(
    title="Data processing for KL", statement=r"\mathrm{KL}(pK\|qK) \le \mathrm{KL}(p\|q)",
    source=_ref("L1.2", "CoverThomas2006"), kind="theorem",
    mutants=(DPI.mutant("half_kl", "KL(pK||qK) <= KL(p||q)/2: a contraction factor that no kernel guarantees",
                        rhs=_half_kl),),
    notes="Equality for K = identity.  TV, chi^2 and H^2 versions are property-tested in tests/test_divergences.py."))

# KL chain rule: 2x2 tables whose rows are (w, 1)/(w + 1) for positive symbols w (every two-point law
# with positive entries), so every log argument is a ratio of positive expressions.
_W = sp.symbols("a c b0 b1 d0 d1", positive=True)


def _two(w):
    return (w / (w + 1), 1 / (w + 1))


def _kl_sym(p, q):
    return sum(x * sp.log(x / y) for x, y in zip(p, q))


def _tables(w=_W):
    a, c, b0, b1, d0, d1 = w
    return _two(a), _two(c), (_two(b0), _two(b1)), (_two(d0), _two(d1))


def _chain_claim(weights_from_q: bool = False) -> dict:
    PX, QX, PY, QY = _tables()
    wts = QX if weights_from_q else PX
    return {"kl_joint": _kl_sym(PX, QX) + sum(wts[i] * _kl_sym(PY[i], QY[i]) for i in range(2))}


def _chain_derive() -> dict:
    PX, QX, PY, QY = _tables()
    return {"kl_joint": sum(PX[i] * PY[i][j] * sp.log(PX[i] * PY[i][j] / (QX[i] * QY[i][j]))
                            for i in range(2) for j in range(2))}


def _chain_reference(point, dps):
    """KL of the joint 2x2 table, straight from its entries (numerics.divergences.kl)."""
    PX, QX, PY, QY = _tables([Fraction(point[s.name]) for s in _W])
    pj = [PX[i] * PY[i][j] for i in range(2) for j in range(2)]
    qj = [QX[i] * QY[i][j] for i in range(2) for j in range(2)]
    return {"kl_joint": dv.kl(pj, qj, dps)}


def _chain_points(ctx):
    rng = random.Random(f"chain:{ctx.seed}")
    return [{s.name: Fraction(rng.randint(1, 40), rng.randint(1, 9)) for s in _W} for _ in range(3)]


def _log_form(terms) -> dict:
    """sum c log r as {prime: rational coefficient}: equal forms are equal reals (log primes are
    linearly independent over Q), so the comparison below is exact."""
    out: dict = {}
    for c, r in terms:
        for n, sign in ((r.numerator, 1), (r.denominator, -1)):
            for prime, e in sp.factorint(n).items():
                out[prime] = out.get(prime, Fraction(0)) + sign * e * c
    return {k: v for k, v in out.items() if v != 0}


def _chain_exact(claim, ctx) -> Outcome:
    """On random n x m tables: both sides as exact rational combinations of log primes."""
    rng = random.Random(f"chain_exact:{ctx.seed}")
    count = max(2, int(4 * ctx.effort))
    for _ in range(count):
        n, m = rng.randint(2, 4), rng.randint(2, 4)
        px, qx = (random_probability_vector(rng, n) for _ in range(2))
        py, qy = (random_stochastic_matrix(rng, n, m) for _ in range(2))
        joint = _log_form([(px[i] * py[i][j], px[i] * py[i][j] / (qx[i] * qy[i][j]))
                           for i in range(n) for j in range(m)])
        split = _log_form([(px[i], px[i] / qx[i]) for i in range(n)]
                          + [(px[i] * py[i][j], py[i][j] / qy[i][j]) for i in range(n) for j in range(m)])
        if joint != split:
            return Outcome(Status.FAIL, "the chain rule differs on an exact table",
                           counterexample={"p_x": [str(x) for x in px], "q_x": [str(x) for x in qx]})
    return Outcome(Status.CONFIRMED, f"{count} random tables up to 4x4: both sides equal as exact "
                   "rational combinations of log primes")


_CHAIN = _chain_claim()
register(Entry(
    id="divergences.kl_chain_rule", title="The KL chain rule", kind="identity",
    statement=r"\mathrm{KL}(P_{XY}\|Q_{XY}) = \mathrm{KL}(P_X\|Q_X) + \mathbb{E}_{P_X}\mathrm{KL}(P_{Y|X}\|Q_{Y|X})",
    source=_ref("L1.2", "CoverThomas2006"), claim=_CHAIN,
    checks=(symbolic_route(_chain_derive, budget=15.0),
            numeric_route(_chain_reference, _chain_points),
            Check("exact", _chain_exact, "exact log-prime forms on random n x m tables", on_mutants=False)),
    mutants=(Mutant("weights_from_q", "conditional KL weighted by Q_X instead of P_X",
                    replace(_CHAIN, kl_joint=_chain_claim(True)["kl_joint"])),),
    notes="2x2 tables with rows (w, 1)/(w + 1) for the symbolic and numeric routes; the exact route "
          "covers n x m tables."))


# ----------------------------------------------------------------------------- L1.3

def _reversible_sampler(rng: random.Random) -> dict:
    """pi and P with pi(x) P(x, y) = F(x, y) symmetric: exact rationals."""
    n = rng.randint(2, 5)
    pi = random_probability_vector(rng, n)
    F = [[Fraction(0)] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            F[i][j] = F[j][i] = Fraction(rng.randint(0, 9))
    scale = min(pi[i] / max(sum(F[i]), 1) for i in range(n))
    P = [[F[i][j] * scale / pi[i] for j in range(n)] for i in range(n)]
    for i in range(n):
        P[i][i] = 1 - sum(P[i][j] for j in range(n) if j != i)
    return {"pi": pi, "P": tuple(tuple(r) for r in P)}


def _swapped_sampler(rng: random.Random) -> dict:
    """pi and P with pi(y) P(x, y) = pi(x) P(y, x) (the swapped-index 'detailed balance')."""
    n = rng.randint(2, 5)
    pi = random_probability_vector(rng, n)
    S = [[Fraction(0)] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            S[i][j] = S[j][i] = Fraction(rng.randint(1, 9))
    scale = min(1 / (pi[i] * sum(S[i])) for i in range(n))
    P = [[pi[i] * S[i][j] * scale for j in range(n)] for i in range(n)]
    for i in range(n):
        P[i][i] = 1 - sum(P[i][j] for j in range(n) if j != i)
    return {"pi": pi, "P": tuple(tuple(r) for r in P)}


def _balanced(p):
    pi, P = p["pi"], p["P"]
    return all(pi[x] * P[x][y] == pi[y] * P[y][x] for x in range(len(pi)) for y in range(len(pi)))


def _swapped_balanced(p):
    pi, P = p["pi"], p["P"]
    return all(pi[y] * P[x][y] == pi[x] * P[y][x] for x in range(len(pi)) for y in range(len(pi)))


def _invariance_gap(p, dps):
    with workdps(dps):
        after = dv.push_forward(p["pi"], p["P"])
        return _mp(sum((abs(a - b) for a, b in zip(after, p["pi"])), Fraction(0)))


def _zero(p, dps):
    return mpmath.mpf(0)


def _teeth_chain(rng: random.Random) -> dict:
    n = rng.randint(3, 5)
    return {"pi": random_probability_vector(rng, n), "P": random_stochastic_matrix(rng, n)}


STOCHASTIC = Assumption("stochastic", "P is row-stochastic with the same state space as pi",
                        lambda p: len(p["P"]) == len(p["pi"]) and all(sum(r) == 1 and min(r) >= 0 for r in p["P"]))
DB = Bound("divergences.detailed_balance_invariance", _invariance_gap, _zero,
           assumptions=(STOCHASTIC, Assumption("detailed_balance", "pi(x) P(x,y) = pi(y) P(y,x) for all x, y", _balanced)),
           sampler=_reversible_sampler, draws=12,
           teeth=(Teeth("detailed_balance", _teeth_chain),))
register(DB.entry(
    title="Detailed balance implies invariance", statement=r"\pi(x)P(x,y) = \pi(y)P(y,x)\ \Rightarrow\ \pi P = \pi",
    source=_ref("L1.3", "LevinPeresWilmer2017"), kind="theorem",
    mutants=(DB.mutant("swapped_index", "hypothesis pi(y) P(x,y) = pi(x) P(y,x) (indices swapped)",
                       assumptions=(STOCHASTIC, Assumption("detailed_balance", "swapped", _swapped_balanced)),
                       sampler=_swapped_sampler),),
    notes="lhs = sum_y |(pi P)(y) - pi(y)|, exact; the bound says it is 0."))


def _proposal_sampler(rng: random.Random) -> dict:
    n = rng.randint(2, 5)
    return {"pi": random_probability_vector(rng, n), "Q": random_stochastic_matrix(rng, n)}


def _flux_gap(kernel):
    def gap(p, dps):
        pi, P = p["pi"], kernel(p["pi"], p["Q"])
        n = len(pi)
        with workdps(dps):
            return _mp(max(abs(pi[x] * P[x][y] - pi[y] * P[y][x]) for x in range(n) for y in range(n)))
    return gap


def _metropolis_only(pi, Q):
    """Acceptance min{1, pi(y)/pi(x)}: the Hastings correction for an asymmetric proposal dropped."""
    n = len(pi)
    P = [[Q[x][y] * min(Fraction(1), pi[y] / pi[x]) if y != x else Fraction(0) for y in range(n)] for x in range(n)]
    for x in range(n):
        P[x][x] = 1 - sum(P[x])
    return P


MH = Bound("divergences.metropolis_hastings_reversible", _flux_gap(metropolis_hastings_kernel), _zero,
           assumptions=(Assumption("target_positive", "pi > 0", lambda p: min(p["pi"]) > 0),
                        Assumption("proposal_support", "Q(x,y) > 0 iff Q(y,x) > 0",
                                   lambda p: all((a > 0) == (b > 0) for a, b in zip(
                                       (x for r in p["Q"] for x in r), (x for c in zip(*p["Q"]) for x in c))))),
           sampler=_proposal_sampler, draws=12)
register(MH.entry(
    title="Metropolis-Hastings is reversible",
    statement=r"\pi(x)Q(x,y)a(x,y) = \pi(y)Q(y,x)a(y,x),\ a = \min\{1, \tfrac{\pi(y)Q(y,x)}{\pi(x)Q(x,y)}\}",
    source=_ref("L1.3", "Hastings1970", "LevinPeresWilmer2017"), kind="theorem",
    mutants=(MH.mutant("no_hastings_correction", "acceptance min{1, pi(y)/pi(x)} with an asymmetric proposal",
                       lhs=_flux_gap(_metropolis_only)),),
    notes="lhs = max_{x,y} |pi(x) P(x,y) - pi(y) P(y,x)|, exact rationals; reversibility implies pi P = pi."))
