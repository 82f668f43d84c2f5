"""numerics.ddpm: independent high-precision routes for the DDPM identities.

Every route here computes from *definitions* (the one-step kernels, Bayes' rule, the KL
integral, path enumeration), never from the closed forms that ``identities/ddpm.py`` derives
and the catalog confirms.

Main routes
-----------
* :func:`forward_moments` (M3.1): mean and variance of x_T | x_0 by the raw-moment recursion of
  the one-step kernels q(x_t|x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t); the variance is exact
  (rational arithmetic), the mean a product of square roots at ``dps`` digits.
* :func:`posterior_by_bayes` (M3.2): mean, variance and evidence of
  q(x_{t-1}|x_t, x_0) proportional to q(x_t|x_{t-1}) q(x_{t-1}|x_0), by quadrature.
* :func:`noise_prediction_kl` (M3.4): KL(q(x_{t-1}|x_t,x_0) || p_theta(x_{t-1}|x_t)) by quadrature
  of p log(p/q), with Ho's mean parametrisation and sigma_t^2 the posterior variance.
* :func:`mixture_denoising_targets` (L3.4): E[x_0|x_t], E[eps|x_t], E[v|x_t] by quadrature of the
  posterior under a two-component Gaussian-mixture prior; the score by numeric differentiation
  (``mpmath.diff``) of log q_t.
* :class:`FiniteChain`, :func:`random_chain`, :func:`bound_by_paths`,
  :func:`variational_bound_by_paths`, :func:`log_likelihood_by_paths` (M3.3): finite-state
  chains and the variational bound E_q log q(x_{1:T}|x_0)/p(x_{0:T}) by enumerating every path.
* :func:`beta_tilde`: the closed-form posterior variance at ``dps`` digits from exact inputs, a
  reference value for users and property tests (no route uses it).

Quadrature
----------
Integrands here are (sums of) Gaussians times polynomials or logs of Gaussians.  They are
integrated with the truncated trapezoidal rule on the real line, which converges exponentially
for such integrands (Trefethen & Weideman 2014, SIAM Review 56(3), Sec. 5): for a Gaussian of
standard deviation s the aliasing error of step h is 2 exp(-2 pi^2 s^2 / h^2).  The step is
chosen for 10^-(dps+15) at the smallest standard deviation present, the window for tails below
the same level at the largest; each route is then re-run at dps+20 digits (with a finer step and
a wider window) by the catalog, which validates the discretisation.  It is about 15 times faster
than ``mpmath.quad`` at 50 digits for the same accuracy (measured: 6 ms against 90 ms).

References: Ho, Jain & Abbeel 2020 (Ho+20); Sohl-Dickstein et al. 2015; Salimans & Ho 2022
(v-parametrisation); Trefethen & Weideman 2014.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Sequence

import mpmath

from numerics.errors import InvalidParameter, PrecisionLoss
from numerics.precision import DEFAULT_DPS, check_dps, exact_fraction, workdps

__all__ = [
    "FiniteChain",
    "beta_tilde",
    "bound_by_paths",
    "exact_fraction",
    "forward_moments",
    "log_exact",
    "log_likelihood_by_paths",
    "mixture_denoising_targets",
    "noise_from_x0",
    "conditional_score",
    "noise_prediction_kl",
    "posterior_by_bayes",
    "random_chain",
    "variational_bound_by_paths",
]

#: Digits the quadrature aims at: 15 below the working precision, so that moments of order 2
#: and the log-ratio factor (which grow the aliasing constant) stay far below 10^-(dps-10).
_QUAD_EXTRA = 15
#: Largest number of trapezoid nodes a route may use (about 1 s at 50 digits); a wider window
#: means scales that differ by orders of magnitude, which this rule is not designed for.
_MAX_NODES = 20_000


# ----------------------------------------------------------------------------- validation

def _open_unit(value: object, name: str) -> Fraction:
    x = exact_fraction(value, name)
    if not 0 < x < 1:
        raise InvalidParameter(name, value, "a number in the open interval (0, 1)")
    return x


def _half_open_unit(value: object, name: str) -> Fraction:
    x = exact_fraction(value, name)
    if not 0 < x <= 1:
        raise InvalidParameter(name, value, "a number in (0, 1] (1 only at t = 1)")
    return x


def _positive(value: object, name: str) -> Fraction:
    x = exact_fraction(value, name)
    if not x > 0:
        raise InvalidParameter(name, value, "a positive number")
    return x


def _mp(x: Fraction) -> mpmath.mpf:
    return mpmath.mpf(x.numerator) / x.denominator


def log_exact(x: object) -> mpmath.mpf:
    """log of an exact positive rational at the current precision (the input is not rounded
    before the log is taken beyond one division)."""
    x = exact_fraction(x, "x")
    if x <= 0:
        raise InvalidParameter("x", x, "a positive number")
    return mpmath.log(mpmath.mpf(x.numerator)) - mpmath.log(mpmath.mpf(x.denominator))


# ----------------------------------------------------------------------------- closed form

def beta_tilde(beta: object, alpha_bar_prev: object, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """beta_tilde_t = (1 - alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) at ``dps`` digits.

    alpha_bar_t = (1 - beta_t) alpha_bar_{t-1}.  Inputs are exact; beta in (0, 1),
    alpha_bar_prev in (0, 1] (alpha_bar_0 = 1 gives beta_tilde_1 = 0).  A reference value for
    users and property tests; the catalog's numeric routes never call it.
    """
    b = _open_unit(beta, "beta")
    abp = _half_open_unit(alpha_bar_prev, "alpha_bar_prev")
    with workdps(check_dps(dps)):
        return +((1 - _mp(abp)) * _mp(b) / (1 - (1 - _mp(b)) * _mp(abp)))


# ----------------------------------------------------------------------------- M3.1 forward chain

def forward_moments(betas: Sequence[object], x_0: object, dps: int = DEFAULT_DPS) -> dict:
    """Mean and variance of x_T | x_0 for x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) z_t.

    Route: the raw moments of the one-step kernel, E[x_t|x_{t-1}] = sqrt(alpha_t) x_{t-1} and
    E[x_t^2|x_{t-1}] = alpha_t x_{t-1}^2 + beta_t, iterated by the tower rule over the T steps
    (the second moment stays rational, so the variance E x_T^2 - (E x_T)^2 is exact).
    """
    if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) == 0:
        raise InvalidParameter("betas", betas, "a non-empty sequence of numbers in (0, 1)")
    bs = [_open_unit(b, f"betas[{k}]") for k, b in enumerate(betas)]
    x0 = exact_fraction(x_0, "x_0")
    second = x0 * x0          # E[x_t^2 | x_0], exact
    mean_sq = x0 * x0         # (E[x_t | x_0])^2, exact
    for b in bs:
        second = (1 - b) * second + b
        mean_sq = (1 - b) * mean_sq
    with workdps(check_dps(dps)):
        mean = _mp(x0)
        for b in bs:
            mean = mpmath.sqrt(_mp(1 - b)) * mean
        return {"mean": mean, "variance": _mp(second - mean_sq),
                "variance_exact": second - mean_sq}


# ----------------------------------------------------------------------------- quadrature helpers

def _log_normal(x, mean, var):
    """log N(x; mean, var)."""
    return -(x - mean) ** 2 / (2 * var) - mpmath.log(2 * mpmath.pi * var) / 2


def _peak(dlog: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of a decreasing function on [lo, hi] by float bisection (a window centre only)."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if dlog(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _nodes(windows: Sequence[tuple[float, float]], sd_lower: mpmath.mpf, dps: int):
    """Trapezoid nodes covering the union of ``windows`` (centre, sd upper bound) and the step.

    Step: 2 exp(-2 pi^2 s^2 / h^2) <= 2 * 10^-D for every Gaussian of sd s >= sd_lower.
    Window: centre -/+ tau sd with exp(-tau^2/2) < 10^-D, plus 3 sd for polynomial factors.
    """
    digits = dps + _QUAD_EXTRA
    ln10 = mpmath.log(10)
    h = mpmath.pi * sd_lower * mpmath.sqrt(2 / (digits * ln10))
    tau = mpmath.sqrt(2 * digits * ln10) + 3
    lo = min(mpmath.mpf(c) - tau * s for c, s in windows)
    hi = max(mpmath.mpf(c) + tau * s for c, s in windows)
    n = int(mpmath.ceil((hi - lo) / h))
    if n > _MAX_NODES:
        raise PrecisionLoss(f"quadrature window spans {n} steps of the narrowest scale (more than "
                            f"{_MAX_NODES}): scales too far apart for the trapezoidal rule here")
    return [lo + k * h for k in range(n + 1)], h


def _bayes_setup(alpha: Fraction, abp: Fraction, x_t: Fraction, x_0: Fraction, dps: int):
    """log of q(x_t|x) q(x|x_0) as a function of x = x_{t-1}, and the trapezoid nodes."""
    a, ab, xt, x0 = _mp(alpha), _mp(abp), _mp(x_t), _mp(x_0)
    beta = 1 - a
    sa, sab = mpmath.sqrt(a), mpmath.sqrt(ab)

    def log_f(x):
        return _log_normal(xt, sa * x, beta) + _log_normal(x, sab * x0, 1 - ab)

    # In x the factors are Gaussians with centres c1, c2 and sds s1, s2 (definitions of the
    # kernels); the product's sd lies in [min/sqrt(2), min] and its peak between c1 and c2.
    c1, s1 = xt / sa, mpmath.sqrt(beta / a)
    c2, s2 = sab * x0, mpmath.sqrt(1 - ab)
    f1, f2, v1, v2 = float(c1), float(c2), float(s1) ** 2, float(s2) ** 2
    peak = _peak(lambda y: -(y - f1) / v1 - (y - f2) / v2, min(f1, f2), max(f1, f2))
    s_up = min(s1, s2)
    nodes, h = _nodes([(peak, s_up)], s_up / mpmath.sqrt(2), dps)
    return log_f, nodes, h


@lru_cache(maxsize=512)
def _bayes_posterior(alpha: Fraction, abp: Fraction, x_t: Fraction, x_0: Fraction, dps: int):
    with workdps(dps):
        log_f, nodes, h = _bayes_setup(alpha, abp, x_t, x_0, dps)
        w = [mpmath.exp(log_f(x)) for x in nodes]
        s0 = mpmath.fsum(w)
        mean = mpmath.fsum(wi * x for wi, x in zip(w, nodes)) / s0
        var = mpmath.fsum(wi * (x - mean) ** 2 for wi, x in zip(w, nodes)) / s0
        return mean, var, h * s0, len(nodes)


def posterior_by_bayes(alpha: object, alpha_bar_prev: object, x_t: object, x_0: object,
                       dps: int = DEFAULT_DPS) -> dict:
    """Moments of q(x_{t-1}|x_t, x_0) by Bayes' rule and quadrature over x_{t-1}.

    Unnormalised density f(x) = N(x_t; sqrt(alpha) x, 1 - alpha) N(x; sqrt(alpha_bar_prev) x_0,
    1 - alpha_bar_prev); returns ``mean`` and ``variance`` of f/Z and the ``evidence`` Z =
    q(x_t|x_0).  alpha, alpha_bar_prev in (0, 1) (at alpha_bar_prev = 1 the posterior is a point
    mass and there is nothing to integrate).
    """
    key = (_open_unit(alpha, "alpha"), _open_unit(alpha_bar_prev, "alpha_bar_prev"),
           exact_fraction(x_t, "x_t"), exact_fraction(x_0, "x_0"), check_dps(dps))
    mean, var, evidence, n = _bayes_posterior(*key)
    return {"mean": mean, "variance": var, "evidence": evidence, "nodes": n}


def noise_from_x0(alpha_bar: object, x_t: object, x_0: object) -> mpmath.mpf:
    """eps = (x_t - sqrt(alpha_bar) x_0)/sqrt(1 - alpha_bar): the noise defined by the forward
    reparametrisation x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps (current precision)."""
    ab = _mp(_open_unit(alpha_bar, "alpha_bar"))
    return (_mp(exact_fraction(x_t, "x_t")) - mpmath.sqrt(ab) * _mp(exact_fraction(x_0, "x_0"))) \
        / mpmath.sqrt(1 - ab)


def conditional_score(alpha_bar: object, x_t: object, x_0: object) -> mpmath.mpf:
    """d/dx_t log q(x_t|x_0) by numeric differentiation (``mpmath.diff``) of the log density
    N(x_t; sqrt(alpha_bar) x_0, 1 - alpha_bar) (current precision)."""
    ab = _mp(_open_unit(alpha_bar, "alpha_bar"))
    x0 = _mp(exact_fraction(x_0, "x_0"))
    return mpmath.diff(lambda y: _log_normal(y, mpmath.sqrt(ab) * x0, 1 - ab),
                       _mp(exact_fraction(x_t, "x_t")))


@lru_cache(maxsize=512)
def _kl_cached(alpha: Fraction, abp: Fraction, x_t: Fraction, x_0: Fraction, eps_hat: Fraction,
               dps: int):
    # log p and log q are of order one while the KL may be small: the differences and the sum
    # lose about log10(sum p (|log p| + |log q|) / KL) digits.  Guard digits are added until at
    # least 10 remain beyond that loss.
    guard = 10
    while True:
        work = dps + guard
        _, var, evidence, _ = _bayes_posterior(alpha, abp, x_t, x_0, work)
        with workdps(work):
            log_f, nodes, h = _bayes_setup(alpha, abp, x_t, x_0, work)
            a, ab = _mp(alpha), _mp(alpha) * _mp(abp)
            # p_theta(x_{t-1}|x_t) = N(mu_theta, sigma^2): Ho's parametrisation of the model mean
            # (a definition) and sigma^2 := the posterior variance, here from quadrature.
            mu_theta = (_mp(x_t) - (1 - a) * _mp(eps_hat) / mpmath.sqrt(1 - ab)) / mpmath.sqrt(a)
            log_z = mpmath.log(evidence)
            terms, sizes = [], []
            for x in nodes:
                log_p, log_q = log_f(x) - log_z, _log_normal(x, mu_theta, var)
                p = mpmath.exp(log_p)
                terms.append(p * (log_p - log_q))
                sizes.append(p * (abs(log_p) + abs(log_q)))
            total = h * mpmath.fsum(terms)
            scale = h * mpmath.fsum(sizes)
            lost = 0 if total == 0 else int(mpmath.ceil(mpmath.log10(scale / abs(total))))
        if total != 0 and lost <= guard - 10:
            with workdps(dps):
                return +total
        if guard >= 300:
            raise PrecisionLoss(f"KL quadrature: the terms cancel to within 10^-{lost} of their "
                                f"size (eps_hat equals eps to that many digits)")
        guard = max(guard + 20, lost + 10)


def noise_prediction_kl(alpha: object, alpha_bar_prev: object, x_t: object, x_0: object,
                        eps_hat: object, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """KL(q(x_{t-1}|x_t,x_0) || p_theta(x_{t-1}|x_t)) by quadrature of p log(p/q).

    p is the Bayes posterior (normalised by its quadrature evidence), q = N(mu_theta, sigma^2)
    with mu_theta = (x_t - beta eps_hat / sqrt(1 - alpha_bar))/sqrt(alpha) and sigma^2 the
    posterior variance computed by quadrature (Ho's choice sigma_t^2 = beta_tilde_t).
    """
    key = (_open_unit(alpha, "alpha"), _open_unit(alpha_bar_prev, "alpha_bar_prev"),
           exact_fraction(x_t, "x_t"), exact_fraction(x_0, "x_0"),
           exact_fraction(eps_hat, "eps_hat"), check_dps(dps))
    return _kl_cached(*key)


# ----------------------------------------------------------------------------- L3.4 mixture prior

@lru_cache(maxsize=512)
def _mixture_cached(alpha_bar: Fraction, x_t: Fraction, weights: tuple, means: tuple,
                    variances: tuple, dps: int):
    with workdps(dps):
        ab, xt = _mp(alpha_bar), _mp(x_t)
        sab, snab = mpmath.sqrt(ab), mpmath.sqrt(1 - ab)
        ws = [_mp(w) for w in weights]
        ms = [_mp(m) for m in means]
        vs = [_mp(v) for v in variances]

        def joint(x):  # q(x_0) q(x_t | x_0) at x_0 = x
            prior = mpmath.fsum(w * mpmath.exp(_log_normal(x, m, v)) for w, m, v in zip(ws, ms, vs))
            return prior * mpmath.exp(_log_normal(xt, sab * x, 1 - ab))

        # Each component times the likelihood is a Gaussian in x_0 whose peak lies between the
        # component mean and x_t/sqrt(alpha_bar), with sd between min(s_k, s_lik)/sqrt(2) and min.
        c_lik, s_lik = xt / sab, snab / sab
        windows, lowers = [], []
        for m, v in zip(ms, vs):
            fm, fv, fc, fl = float(m), float(v), float(c_lik), float(s_lik) ** 2
            peak = _peak(lambda y: -(y - fm) / fv - (y - fc) / fl, min(fm, fc), max(fm, fc))
            s_up = min(mpmath.sqrt(v), s_lik)
            windows.append((peak, s_up))
            lowers.append(s_up / mpmath.sqrt(2))
        nodes, _ = _nodes(windows, min(lowers), dps)
        w = [joint(x) for x in nodes]
        s0 = mpmath.fsum(w)
        x0 = mpmath.fsum(wi * x for wi, x in zip(w, nodes)) / s0
        eps = mpmath.fsum(wi * (xt - sab * x) / snab for wi, x in zip(w, nodes)) / s0
        v = mpmath.fsum(wi * (sab * (xt - sab * x) / snab - snab * x)
                        for wi, x in zip(w, nodes)) / s0

        # The marginal q_t is the mixture of the convolved components (Gaussian convolution);
        # its log is differentiated numerically.
        def log_marginal(y):
            return mpmath.log(mpmath.fsum(
                wk * mpmath.exp(_log_normal(y, sab * mk, ab * vk + 1 - ab))
                for wk, mk, vk in zip(ws, ms, vs)))

        score = mpmath.diff(log_marginal, xt)
        return {"x_0": x0, "eps": eps, "v": v, "score": score}


def mixture_denoising_targets(alpha_bar: object, x_t: object, weights: Sequence[object],
                              means: Sequence[object], variances: Sequence[object],
                              dps: int = DEFAULT_DPS) -> dict:
    """Optimal predictors at x_t for a 1-D Gaussian-mixture prior, by quadrature.

    Returns ``x_0`` = E[x_0|x_t], ``eps`` = E[eps|x_t], ``v`` = E[v|x_t] (posterior integrals of
    the definitions eps = (x_t - sqrt(ab) x_0)/sqrt(1-ab), v = sqrt(ab) eps - sqrt(1-ab) x_0) and
    ``score`` = d/dx log q_t(x) at x_t by ``mpmath.diff``.
    """
    ab = _open_unit(alpha_bar, "alpha_bar")
    xt = exact_fraction(x_t, "x_t")
    for name, seq in (("weights", weights), ("means", means), ("variances", variances)):
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence) or not seq:
            raise InvalidParameter(name, seq, "a non-empty sequence of exact numbers")
    if not len(weights) == len(means) == len(variances):
        raise InvalidParameter("weights", weights, "one weight, mean and variance per component")
    ws = tuple(_positive(w, f"weights[{k}]") for k, w in enumerate(weights))
    if sum(ws) != 1:
        raise InvalidParameter("weights", weights, "positive weights summing to 1")
    ms = tuple(exact_fraction(m, f"means[{k}]") for k, m in enumerate(means))
    vs = tuple(_positive(v, f"variances[{k}]") for k, v in enumerate(variances))
    return dict(_mixture_cached(ab, xt, ws, ms, vs, check_dps(dps)))


# ----------------------------------------------------------------------------- M3.3 finite chains

def _is_number(x: Any) -> bool:
    return isinstance(x, (int, Fraction)) and not isinstance(x, bool)


@dataclass(frozen=True)
class FiniteChain:
    """A finite-state diffusion toy with T steps on states {0, ..., S-1}.

    * ``data[i]`` = q(x_0 = i) (only needed for the unconditioned reverse q(x_{t-1}|x_t));
    * ``forward[t-1][i][j]`` = q(x_t = j | x_{t-1} = i), t = 1..T;
    * ``reverse[t-1][j][i]`` = p_theta(x_{t-1} = i | x_t = j), t = 1..T (t = 1 is the decoder);
    * ``prior[j]`` = p(x_T = j).

    Entries may be exact numbers (``int``/``Fraction``: then positivity and unit row sums are
    validated exactly) or sympy expressions (symbolic chains; only shapes are validated).
    """

    data: tuple
    forward: tuple
    reverse: tuple
    prior: tuple

    def __post_init__(self) -> None:
        n = len(self.prior)
        if n < 2:
            raise InvalidParameter("prior", self.prior, "a distribution over at least 2 states")
        if len(self.forward) != len(self.reverse) or not self.forward:
            raise InvalidParameter("reverse", len(self.reverse),
                                   f"one reverse kernel per forward kernel ({len(self.forward)})")
        _check_distribution(self.data, n, "data")
        _check_distribution(self.prior, n, "prior")
        for kind, kernels in (("forward", self.forward), ("reverse", self.reverse)):
            for t, kernel in enumerate(kernels, 1):
                if len(kernel) != n:
                    raise InvalidParameter(f"{kind}[{t - 1}]", kernel, f"{n} rows")
                for i, row in enumerate(kernel):
                    _check_distribution(row, n, f"{kind}[{t - 1}][{i}]")

    @property
    def states(self) -> int:
        return len(self.prior)

    @property
    def steps(self) -> int:
        return len(self.forward)


def _check_distribution(row: Sequence, n: int, name: str) -> None:
    if len(row) != n:
        raise InvalidParameter(name, row, f"a distribution over {n} states")
    if all(_is_number(x) for x in row):
        if any(x <= 0 for x in row) or sum(row) != 1:
            raise InvalidParameter(name, row, "positive probabilities summing to 1 exactly")


def random_chain(states: int, steps: int, seed: int) -> FiniteChain:
    """A reproducible chain with positive rational entries (numerators 1..9, rows normalised)."""
    for name, value in (("states", states), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 6:
            raise InvalidParameter(name, value, "an integer in [2, 6]")
    rng = random.Random(seed)

    def dist():
        w = [rng.randint(1, 9) for _ in range(states)]
        return tuple(Fraction(x, sum(w)) for x in w)

    def kernel():
        return tuple(dist() for _ in range(states))

    return FiniteChain(dist(), tuple(kernel() for _ in range(steps)),
                       tuple(kernel() for _ in range(steps)), dist())


def _path_probabilities(chain: FiniteChain, x_0: int):
    """Yield (q(x_{1:T}|x_0), p(x_{0:T})) for every path x_{1:T}."""
    for path in itertools.product(range(chain.states), repeat=chain.steps):
        states = (x_0,) + path
        q = 1
        p = chain.prior[states[-1]]
        for t in range(1, chain.steps + 1):
            q = q * chain.forward[t - 1][states[t - 1]][states[t]]
            p = p * chain.reverse[t - 1][states[t]][states[t - 1]]
        yield q, p


def _check_state(chain: FiniteChain, x_0: object) -> int:
    if isinstance(x_0, bool) or not isinstance(x_0, int) or not 0 <= x_0 < chain.states:
        raise InvalidParameter("x_0", x_0, f"a state in 0..{chain.states - 1}")
    return x_0


def bound_by_paths(chain: FiniteChain, x_0: int, log: Callable[[Any], Any]):
    """The variational bound by its definition, sum over paths of q log(q/p), with q =
    q(x_{1:T}|x_0) and p = p(x_{0:T}).  Generic arithmetic: ``log`` is ``sympy.log`` for
    symbolic chains or :func:`log_exact` for exact ones (at the current precision)."""
    _check_state(chain, x_0)
    return sum((q * log(q / p) for q, p in _path_probabilities(chain, x_0)), 0)


def variational_bound_by_paths(chain: FiniteChain, x_0: int, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """E_q log q(x_{1:T}|x_0)/p(x_{0:T}) by exact enumeration (probabilities exact, logs at dps)."""
    with workdps(check_dps(dps)):
        total = mpmath.mpf(0)
        for q, p in _path_probabilities(chain, _check_state(chain, x_0)):
            total += _mp(Fraction(q)) * log_exact(Fraction(q) / Fraction(p))
        return total


def log_likelihood_by_paths(chain: FiniteChain, x_0: int, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """log p_theta(x_0), the model's marginal likelihood, by summing p(x_{0:T}) over paths."""
    _check_state(chain, x_0)
    total = sum((Fraction(p) for _, p in _path_probabilities(chain, x_0)), Fraction(0))
    with workdps(check_dps(dps)):
        return log_exact(total)
