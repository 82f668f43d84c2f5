"""Fokker-Planck and continuity residuals: catalog entries, mutants, and both layers.

Hand-computed cases used below:

* p = x^2, f = x, g = 1, stationary: d/dx(x * x^2) - (1/2) d^2/dx^2 (x^2) = 3x^2 - 1.
* heat equation: dX = sqrt(2) dB from a point mass, p_t = N(0, 2t) solves d_t p = p_xx.
* scaling flow: p_t = N(0, 1 + t) is transported by v = x / (2 (1 + t)) (x_t = x_0 sqrt(1 + t)).
* 2-D OU dX = -X dt + G dW has the stationary law N(0, G G^T / 2) (Lyapunov: 2 S = G G^T).
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from identities import fokker_planck as fp
from identities import prove_zero
from numerics import fokker_planck as nf
from numerics.errors import InvalidParameter
from numerics.precision import workdps
from proofs_check.catalog import Status

IDS = ("fokker_planck.gibbs_density_is_stationary", "fokker_planck.ou_gaussian_solves_fp",
       "fokker_planck.probability_flow_transports_marginals")

x, y, t = sp.symbols("x y t", real=True)


# ----------------------------------------------------------------------------- catalog

@pytest.mark.parametrize("entry_id", IDS)
def test_entry_is_proved_confirmed_and_every_mutant_rejected(entry_id, verified):
    result = verified(entry_id)
    routes = {c.route: c.status for c in result.checks}
    assert routes == {"symbolic": Status.PROVED, "numeric": Status.CONFIRMED}, result.checks
    assert result.status is Status.PROVED
    assert len(result.mutants) >= 3
    assert all(m.status is Status.REJECTED for m in result.mutants), result.mutants



def test_mixture_refutation_catches_a_wrong_velocity_and_cannot_refute_the_true_one():
    from proofs_check.catalog import fokker_planck as cat

    wrong = dict(fp.probability_flow_formulas(), velocity=fp.DRIFT - fp.NOISE**2 * fp.SCORE)
    residuals = cat._mixture_residuals(wrong)
    out = cat._refute_mixture(residuals, [label for label, _, _ in residuals])
    assert out.status is Status.FAIL and out.counterexample
    residuals = cat._mixture_residuals(fp.probability_flow_formulas())
    out = cat._refute_mixture(residuals, [label for label, _, _ in residuals])
    assert out.status is Status.INCONCLUSIVE


# ----------------------------------------------------------------------------- identities

def test_residual_of_a_hand_computed_case():
    assert sp.expand(fp.fokker_planck_residual(x**2, x, 1, x)) == 3 * x**2 - 1
    # the log form is the residual divided by p: (3x^2 - 1)/x^2
    assert sp.cancel(fp.log_fokker_planck_residual(sp.log(x**2), x, 1, [x])
                     - (3 * x**2 - 1) / x**2) == 0


def test_heat_kernel_solves_the_heat_equation_and_a_wrong_variance_does_not():
    tp = sp.Symbol("t", positive=True)
    heat = sp.exp(-x**2 / (4 * tp)) / sp.sqrt(4 * sp.pi * tp)
    assert sp.simplify(fp.fokker_planck_residual(heat, 0, sp.sqrt(2), x, tp) / heat) == 0
    wrong = sp.exp(-x**2 / (6 * tp)) / sp.sqrt(6 * sp.pi * tp)
    assert sp.simplify(fp.fokker_planck_residual(wrong, 0, sp.sqrt(2), x, tp) / wrong) != 0


def test_reverse_time_flips_only_the_time_derivative():
    p = sp.exp(-x**2 * (1 + t))
    fwd = fp.fokker_planck_residual(p, -x, 1, x, t)
    rev = fp.fokker_planck_residual(p, -x, 1, x, t, reverse_time=True)
    assert sp.expand(fwd - rev - 2 * sp.diff(p, t)) == 0


def test_log_form_equals_density_form_divided_by_density_with_state_dependent_noise():
    L = -x**2 / 2 + x * y - y**4 / 4
    drift = [sp.sin(x) + y, -x * y]
    for diffusion in (1 + x**2 * y**2, sp.Matrix([[1 + y**2, x], [0, 2]])):
        dens = fp.fokker_planck_residual(sp.exp(L), drift, diffusion, [x, y], None)
        logf = fp.log_fokker_planck_residual(L, drift, diffusion, [x, y], None)
        assert prove_zero(dens / sp.exp(L) - logf).proved


def test_stationary_law_of_a_2d_ou_with_matrix_noise():
    G = sp.Matrix([[1, 0], [1, 1]])
    S = G * G.T / 2  # Lyapunov equation for drift -x: 2 S = G G^T
    z = sp.Matrix([x, y])
    L = -(z.T * S.inv() * z)[0, 0] / 2
    assert sp.cancel(fp.log_fokker_planck_residual(L, [-x, -y], G, [x, y])) == 0
    assert sp.cancel(fp.log_fokker_planck_residual(L, [-2 * x, -2 * y], G, [x, y])) != 0


def test_continuity_residual_of_the_scaling_flow():
    tp = sp.Symbol("t", positive=True)
    L = fp.gaussian_log_density(x, 0, 1 + tp)
    assert sp.cancel(fp.log_continuity_residual(L, x / (2 * (1 + tp)), x, tp)) == 0
    assert sp.cancel(fp.log_continuity_residual(L, x / (1 + tp), x, tp)) != 0
    p = sp.exp(L)
    assert sp.simplify(fp.continuity_residual(p, x / (2 * (1 + tp)), [x], tp) / p) == 0


def test_exponential_jets_by_hand():
    phi = sp.Function("phi")(x, t)
    E = sp.Symbol("E", positive=True)
    L = -x**2 * t
    jets = {phi: (L, E)}
    assert sp.expand(fp.exponential_jets(sp.diff(phi, x), jets)) == -2 * t * x * E
    assert sp.expand(fp.exponential_jets(sp.diff(phi, x, 2), jets)) == \
        sp.expand(E * (-2 * t + 4 * t**2 * x**2))
    assert sp.expand(fp.exponential_jets(sp.diff(phi, t) + phi, jets)) == sp.expand(E * (1 - x**2))


def test_vp_data_marginal_at_time_zero_is_the_data_density():
    p = fp.vp_data_marginal([sp.Rational(1, 4), sp.Rational(3, 4)], [0, 1], [1, 2])
    at0 = p.subs(fp.BETA_INTEGRAL(fp.T), 0)
    expected = (sp.exp(-fp.X**2 / 2) / sp.sqrt(2 * sp.pi) / 4
                + 3 * sp.exp(-(fp.X - 1) ** 2 / 4) / sp.sqrt(4 * sp.pi) / 4)
    assert sp.simplify(at0 - expected) == 0


@settings(deadline=None)
@given(c=st.lists(st.fractions(min_value=-4, max_value=4, max_denominator=9), min_size=4,
                  max_size=4))
@example(c=[0, 0, 0, 0])  # constant potential: pi uniform, every term vanishes
def test_gibbs_density_of_random_polynomial_potentials_is_stationary(c):
    c = [sp.Rational(q.numerator, q.denominator) for q in c]
    V = c[0] * x**4 + c[1] * x**2 * y + c[2] * y**2 + c[3] * x * y + (x**2 + y**2) ** 2
    drift = [-sp.diff(V, x), -sp.diff(V, y)]
    assert sp.cancel(fp.log_fokker_planck_residual(-V, drift, sp.sqrt(2), [x, y])) == 0
    # the same potential with twice the drift is not stationary (V is never constant here)
    assert sp.cancel(fp.log_fokker_planck_residual(-V, [2 * d for d in drift], sp.sqrt(2),
                                                   [x, y])) != 0


@pytest.mark.parametrize("call", [
    lambda: fp.fokker_planck_residual(x, x, 1, "x"),
    lambda: fp.fokker_planck_residual(x, [x, x], 1, [x, x]),
    lambda: fp.fokker_planck_residual(x, x, 1, [x], x),
    lambda: fp.fokker_planck_residual(x, [x, y], 1, [x]),
    lambda: fp.fokker_planck_residual(x * y, [x, y], sp.Matrix([[1, 0, 0]]), [x, y]),
    lambda: fp.fokker_planck_residual(sp.Float("0.5") * x, x, 1, [x]),
    lambda: fp.fokker_planck_residual("x**2", x, 1, [x]),
    lambda: fp.fokker_planck_residual(x, x, 1, [x], t, reverse_time="yes"),
    lambda: fp.continuity_residual(x, [x, x], [x]),
    lambda: fp.log_continuity_residual(x, x, []),
    lambda: fp.exponential_jets(x, {x: (x, sp.Symbol("E"))}),
    lambda: fp.vp_mixture_components([1], [0, 1], [1]),
])
def test_identities_reject_invalid_input(call):
    with pytest.raises(InvalidParameter):
        call()


# ----------------------------------------------------------------------------- numerics

def test_numeric_residual_of_the_hand_computed_case():
    r = nf.fokker_planck_residual(lambda u: u**2, lambda u: [u], lambda u: 1, ["1/2"], dps=40)
    with workdps(40):
        assert abs(r.value - mpmath.mpf(-1) / 4) < mpmath.mpf(10) ** -35
        # terms: d/dx(x^3) = 3/4 and -(1/2) d^2/dx^2 (x^2) = -1
        assert abs(r.scale - mpmath.mpf(7) / 4) < mpmath.mpf(10) ** -35


def test_numeric_heat_kernel_residual_is_rounding_and_a_wrong_one_is_not():
    def heat(u, s):
        return mpmath.npdf(u, 0, mpmath.sqrt(2 * s))

    def wrong(u, s):
        return mpmath.npdf(u, 0, mpmath.sqrt(3 * s))

    args = (lambda u, s: [0], lambda u, s: 2, ["7/10"], "1/3")
    assert nf.fokker_planck_residual(heat, *args, dps=50).relative < mpmath.mpf(10) ** -45
    assert nf.fokker_planck_residual(wrong, *args, dps=50).relative > mpmath.mpf(10) ** -2


def test_numeric_continuity_residual_of_the_scaling_flow():
    def p(u, s):
        return mpmath.npdf(u, 0, mpmath.sqrt(1 + s))

    good = nf.continuity_residual(p, lambda u, s: [u / (2 * (1 + s))], ["-6/5"], "1/4", dps=50)
    bad = nf.continuity_residual(p, lambda u, s: [u / (1 + s)], ["-6/5"], "1/4", dps=50)
    assert good.relative < mpmath.mpf(10) ** -45
    assert bad.relative > mpmath.mpf(10) ** -2


def test_gradient_by_hand():
    g = nf.gradient(lambda a, b: a**2 * b, [1, 2], dps=30)
    with workdps(30):
        assert abs(g[0] - 4) < mpmath.mpf(10) ** -25 and abs(g[1] - 1) < mpmath.mpf(10) ** -25


def test_linear_vp_schedule_and_mixture_density_by_hand():
    beta, integral = nf.linear_vp_schedule()
    with workdps(30):
        half = mpmath.mpf(1) / 2
        # beta(1/2) = 1/10 + 19.9/2 = 10.05 and B(1) = 1/10 + 19.9/2 = 10.05
        assert abs(beta(half) - mpmath.mpf("10.05")) < mpmath.mpf(10) ** -25
        assert abs(integral(mpmath.mpf(1)) - mpmath.mpf("10.05")) < mpmath.mpf(10) ** -25
        at0 = nf.vp_mixture_density([1], [0], [1], mpmath.mpf(0), mpmath.mpf(0), integral)
        assert abs(at0 - 1 / mpmath.sqrt(2 * mpmath.pi)) < mpmath.mpf(10) ** -25
        # large B: the law forgets the data and tends to N(0, 1)
        late = nf.vp_mixture_density([1], [5], ["1/9"], mpmath.mpf(0), mpmath.mpf(3), integral)
        assert abs(late - 1 / mpmath.sqrt(2 * mpmath.pi)) < mpmath.mpf(10) ** -5


def test_potentials_have_the_declared_dimension():
    for name, (d, V) in nf.POTENTIALS.items():
        with workdps(20):
            assert mpmath.isfinite(V(*[mpmath.mpf(1) / 3] * d)), name


@pytest.mark.parametrize("call", [
    lambda: nf.fokker_planck_residual(lambda u: u, lambda u: [u], lambda u: 1, [0.5], dps=30),
    lambda: nf.fokker_planck_residual(lambda u: u, lambda u: [u], lambda u: 1, [], dps=30),
    lambda: nf.fokker_planck_residual(lambda u: u, lambda u: [u], lambda u: 1, [1], dps=5),
    lambda: nf.fokker_planck_residual("p", lambda u: [u], lambda u: 1, [1], dps=30),
    lambda: nf.fokker_planck_residual(lambda u: u, lambda u: [u], lambda u: 1, [1], dps=30,
                                      reverse_time=1),
    lambda: nf.continuity_residual(lambda u, s: u, None, [1], 0, dps=30),
    lambda: nf.gradient(lambda u: u, "1", dps=30),
    lambda: nf.linear_vp_schedule(beta_min=20, beta_max="1/10"),
    lambda: nf.linear_vp_schedule(beta_min=0.1),
])
def test_numerics_reject_invalid_input(call):
    with pytest.raises(InvalidParameter):
        call()
