"""The result model of the reference checks: tolerances in ulps, statuses, conventions, rendering."""

from __future__ import annotations

import json

import numpy as np
import pytest

from numerics.errors import InvalidParameter
from proofs_check.interop.common import (FAIL, PASS, WARN, Exact, Report, compare, compare_convention,
                                         ulp, unit_roundoff)


def test_ulp_of_float32_and_float64():
    assert ulp(np.array([1.0]), "float32")[0] == 2.0 ** -23
    assert ulp(np.array([1.5]), "float64")[0] == 2.0 ** -52
    assert ulp(np.array([0.0]), "float32")[0] > 0
    with pytest.raises(InvalidParameter):
        unit_roundoff("float8")


def test_compare_pass_within_and_fail_beyond_the_bound():
    exact = ["1/3"]
    from numerics.precision import mpf_exact, workdps

    with workdps(50):
        third = [mpf_exact("1/3")]
    got = np.float32(1) / np.float32(3)  # one rounding: within 1u
    assert compare("RC-x", "q", "w", [got], third, dtype="float32", bound_u=1.0, how="1 rounding").status == PASS
    off = np.nextafter(np.nextafter(got, np.float32(1)), np.float32(1))  # two ulps further
    res = compare("RC-x", "q", "w", [off], third, dtype="float32", bound_u=1.0, how="1 rounding")
    assert res.status == FAIL and res.max_ulps > 1.5 and "worst at 0" in res.explanation
    assert exact  # the exact value was given as a fraction string, never as a float


def test_compare_reports_nan_and_shape_mismatch():
    res = compare("RC-x", "q", "w", [np.nan, 1.0], [1, 1], dtype="float64", bound_u=4.0, how="h")
    assert res.status == FAIL and res.worst == 0
    res = compare("RC-x", "q", "w", [1.0], [1, 1], dtype="float64", bound_u=4.0, how="h")
    assert res.status == FAIL and "shape" in res.explanation


def test_convention_is_warn_only_when_the_faithful_value_matches():
    rows = compare_convention("RC-x", "q", "w", [2.0 ** -24], [0], [2.0 ** -24], dtype="float32",
                              bound_u=1.0, floor=1.0 / 2 ** 30, how="h", convention="floor")
    assert [r.status for r in rows] == [WARN, PASS]
    rows = compare_convention("RC-x", "q", "w", [0.5], [0], [2.0 ** -24], dtype="float32",
                              bound_u=1.0, floor=1.0, how="h", convention="floor")
    assert [r.status for r in rows] == [FAIL, FAIL]


def test_exact_double_double_keeps_digits_beyond_float64():
    from numerics.precision import mpf_exact, workdps

    with workdps(50):
        e = Exact.from_mp([mpf_exact("0.1")])
    assert e.hi[0] == 0.1 and e.lo[0] != 0.0 and abs(e.lo[0]) < 1e-17


def test_report_render_formats_and_summary():
    res = compare("RC-01", "alphas_cumprod", "x", [0.5], [0.5], dtype="float32", bound_u=1.0, how="h")
    rep = Report("arrays", "file", [res], 0.1)
    doc = json.loads(rep.render("json"))
    assert doc["summary"]["PASS"] == 1 and doc["summary"]["FAIL"] == 0
    assert "| PASS | RC-01 |" in rep.render("md")
    assert rep.render("text").startswith("PASS RC-01")
    assert not rep.failed
