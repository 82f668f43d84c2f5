"""numerics.schedules: every table against an independent route, hand-derived timestep lists,
and input validation.

Tolerances: tables are computed with 10 guard digits and rounded to ``dps`` digits, so any
correct independent route agrees to within a few units of 10^-dps; we use
identity_tolerance(dps) = 10^-(dps-10) (DESIGN.md), far below float64 and far above rounding.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from numerics import schedules as ns
from numerics.errors import InvalidParameter
from numerics.precision import identity_tolerance, workdps

DPS = 50
TOL = identity_tolerance(DPS)


def close(a, b, tol=TOL):
    a, b = mpmath.mpmathify(a), mpmath.mpmathify(b)
    scale = max(abs(a), abs(b))
    return abs(a - b) <= tol * scale if scale else a == b


# ---------------------------------------------------------------- beta schedules

def test_linear_table_matches_exact_rational_product():
    # Route: exact Fractions (b0 + (b1 - b0) i/(T-1), cumulative product), no mpmath at all.
    T = 200
    tab = ns.schedule_table("linear", T, dps=DPS)
    b0, b1 = Fraction(1, 10_000), Fraction(2, 100)
    prod = Fraction(1)
    with workdps(DPS):
        for i in range(T):
            beta = b0 + (b1 - b0) * Fraction(i, T - 1)
            prod *= 1 - beta
            assert close(tab["beta"][i], mpmath.mpf(beta.numerator) / beta.denominator)
            assert close(tab["alpha_bar"][i], mpmath.mpf(prod.numerator) / prod.denominator)


def test_alpha_bar_product_equals_exp_of_log1p_sum_at_higher_precision():
    # Route: alpha_bar_t = exp(sum log1p(-beta_s)) at dps + 20, one_minus = -expm1(same sum).
    for schedule in ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "laplace"):
        tab = ns.schedule_table(schedule, 300, dps=DPS)
        with workdps(DPS + 20):
            acc = mpmath.mpf(0)
            for t, b in enumerate(tab["beta"]):
                acc += mpmath.log1p(-b)
                if t % 37 == 0 or t == 299:
                    assert close(tab["alpha_bar"][t], mpmath.exp(acc)), (schedule, t)
                    assert close(tab["one_minus_alpha_bar"][t], -mpmath.expm1(acc)), (schedule, t)


def test_cosine_alpha_bar_telescopes_where_the_cap_does_not_bind():
    # Route: alpha_bar_i = f((i+1)/T)/f(0), f(u) = cos^2(((u + 0.008)/1.008) pi/2), written here.
    T = 1000
    tab = ns.schedule_table("squaredcos_cap_v2", T, dps=DPS)
    with workdps(DPS + 20):
        s = mpmath.mpf(8) / 1000
        f = lambda u: mpmath.cos((u + s) / (1 + s) * mpmath.pi / 2) ** 2  # noqa: E731
        capped = [i for i, b in enumerate(tab["beta"]) if b == mpmath.mpf("0.999")]
        first_cap = capped[0] if capped else T
        assert first_cap > 990          # the 0.999 cap binds only in the last steps
        for i in range(0, first_cap, 17):
            assert close(tab["alpha_bar"][i], f(mpmath.mpf(i + 1) / T) / f(0))
    # the last beta is capped (f(1) = 0 would give beta = 1)
    assert tab["beta"][-1] == ns.beta_schedule("cosine", T, dps=DPS)[-1]
    with workdps(DPS):
        assert tab["beta"][-1] == mpmath.mpf("0.999")


def test_scaled_linear_has_linear_square_roots_and_sigmoid_is_symmetric():
    # sqrt(beta) must be an arithmetic progression: equal consecutive differences.
    b = ns.beta_schedule("scaled_linear", 11, beta_start="0.00085", beta_end="0.012", dps=DPS)
    with workdps(DPS):
        r = [mpmath.sqrt(x) for x in b]
        step = (mpmath.sqrt(mpmath.mpf("0.012")) - mpmath.sqrt(mpmath.mpf("0.00085"))) / 10
        assert all(close(r[i + 1] - r[i], step, tol=mpmath.mpf(10) ** -40) for i in range(10))
    # logistic(-x) = 1 - logistic(x): beta_i + beta_{T-1-i} = b0 + b1, middle value (b0+b1)/2
    s = ns.beta_schedule("sigmoid", 9, dps=DPS)
    with workdps(DPS):
        for i in range(9):
            assert close(s[i] + s[8 - i], mpmath.mpf("0.0201"))
        assert close(s[4], mpmath.mpf("0.01005"))


def test_exp_and_laplace_ratio_rules():
    # exp: alpha_bar(u) = e^{-12u} gives the constant beta = 1 - e^{-12/T}.
    b = ns.beta_schedule("exp", 40, dps=DPS)
    with workdps(DPS):
        assert all(close(x, -mpmath.expm1(mpmath.mpf(-12) / 40)) for x in b)
    # laplace: cumulative product telescopes to g((i+1)/T)/g(0), g written from the definition.
    T = 50
    tab = ns.schedule_table("laplace", T, dps=DPS)
    with workdps(DPS + 20):
        def g(u):
            d = mpmath.mpf(1) / 2 - u
            lam = -(1 if d >= 0 else -1) * mpmath.log(1 - 2 * abs(d) + mpmath.mpf("1e-6")) / 2
            return mpmath.sqrt(1 / (1 + mpmath.exp(-lam)))
        for i in range(T - 1):
            if tab["beta"][i] < mpmath.mpf("0.999"):
                assert close(tab["alpha_bar"][i], g(mpmath.mpf(i + 1) / T) / g(0))


def test_openai_scale_multiplies_linear_betas_by_1000_over_T():
    T = 250
    plain = ns.beta_schedule("linear", T, beta_start="0.0004", beta_end="0.08", dps=DPS)
    scaled = ns.beta_schedule("linear", T, openai_scale=True, dps=DPS)
    assert all(close(a, b) for a, b in zip(plain, scaled))


# ---------------------------------------------------------------- derived columns

@pytest.fixture(scope="module")
def table():
    return ns.schedule_table("linear", 1000, dps=DPS)


def test_beta_tilde_matches_the_posterior_precision_form(table):
    # Route: 1/beta_tilde = alpha/beta + 1/(1 - alpha_bar_prev) (product of Gaussian precisions).
    with workdps(DPS + 20):
        for t in range(1, 1000, 23):
            b, a, abp = table["beta"][t], table["alpha"][t], table["alpha_bar_prev"][t]
            assert close(table["beta_tilde"][t], 1 / (a / b + 1 / (1 - abp)))
    assert table["beta_tilde"][0] == 0


def test_posterior_coefficients_match_gaussian_conditioning(table):
    # Route: x_{t-1} | x0 ~ N(a' x0, 1 - ab'), x_t | x_{t-1} ~ N(sqrt(alpha) x_{t-1}, beta):
    # gain K = cov/var, mean = m + K (x_t - sqrt(alpha) m), var = (1 - ab') (1 - K sqrt(alpha)).
    with workdps(DPS + 20):
        for t in list(range(0, 1000, 29)) + [999]:
            alpha, beta, abp = table["alpha"][t], table["beta"][t], table["alpha_bar_prev"][t]
            v = 1 - abp
            gain = v * mpmath.sqrt(alpha) / (alpha * v + beta)
            assert close(table["posterior_mean_coef2"][t], gain)
            assert close(table["posterior_mean_coef1"][t],
                         mpmath.sqrt(abp) * (1 - gain * mpmath.sqrt(alpha)), tol=TOL)
            if t > 0:
                assert close(table["beta_tilde"][t], v * (1 - gain * mpmath.sqrt(alpha)))
            # RC-06 identity: coef1 + coef2 sqrt(alpha_bar_t) = sqrt(alpha_bar_{t-1})
            assert close(table["posterior_mean_coef1"][t]
                         + table["posterior_mean_coef2"][t] * table["sqrt_alpha_bar"][t],
                         mpmath.sqrt(abp))


def test_noise_levels_and_log_snr(table):
    # a = 1/sqrt(1 + sigma^2), s = sigma a (notation, section 1), log_snr = -2 log sigma.
    with workdps(DPS):
        for t in range(0, 1000, 31):
            sig = table["sigma"][t]
            a = 1 / mpmath.sqrt(1 + sig ** 2)
            assert close(table["sqrt_alpha_bar"][t], a)
            assert close(table["sqrt_one_minus_alpha_bar"][t], sig * a)
            assert close(table["log_snr"][t], -2 * mpmath.log(sig))
            assert close(table["lambda"][t], -mpmath.log(sig))
            assert close(table["sqrt_recip_alpha_bar"][t], 1 / a)


def test_log_beta_tilde_conventions_and_shifted_columns(table):
    with workdps(DPS):
        # diffusers: log max(beta_tilde, 1e-20) -> -20 ln 10 at t = 0
        assert close(table["log_beta_tilde_floored"][0], -20 * mpmath.log(10))
        # OpenAI: t = 0 takes log beta_tilde_1
        assert close(table["log_beta_tilde_clipped"][0], mpmath.log(table["beta_tilde"][1]))
        for t in (1, 500, 999):
            assert close(table["log_beta_tilde_clipped"][t], mpmath.log(table["beta_tilde"][t]))
            assert close(table["log_beta_tilde_floored"][t], mpmath.log(table["beta_tilde"][t]))
    assert table["alpha_bar_prev"][0] == 1 and table["alpha_bar_next"][-1] == 0
    assert table["alpha_bar_prev"][1:] == table["alpha_bar"][:-1]
    assert table["alpha_bar_next"][:-1] == table["alpha_bar"][1:]


def test_zero_terminal_snr_rescale():
    base = ns.schedule_table("scaled_linear", 1000, beta_start="0.00085", beta_end="0.012")
    tab = ns.schedule_table("scaled_linear", 1000, beta_start="0.00085", beta_end="0.012",
                            rescale_zero_snr=True, dps=DPS)
    assert tab["alpha_bar"][-1] == 0 and tab["beta"][-1] == 1
    assert mpmath.isinf(tab["sigma"][-1]) and tab["log_snr"][-1] == mpmath.ninf
    assert close(tab["alpha_bar"][0], base["alpha_bar"][0])
    # sqrt(alpha_bar') is an affine image of sqrt(alpha_bar): constant ratio of differences
    with workdps(DPS):
        r = [mpmath.sqrt(x) for x in base["alpha_bar"]]
        rp = [mpmath.sqrt(x) for x in tab["alpha_bar"]]
        slope = (rp[0] - rp[-1]) / (r[0] - r[-1])
        for t in range(0, 999, 111):
            assert close((rp[t] - rp[-1]) / (r[t] - r[-1]), slope, tol=mpmath.mpf(10) ** -35)
    with pytest.raises(InvalidParameter, match="betas"):
        ns.rescale_zero_terminal_snr(["0.5"])


def test_table_from_alpha_bar_round_trip():
    tab = ns.table_from_alpha_bar(["0.9", "0.5", "1/10"], dps=DPS)
    with workdps(DPS):
        assert close(tab["beta"][1], mpmath.mpf(4) / 9)
        assert close(tab["beta"][2], mpmath.mpf(4) / 5)
    z = ns.table_from_alpha_bar([0.9, 0.5, 0.0], allow_zero_terminal=True)
    assert z["beta"][-1] == 1
    with pytest.raises(InvalidParameter, match="alpha_bar"):
        ns.table_from_alpha_bar(["0.5", "0.6"])          # not decreasing
    with pytest.raises(InvalidParameter, match="alpha_bar"):
        ns.table_from_alpha_bar(["0.5", "0"])            # zero without the flag


def test_to_float64_rounds_to_nearest():
    with workdps(DPS):
        third = mpmath.mpf(1) / 3
        tiny_above_half_ulp = 1 + mpmath.mpf(2) ** -53 * (1 + mpmath.mpf(2) ** -40)
    out = ns.to_float64([third, tiny_above_half_ulp])
    assert out[0] == 1 / 3                                # Python's correctly rounded 1/3
    assert out[1] == 1 + 2.0 ** -52                       # just above the tie rounds up


# ---------------------------------------------------------------- timesteps

@pytest.mark.parametrize("spacing,T,N,offset,expected", [
    # leading: k*floor(T/N) + offset, k = N-1..0; floor(10/3) = 3
    ("leading", 10, 3, 0, [6, 3, 0]),
    ("leading", 10, 3, 1, [7, 4, 1]),
    # trailing: round(T - k T/N) - 1; 10, 6.67, 3.33 -> 10, 7, 3
    ("trailing", 10, 3, 0, [9, 6, 2]),
    # T/N = 2.5: 10, 7.5, 5, 2.5 -> 10, 8 (tie to even), 5, 2 (tie to even)
    ("trailing", 10, 4, 0, [9, 7, 4, 1]),
    # linspace(0, 9, 3) = 0, 4.5, 9 -> 4.5 rounds to 4 (even)
    ("linspace", 10, 3, 0, [9, 4, 0]),
    # linspace(0, 5, 3) = 0, 2.5, 5 -> 2; linspace(0, 7, 3) = 0, 3.5, 7 -> 4
    ("linspace", 6, 3, 0, [5, 2, 0]),
    ("linspace", 8, 3, 0, [7, 4, 0]),
    ("linspace", 10, 1, 0, [0]),
    ("trailing", 10, 1, 0, [9]),
    ("leading", 5, 5, 0, [4, 3, 2, 1, 0]),
    # DPM-Solver: linspace(0, 9, 4) = 0, 3, 6, 9 reversed, final 0 dropped
    ("dpmsolver_linspace", 10, 3, 0, [9, 6, 3]),
    # DPM-Solver leading: stride floor(10/4) = 2, k = 3..1
    ("dpmsolver_leading", 10, 3, 1, [7, 5, 3]),
])
def test_timesteps_hand_derived(spacing, T, N, offset, expected):
    assert ns.timesteps(spacing, T, N, steps_offset=offset) == expected


@pytest.mark.parametrize("T,spec,expected", [
    (10, "3", [0, 4, 9]),               # stride 9/2 = 4.5: 0, round(4.5) = 4, 9
    (10, "ddim3", [0, 4, 8]),           # strides 1, 2, 3 give 10, 5, 4 points; 4 gives 3
    (10, "2,3", [0, 4, 5, 7, 9]),       # sections of 5: {0, 4} and 5 + {0, 2, 4}
    (11, "2,3", [0, 5, 6, 8, 10]),      # first section gets the extra step: 6 and 5
    (10, "1", [0]),
])
def test_openai_respacing_hand_derived(T, spec, expected):
    assert ns.openai_respacing(T, spec) == expected


def test_round_half_even():
    cases = {Fraction(1, 2): 0, Fraction(3, 2): 2, Fraction(5, 2): 2, Fraction(-1, 2): 0,
             Fraction(-3, 2): -2, Fraction(7, 3): 2, Fraction(8, 3): 3, 4: 4}
    for q, want in cases.items():
        assert ns.round_half_even(q) == want


@settings(deadline=None)
@given(T=st.integers(1, 2000), data=st.data(), spacing=st.sampled_from(ns.SPACINGS[:3]))
@example(T=1, data=None, spacing="leading")   # the smallest chain
def test_timesteps_are_valid_indices(T, data, spacing):
    N = data.draw(st.integers(1, T)) if data is not None else 1
    ts = ns.timesteps(spacing, T, N)
    assert len(ts) == N and all(0 <= t < T for t in ts)
    assert all(a > b for a, b in zip(ts, ts[1:]))


# ---------------------------------------------------------------- samplers

def test_ddim_sigma_at_eta_one_on_adjacent_steps_is_beta_tilde(table):
    with workdps(DPS):
        for t in (1, 10, 500, 999):
            s = ns.ddim_sigma(table["alpha_bar"][t], table["alpha_bar"][t - 1], 1, dps=DPS)
            assert close(s ** 2, table["beta_tilde"][t])
            assert ns.ddim_sigma(table["alpha_bar"][t], table["alpha_bar"][t - 1], 0) == 0
    cols = ns.ddim_table(table, ns.timesteps("leading", 1000, 10), eta=1)
    with workdps(DPS):
        for s, at, ap in zip(cols["sigma"], cols["alpha_bar_t"], cols["alpha_bar_prev"]):
            assert 1 - ap - s ** 2 >= 0                   # the noise coefficient is real
    assert cols["prev_t"][-1] == -1 and cols["alpha_bar_prev"][-1] == 1


def test_karras_sigmas():
    sig = ns.karras_sigmas(10, "0.0292", "14.6", dps=DPS)
    with workdps(DPS):
        assert sig[0] == mpmath.mpf("14.6") and sig[9] == mpmath.mpf("0.0292") and sig[10] == 0
        roots = [s ** (mpmath.mpf(1) / 7) for s in sig[:10]]
        step = roots[1] - roots[0]                       # rho-th roots equally spaced
        assert all(close(roots[k + 1] - roots[k], step, tol=mpmath.mpf(10) ** -40)
                   for k in range(9))
    assert all(a > b for a, b in zip(sig, sig[1:]))
    assert ns.karras_sigmas(1, "1", "2", append_zero=False) == [mpmath.mpf(2)]


def test_edm_identities():
    for s in ("0.002", "1", "80"):
        for sd in ("0.5", "1"):
            c = ns.edm_preconditioning(s, sd, dps=DPS)
            with workdps(DPS):
                sig, sdat = mpmath.mpf(s), mpmath.mpf(sd)
                assert close(c["c_out"] ** 2, sig ** 2 * c["c_skip"])      # c_out^2 = s^2 c_skip
                assert close(c["c_skip"] + c["c_out"] ** 2 / sdat ** 2, 1)  # partition of unity
                assert close(c["c_in"] ** 2 * (sig ** 2 + sdat ** 2), 1)
                assert close(mpmath.exp(4 * c["c_noise"]), sig)


def test_sde_marginals_against_quadrature_and_series():
    for t in ("1e-5", "0.3", "1"):
        vp = ns.sde_marginal("vp", t, dps=DPS)
        sub = ns.sde_marginal("subvp", t, dps=DPS)
        with workdps(DPS + 10):
            b0, b1 = mpmath.mpf("0.1"), mpmath.mpf(20)     # exact inputs at this precision
            tt = mpmath.mpf(t)
            integral = mpmath.quad(lambda s: b0 + s * (b1 - b0), [0, tt])   # int_0^t beta
            assert close(vp["mean_coef"], mpmath.exp(-integral / 2))
            assert close(vp["mean_coef"] ** 2 + vp["std"] ** 2, 1)
            assert close(sub["std"], 1 - sub["mean_coef"] ** 2)
    # tiny t: std^2 = 1 - e^{2c} = -2c - 2c^2 - ..., c = -t beta_min/2 - ...: relative accuracy
    vp = ns.sde_marginal("vp", "1e-30", dps=DPS)
    with workdps(DPS):
        b0, b1 = mpmath.mpf("0.1"), mpmath.mpf(20)
        c = -mpmath.mpf("1e-60") * (b1 - b0) / 4 - mpmath.mpf("1e-30") * b0 / 2
        assert close(vp["std"] ** 2, -2 * c - 2 * c * c)
    ve = ns.sde_marginal("ve", "0.25", dps=DPS)
    with workdps(DPS):
        assert close(mpmath.log(ve["std"]),
                     mpmath.mpf("0.75") * mpmath.log("0.01") + mpmath.mpf("0.25") * mpmath.log(50))


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("call,name", [
    (lambda: ns.beta_schedule("linear", 0), "T"),
    (lambda: ns.beta_schedule("linear", 10, beta_start="1.5"), "beta_start"),
    (lambda: ns.beta_schedule("linear", 10, beta_start=0.0001), "beta_start"),   # a float
    (lambda: ns.beta_schedule("nope", 10), "schedule"),
    (lambda: ns.beta_schedule("linear", 4, openai_scale=True), "betas"),   # 0.02*250 > 1
    (lambda: ns.table_from_betas(["0.1", "1", "0.2"]), "betas"),
    (lambda: ns.table_from_betas(["0.1", "0"]), "betas"),
    (lambda: ns.table_from_betas([]), "betas"),
    (lambda: ns.timesteps("leading", 10, 11), "N"),
    (lambda: ns.timesteps("sideways", 10, 2), "spacing"),
    (lambda: ns.timesteps("trailing", 10, 2, steps_offset=1), "steps_offset"),
    (lambda: ns.openai_respacing(10, "ddim7"), "spec"),
    (lambda: ns.openai_respacing(10, "11"), "spec"),
    (lambda: ns.karras_sigmas(5, "0", "1"), "sigma_min"),
    (lambda: ns.karras_sigmas(5, "2", "1"), "sigma_max"),
    (lambda: ns.edm_preconditioning("-1"), "sigma"),
    (lambda: ns.sde_marginal("vp", "1.5"), "t"),
    (lambda: ns.ddim_sigma("0.5", "0.4"), "alpha_bar_prev"),
    (lambda: ns.schedule_table("linear", 10, dps=5), "dps"),
])
def test_invalid_input_names_the_parameter(call, name):
    with pytest.raises(InvalidParameter) as info:
        call()
    assert info.value.name == name


def test_user_betas_accept_floats_exactly_and_terminal_one_with_flag():
    tab = ns.table_from_betas([0.5, 1.0], allow_terminal_one=True)
    assert tab["alpha_bar"][-1] == 0 and tab["alpha_bar"][0] == mpmath.mpf("0.5")
    assert mpmath.isnan(ns.table_from_betas(["0.1"])["log_beta_tilde_clipped"][0])   # T = 1
