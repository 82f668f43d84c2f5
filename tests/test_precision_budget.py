"""numerics.precision and numerics.budget: validation, restoration, hard interruption."""

from __future__ import annotations

import time
from fractions import Fraction

import mpmath
import pytest
import sympy

from numerics.budget import BudgetExceeded, run_with_budget
from numerics.errors import InvalidParameter, PrecisionLoss
from numerics.precision import (
    at_two_precisions,
    exact_fraction,
    check_dps,
    current_dps,
    identity_tolerance,
    mpf_exact,
    mpf_from_float,
    require_agreement,
    workdps,
)


@pytest.mark.parametrize("bad", [0, 5, 19, 2001, -3, 50.0, "50", True, None])
def test_check_dps_rejects_out_of_range_and_non_integers(bad):
    with pytest.raises(InvalidParameter, match="dps"):
        check_dps(bad)


def test_workdps_restores_precision_even_after_an_error():
    before = current_dps()
    with pytest.raises(RuntimeError):
        with workdps(80):
            assert current_dps() == 80
            raise RuntimeError
    assert current_dps() == before


def test_mpf_exact_is_exact_and_refuses_floats():
    with workdps(60):
        third = mpf_exact(Fraction(1, 3))
        assert abs(third * 3 - 1) < mpmath.mpf(10) ** -59
        assert mpf_exact("1/3") == third
        assert mpf_exact(sympy.Rational(1, 3)) == third
        assert mpf_exact("0.1") != mpf_from_float(0.1)  # the float carries binary error
    with pytest.raises(InvalidParameter, match="float"):
        mpf_exact(0.1)
    with pytest.raises(InvalidParameter):
        mpf_exact("one third")


def test_mpf_from_float_is_the_exact_binary_value():
    with workdps(40):
        assert mpf_from_float(0.5) == mpmath.mpf(1) / 2
        # 0.1 as a double is 3602879701896397 / 2**55
        assert mpf_from_float(0.1) == mpmath.mpf(3602879701896397) / 2**55


def test_identity_tolerance_keeps_ten_guard_digits():
    assert identity_tolerance(50) == mpmath.mpf(10) ** -40


def test_two_precision_agreement_detects_precision_limited_results():
    def value(dps):
        return mpmath.exp(1)

    low, high = at_two_precisions(value, 30)
    assert require_agreement(low, high, 30, "e") < identity_tolerance(30)

    def rounding_limited(dps):  # stuck at float precision whatever dps is
        return mpmath.mpf(float(mpmath.pi))

    low, high = at_two_precisions(rounding_limited, 30)
    high_true = mpmath.pi
    with pytest.raises(PrecisionLoss, match="differ"):
        require_agreement(low, high_true, 30, "pi")


def test_budget_interrupts_pure_python_work_and_reports_it():
    def spin():
        while True:
            pass

    start = time.monotonic()
    outcome = run_with_budget(spin, 0.2)
    assert not outcome.finished and outcome.hard
    assert time.monotonic() - start < 1.0


def test_budget_returns_the_value_of_finished_work():
    outcome = run_with_budget(lambda: 42, 5)
    assert outcome.finished and outcome.value == 42


def test_inner_budget_cannot_outlive_outer_budget():
    def spin():
        while True:
            pass

    start = time.monotonic()
    outcome = run_with_budget(lambda: run_with_budget(spin, 30), 0.2)
    assert not outcome.finished
    assert time.monotonic() - start < 1.0


def test_budget_survives_code_that_swallows_exceptions():
    def stubborn():
        while True:
            try:
                while True:
                    pass
            except Exception:  # cannot catch BudgetExceeded (a BaseException)
                pass

    assert not run_with_budget(stubborn, 0.2).finished
    assert issubclass(BudgetExceeded, BaseException) and not issubclass(BudgetExceeded, Exception)


def test_exceptions_from_the_work_propagate():
    with pytest.raises(ZeroDivisionError):
        run_with_budget(lambda: 1 / 0, 1)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "1", True])
def test_budget_validates_seconds(bad):
    with pytest.raises(InvalidParameter, match="budget"):
        run_with_budget(lambda: None, bad)


def test_exact_fraction_accepts_exact_inputs_only():
    import numpy as np

    assert exact_fraction("0.1") == Fraction(1, 10)
    assert exact_fraction("-3/7") == Fraction(-3, 7)
    assert exact_fraction(sympy.Rational(2, 9)) == Fraction(2, 9)
    assert exact_fraction(np.int64(5)) == 5
    with workdps(30):
        assert exact_fraction(mpmath.mpf(3) / 8) == Fraction(3, 8)  # dyadic: exact
    for bad, fragment in [(0.1, "rounding"), (float("nan"), "NaN"), ("nan", "exact"),
                          ("1/0", "exact"), (True, "exact"), ([1], "exact")]:
        with pytest.raises(InvalidParameter, match=fragment):
            exact_fraction(bad, "beta")
