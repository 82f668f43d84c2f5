"""Tests of the DDPM topic: identities.ddpm, numerics.ddpm and the catalog entries ddpm.*."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from identities import ddpm as I
from numerics import ddpm as N
from numerics.errors import InvalidParameter
from numerics.precision import mpf_exact, workdps
from proofs_check.entry import Status

ENTRY_IDS = [
    "ddpm.forward_marginal",
    "ddpm.posterior_mean_variance",
    "ddpm.posterior_mean_eps_form",
    "ddpm.kl_term_noise_prediction_weight",
    "ddpm.variational_bound_decomposition",
    "ddpm.parametrisation_affine_maps",
]


# ----------------------------------------------------------------------------- catalog entries

@pytest.mark.parametrize("entry_id", ENTRY_IDS)
def test_entry_is_proved_confirmed_and_every_mutant_rejected(entry_id, verified):
    result = verified(entry_id)
    by_route = {c.route: c for c in result.checks}
    assert by_route["symbolic"].status is Status.PROVED, by_route["symbolic"].detail
    independent = by_route.get("numeric") or by_route["exact"]
    assert independent.status is Status.CONFIRMED, independent.metric
    assert result.status is Status.PROVED
    assert len(result.mutants) >= 1
    for mutant in result.mutants:
        # REJECTED means every route that runs on mutants returned FAIL on it
        assert mutant.status is Status.REJECTED, (mutant.name, mutant.detail)
        routes = {c.route for c in result.entry.checks if c.on_mutants}
        assert mutant.metric == "rejected by " + ", ".join(
            c.route for c in result.entry.checks if c.on_mutants)
        assert len(routes) >= 2


# ----------------------------------------------------------------------------- property test

# beta_t in (0, 1) and alpha_bar_{t-1} in (0, 1], with explicit bounds (denominators <= 10^12)
BETAS = st.fractions(min_value=Fraction(1, 10 ** 12), max_value=1 - Fraction(1, 10 ** 12),
                     max_denominator=10 ** 12)
ALPHA_BAR_PREVS = st.fractions(min_value=Fraction(1, 10 ** 12), max_value=Fraction(1),
                               max_denominator=10 ** 12)


@settings(deadline=None)
@given(beta=BETAS, alpha_bar_prev=ALPHA_BAR_PREVS)
# t = 1 (alpha_bar_0 = 1): beta_tilde = 0, the lower bound is attained exactly
@example(beta=Fraction(1, 2), alpha_bar_prev=Fraction(1))
# tiny beta: both bounds are near 0 and the relative gap between them is small
@example(beta=Fraction(1, 10 ** 12), alpha_bar_prev=Fraction(1, 2))
# beta near 1 and alpha_bar_prev near 0: beta_tilde is within 1e-24 of the upper bound beta
@example(beta=1 - Fraction(1, 10 ** 12), alpha_bar_prev=Fraction(1, 10 ** 12))
def test_posterior_variance_lies_between_beta_times_one_minus_alpha_bar_prev_and_beta(
        beta, alpha_bar_prev):
    bt = N.beta_tilde(beta, alpha_bar_prev, dps=50)
    with workdps(50):
        b, abp = mpf_exact(beta), mpf_exact(alpha_bar_prev)
        lower, upper = b * (1 - abp), b
        # slack: a few roundings at 50 digits; a true violation is of relative size >= 1e-24 here
        slack = mpmath.mpf(10) ** -45 * upper
        assert lower - slack <= bt <= upper + slack
    # the same bounds hold exactly for the derived symbolic formula at exact rationals
    exact = I.posterior_variance(a=1 - sp.Rational(beta), abp=sp.Rational(alpha_bar_prev))
    assert exact.is_Rational
    assert sp.Rational(beta) * (1 - sp.Rational(alpha_bar_prev)) <= exact <= sp.Rational(beta)


def test_posterior_variance_is_zero_at_t_equal_1():
    # alpha_bar_0 = 1: q(x_0 | x_1, x_0) is the point mass at x_0
    assert N.beta_tilde("1/3", 1) == 0
    post = I.posterior(a=sp.Rational(2, 3), abp=1)
    assert post["variance"] == 0
    assert sp.simplify(post["mean"] - I.x_0) == 0


# ----------------------------------------------------------------------------- invalid input

@pytest.mark.parametrize("beta, abp, name", [
    ("3/2", "1/2", "beta"),
    (0, "1/2", "beta"),
    (1, "1/2", "beta"),
    (float("nan"), "1/2", "beta"),
    ("nan", "1/2", "beta"),
    (0.5, "1/2", "beta"),                       # floats are refused: they carry rounding error
    ("1/2", 0, "alpha_bar_prev"),
    ("1/2", "3/2", "alpha_bar_prev"),
    ("1/2", float("nan"), "alpha_bar_prev"),
])
def test_beta_tilde_rejects_invalid_parameters(beta, abp, name):
    with pytest.raises(InvalidParameter) as info:
        N.beta_tilde(beta, abp)
    assert info.value.name == name
    assert str(info.value).startswith(f"{name}=")


def test_numeric_routes_reject_invalid_parameters():
    with pytest.raises(InvalidParameter) as info:
        N.forward_moments(["1/2", "1"], 0)
    assert info.value.name == "betas[1]"
    with pytest.raises(InvalidParameter) as info:
        N.posterior_by_bayes("1/2", 1, 0, 0)     # alpha_bar_prev = 1: a point mass, no quadrature
    assert info.value.name == "alpha_bar_prev"
    with pytest.raises(InvalidParameter) as info:
        N.mixture_denoising_targets("1/2", 0, ["1/2", "1/3"], [0, 1], [1, 1])
    assert info.value.name == "weights"
    with pytest.raises(InvalidParameter) as info:
        N.FiniteChain((Fraction(1, 2), Fraction(1, 2)),
                      (((Fraction(1, 2), Fraction(1, 2)), (Fraction(1, 3), Fraction(1, 3))),),
                      (((Fraction(1, 2), Fraction(1, 2)), (Fraction(1, 2), Fraction(1, 2))),),
                      (Fraction(1, 2), Fraction(1, 2)))
    assert info.value.name == "forward[0][1]"


@pytest.mark.parametrize("call, name", [
    (lambda: I.posterior_variance(a=sp.Rational(3, 2)), "alpha"),
    (lambda: I.posterior_variance(a=sp.nan), "alpha"),
    (lambda: I.posterior_variance(abp=0), "alpha_bar_prev"),
    (lambda: I.eps_to_x0(ab=2), "alpha_bar"),
    (lambda: I.score_to_eps(ab=0.5), "alpha_bar"),
    (lambda: I.posterior_mean(x_t_="x"), "x_t"),
])
def test_identities_reject_invalid_parameters(call, name):
    with pytest.raises(InvalidParameter) as info:
        call()
    assert info.value.name == name


# ----------------------------------------------------------------------------- identities

def test_forward_marginal_composes_exactly_for_symbolic_T_equal_5():
    alphas = sp.symbols("a1:6", positive=True)
    out = I.forward_marginal(list(alphas))
    product = sp.Mul(*alphas)
    # the notes' closed form N(sqrt(alpha_bar_5) x_0, 1 - alpha_bar_5)
    assert sp.cancel(out["mean"] ** 2 - product * I.x_0 ** 2) == 0
    assert sp.expand(out["variance"] - (1 - product)) == 0


def test_converters_are_mutually_inverse():
    x0, e, ab = I.x_0, I.eps, I.alpha_bar
    xt = sp.sqrt(ab) * x0 + sp.sqrt(1 - ab) * e
    assert sp.cancel(sp.expand(I.eps_to_x0(xt, e) - x0)) == 0
    assert sp.cancel(sp.expand(I.x0_to_eps(xt, x0) - e)) == 0
    assert sp.cancel(I.score_to_eps(I.eps_to_score(e)) - e) == 0
    v_ = I.v_from_eps_x0(e, x0)
    assert sp.cancel(sp.expand(I.v_to_x0(xt, v_) - x0)) == 0
    assert sp.cancel(sp.expand(I.v_to_eps(xt, v_) - e)) == 0


def test_gaussian_kl_from_definition_matches_the_textbook_formula():
    m1, m2 = sp.symbols("m1 m2", real=True)
    v1, v2 = sp.symbols("v1 v2", positive=True)
    textbook = (sp.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1) / 2
    derived = I.gaussian_kl_from_definition(m1, v1, m2, v2)
    assert sp.cancel(sp.expand(sp.expand_log(derived - textbook))) == 0


def test_log_canonical_decides_sums_of_logs_of_rational_functions():
    r = sp.Symbol("r", positive=True)
    identity = sp.log(6 * r / (1 + r)) - sp.log(2) - sp.log(3 * r) + sp.log(1 + r)
    rewritten, _ = I.log_canonical(identity)
    assert sp.cancel(rewritten) == 0
    not_identity = sp.log(r / (1 + r)) - sp.log(r)
    rewritten, _ = I.log_canonical(not_identity)
    assert sp.cancel(rewritten) != 0


# ----------------------------------------------------------------------------- numerics

def test_forward_moments_of_one_step_are_the_kernel():
    out = N.forward_moments(["1/10"], "2/3", dps=50)
    assert out["variance_exact"] == Fraction(1, 10)
    with workdps(50):
        assert abs(out["mean"] - mpmath.sqrt(mpmath.mpf(9) / 10) * 2 / 3) < mpmath.mpf(10) ** -48


def test_bound_by_paths_is_tight_when_the_model_is_the_true_reverse_chain():
    # p(x_T) = q(x_T) and p(x_{t-1}|x_t) = q(x_{t-1}|x_t) under the data law: then
    # p(x_{0:T}) = q(x_{0:T}), the ELBO gap KL(q(x_{1:T}|x_0)||p(x_{1:T}|x_0)) vanishes and
    # VB(x_0) = -log q(x_0).
    base = N.random_chain(3, 3, seed=7)
    S, T = 3, 3
    marg = [list(base.data)]
    for t in range(T):
        marg.append([sum(marg[-1][i] * base.forward[t][i][j] for i in range(S)) for j in range(S)])
    reverse = tuple(tuple(tuple(base.forward[t][i][j] * marg[t][i] / marg[t + 1][j]
                                for i in range(S)) for j in range(S)) for t in range(T))
    chain = N.FiniteChain(base.data, base.forward, reverse, tuple(marg[T]))
    for state in range(S):
        vb = N.variational_bound_by_paths(chain, state, dps=50)
        with workdps(50):
            expected = -mpmath.log(mpf_exact(base.data[state]))
            assert abs(vb - expected) < mpmath.mpf(10) ** -45


def test_bound_by_paths_is_an_upper_bound_on_the_negative_log_likelihood():
    for seed in range(4):
        chain = N.random_chain(3, 3, seed=seed)
        for state in range(3):
            bound = N.variational_bound_by_paths(chain, state)
            assert bound > -N.log_likelihood_by_paths(chain, state)


def test_posterior_quadrature_agrees_at_two_precisions_at_a_tiny_beta():
    low = N.posterior_by_bayes(1 - Fraction(1, 10 ** 8), "1/2", "1/3", "-1/2", dps=50)
    high = N.posterior_by_bayes(1 - Fraction(1, 10 ** 8), "1/2", "1/3", "-1/2", dps=70)
    with workdps(70):
        assert abs(low["variance"] / high["variance"] - 1) < mpmath.mpf(10) ** -40
        assert abs(low["mean"] - high["mean"]) < mpmath.mpf(10) ** -40
