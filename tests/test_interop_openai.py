"""The ``openai PATH`` adapter on a minimal fake checkout (tests/fixtures/openai_fake, written from
the formulas) and on a variant with two planted bugs (tests/fixtures/openai_bugged)."""

from __future__ import annotations

import pathlib
import sys

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
pytestmark = pytest.mark.torch

from numerics.errors import InvalidParameter  # noqa: E402
from proofs_check.cli import main  # noqa: E402
from proofs_check.interop import openai  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def fails(report):
    return [(r.quantity, r.where) for r in report.results if r.status == "FAIL"]


def test_faithful_fake_passes_except_the_documented_cancellation():
    rep = openai.check(FIXTURES / "openai_fake", dps=30)
    # the only FAIL: -1 - Delta + e^Delta cancels for nearly equal Gaussians (the textbook form
    # that iDDPM uses); everything else passes or is a documented convention (WARN)
    assert [q for q, w in fails(rep)] == ["normal_kl (log-variance form)"]
    assert "nearly equal" in fails(rep)[0][1]
    warn = {r.quantity for r in rep.results if r.status == "WARN"}
    assert "posterior_log_variance_clipped[0]" in warn
    assert "discretized_gaussian_log_likelihood" in warn  # tanh approximation of Phi
    assert "improved_diffusion" not in sys.modules


def test_bugged_fake_fails_the_planted_bugs():
    rep = openai.check(FIXTURES / "openai_bugged", dps=30)
    failed = {q for q, _ in fails(rep)}
    assert "posterior_mean_coef1" in failed
    assert "discretized_gaussian_log_likelihood" in failed
    assert "discretized_gaussian_log_likelihood [impl-faithful]" in failed
    untouched = {r.quantity: r.status for r in rep.results if "linear T=1000" in r.where}
    assert untouched["alphas_cumprod"] == "PASS" and untouched["posterior_mean_coef2"] == "PASS"
    assert "guided_diffusion" not in sys.modules


def test_bad_paths(tmp_path, capsys):
    with pytest.raises(InvalidParameter):
        openai.check(tmp_path)
    with pytest.raises(InvalidParameter):
        openai.check(None)
    assert main(["check", "openai", str(tmp_path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
