"""The ``arrays`` target and the pytest helper on hand-made files: good, wrong and hostile.

The good files are exported the way a codebase would (numpy float32 linspace and cumprod, written
here by hand); the wrong ones plant a known departure (an index shift, a wrong t = 0 convention);
the hostile ones must give InvalidParameter (one line, exit 2 on the command line).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from numerics.errors import InvalidParameter
from proofs_check.cli import main
from proofs_check.interop.arrays import check_file, load
from proofs_check.testing import assert_matches_reference, check_reference

T = 1000


def float32_linear():
    """A float32 DDPM export, computed here the way PyTorch codebases do it."""
    betas = np.linspace(0.0001, 0.02, T, dtype=np.float32)
    alphas_cumprod = np.cumprod(np.float32(1) - betas, dtype=np.float32)
    return betas, alphas_cumprod


def float64_openai_tables():
    """float64 tables as iDDPM builds them (numpy float64 throughout)."""
    betas = np.linspace(0.0001, 0.02, T, dtype=np.float64)
    ab = np.cumprod(1.0 - betas)
    ab_prev = np.append(1.0, ab[:-1])
    var = betas * (1.0 - ab_prev) / (1.0 - ab)
    return {"betas": betas, "alphas_cumprod": ab, "alphas_cumprod_prev": ab_prev,
            "posterior_variance": var,
            "posterior_log_variance_clipped": np.log(np.append(var[1], var[1:])),
            "posterior_mean_coef1": betas * np.sqrt(ab_prev) / (1.0 - ab),
            "posterior_mean_coef2": (1.0 - ab_prev) * np.sqrt(1.0 - betas) / (1.0 - ab)}


def statuses(report):
    return {r.quantity: r.status for r in report.results}


def test_float32_export_passes(tmp_path):
    betas, ab = float32_linear()
    path = tmp_path / "ddpm.npz"
    np.savez(path, schedule=np.array("linear"), betas=betas, alphas_cumprod=ab)
    rep = check_file(path)
    assert rep.summary()["FAIL"] == 0
    assert statuses(rep) == {"betas": "PASS", "alphas_cumprod": "PASS"}
    assert all(r.tolerance > 0 and r.explanation for r in rep.results)


def test_shifted_alpha_bar_fails_with_worst_index(tmp_path):
    betas, ab = float32_linear()
    shifted = np.append(ab[1:], ab[-1] * (1 - betas[-1]))  # alpha_bar_{t+1}: an off-by-one export
    path = tmp_path / "shifted.npz"
    np.savez(path, schedule=np.array("linear"), alphas_cumprod=shifted)
    rep = check_file(path)
    (res,) = rep.results
    assert res.status == "FAIL" and res.max_ulps > 1e3
    assert "worst at" in res.explanation and rep.failed


def test_float64_tables_and_t0_convention(tmp_path):
    tabs = float64_openai_tables()
    path = tmp_path / "openai.json"
    path.write_text(json.dumps({"schedule": "linear", "dtype": "float64",
                                **{k: v.tolist() for k, v in tabs.items()}}))
    rep = check_file(path)
    st = statuses(rep)
    assert rep.summary()["FAIL"] == 0, [r.explanation for r in rep.results if r.status == "FAIL"]
    # log beta_tilde_0 = -inf exactly: iDDPM's log beta_tilde_1 is a documented convention (WARN)
    assert st["posterior_log_variance_clipped[0]"] == "WARN"
    assert st["posterior_variance[0]"] == "PASS"


def test_wrong_t0_log_variance_fails(tmp_path):
    tabs = float64_openai_tables()
    lv = tabs["posterior_log_variance_clipped"].copy()
    lv[0] = np.log(tabs["betas"][0])  # neither -inf, the floor, nor log beta_tilde_1
    path = tmp_path / "wrong.npz"
    np.savez(path, schedule=np.array("linear"), dtype=np.array("float64"), posterior_log_variance_clipped=lv)
    st = statuses(check_file(path))
    assert st["posterior_log_variance_clipped[0]"] == "FAIL"


def test_timesteps_checked_against_the_exact_rule(tmp_path):
    leading = np.arange(0, 50)[::-1] * (T // 50)
    good = tmp_path / "ts.json"
    good.write_text(json.dumps({"schedule": "linear", "T": T, "timestep_spacing": "leading",
                                "timesteps": leading.tolist()}))
    assert statuses(check_file(good)) == {"timesteps": "PASS"}
    trailing = np.round(np.arange(T, 0, -T / 50)).astype(int) - 1
    bad = tmp_path / "ts_bad.json"
    bad.write_text(json.dumps({"schedule": "linear", "T": T, "timestep_spacing": "leading",
                               "timesteps": trailing.tolist()}))
    assert statuses(check_file(bad)) == {"timesteps": "FAIL"}


def _hostile(tmp_path):
    betas, ab = float32_linear()
    cases = {}
    p = tmp_path / "shape.npz"
    np.savez(p, schedule=np.array("linear"), alphas_cumprod=ab.reshape(10, 100))
    cases["2-D table"] = (p, "alphas_cumprod")
    p = tmp_path / "nan.npz"
    bad = ab.copy()
    bad[7] = np.nan
    np.savez(p, schedule=np.array("linear"), alphas_cumprod=bad)
    cases["NaN"] = (p, "alphas_cumprod[7]")
    p = tmp_path / "pickle.npz"
    np.savez(p, schedule=np.array("linear"), alphas_cumprod=np.array([{"x": 1}, None], dtype=object))
    cases["pickled object array"] = (p, "alphas_cumprod")
    p = tmp_path / "nokey.npz"
    np.savez(p, alphas_cumprod=ab)
    cases["missing schedule"] = (p, "schedule")
    p = tmp_path / "unknown.npz"
    np.savez(p, schedule=np.array("linear"), alpha_cumprod=ab)
    cases["unknown key"] = (p, "alpha_cumprod")
    p = tmp_path / "lengths.npz"
    np.savez(p, schedule=np.array("linear"), alphas_cumprod=ab, betas=betas[:10])
    cases["different lengths"] = (p, "tables")
    p = tmp_path / "bad.json"
    p.write_text('{"schedule": "linear", "betas": [0.1, ')
    cases["bad JSON"] = (p, "FILE")
    p = tmp_path / "strings.json"
    p.write_text(json.dumps({"schedule": "linear", "betas": ["0.1", "x"]}))
    cases["strings in a table"] = (p, "betas[0]")
    p = tmp_path / "list.json"
    p.write_text("[1, 2, 3]")
    cases["top-level list"] = (p, "FILE")
    p = tmp_path / "schedule.json"
    p.write_text(json.dumps({"schedule": "quadratic", "betas": [0.1, 0.2]}))
    cases["unknown schedule"] = (p, "schedule")
    p = tmp_path / "given.json"
    p.write_text(json.dumps({"schedule": "given", "betas": [0.1, 1.5]}))
    cases["beta outside (0, 1]"] = (p, "betas[1]")
    p = tmp_path / "corrupt.npz"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    cases["corrupt npz"] = (p, "FILE")
    cases["not a file"] = (tmp_path, "FILE")
    p = tmp_path / "table.csv"
    p.write_text("1,2,3")
    cases["wrong suffix"] = (p, "FILE")
    return cases


def test_hostile_files_raise_invalid_parameter(tmp_path):
    for label, (path, key) in _hostile(tmp_path).items():
        with pytest.raises(InvalidParameter) as info:
            load(path)
        assert info.value.name == key, label


def test_cli_hostile_file_is_one_line_exit_2(tmp_path, capsys):
    for label, (path, _) in _hostile(tmp_path).items():
        code = main(["check", "arrays", str(path)])
        err = capsys.readouterr().err
        assert code == 2, label
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, label


def test_cli_exit_codes_and_json(tmp_path, capsys):
    betas, ab = float32_linear()
    good = tmp_path / "good.npz"
    np.savez(good, schedule=np.array("linear"), alphas_cumprod=ab)
    assert main(["check", "arrays", str(good), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"target", "version", "results", "summary"}
    assert set(doc["results"][0]) == {"check", "quantity", "where", "max_rel_err", "max_ulps", "worst",
                                      "tolerance", "status", "explanation"}
    bad = tmp_path / "bad.npz"
    np.savez(bad, schedule=np.array("linear"), alphas_cumprod=ab[::-1].copy())
    out = tmp_path / "report.md"
    assert main(["check", "arrays", str(bad), "--format", "md", "--output", str(out)]) == 1
    assert "| FAIL |" in out.read_text()
    assert main(["check", "arrays"]) == 2


def test_pytest_helper_passes_and_names_worst_index():
    betas, ab = float32_linear()
    results = assert_matches_reference("alphas_cumprod", ab, schedule="linear", T=T, dtype="float32")
    assert results[0].status == "PASS"
    broken = ab.copy()
    broken[123] *= 1.001  # a 0.1% error: ~1e4 ulp in float32
    with pytest.raises(AssertionError, match="worst 123"):
        assert_matches_reference("alphas_cumprod", broken, schedule="linear", T=T, dtype="float32")
    # a float64 claim is judged in float64 ulps: the float32 table fails it
    with pytest.raises(AssertionError):
        assert_matches_reference("alphas_cumprod", ab, schedule="linear", dtype="float64")


def test_pytest_helper_validates_its_arguments():
    with pytest.raises(InvalidParameter):
        check_reference("alpha_cumprod", [0.5])
    with pytest.raises(InvalidParameter):
        check_reference("alphas_cumprod", [0.5, float("nan")])
    with pytest.raises(InvalidParameter):
        check_reference("alphas_cumprod", [0.5], dtype="float8")
    with pytest.raises(InvalidParameter):
        check_reference("timesteps", [999, 0])


def test_given_betas_check_consistency_of_the_other_tables(tmp_path):
    """schedule 'given': the file's own betas are exact; alpha_bar must be their product."""
    betas = np.linspace(0.001, 0.05, 200)
    ab = np.cumprod(1.0 - betas)
    path = tmp_path / "given.json"
    path.write_text(json.dumps({"schedule": "given", "dtype": "float64", "betas": betas.tolist(),
                                "alphas_cumprod": ab.tolist()}))
    assert statuses(check_file(path)) == {"betas": "PASS", "alphas_cumprod": "PASS"}
    path.write_text(json.dumps({"schedule": "given", "dtype": "float64", "betas": betas.tolist(),
                                "alphas_cumprod": np.cumprod(1.0 - betas ** 1.001).tolist()}))
    assert statuses(check_file(path))["alphas_cumprod"] == "FAIL"
