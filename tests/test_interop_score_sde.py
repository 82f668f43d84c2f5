"""The ``score_sde PATH`` adapter on a minimal fake checkout (tests/fixtures/score_sde_fake, written
from the formulas) and on a variant with a planted bug (tests/fixtures/score_sde_bugged)."""

from __future__ import annotations

import pathlib
import sys

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
pytestmark = pytest.mark.torch

from numerics.errors import InvalidParameter  # noqa: E402
from proofs_check.interop import score_sde  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def test_faithful_fake_passes():
    rep = score_sde.check(FIXTURES / "score_sde_fake", dps=30)
    assert rep.summary()["FAIL"] == 0, [r.explanation for r in rep.results if r.status == "FAIL"]
    assert {"RC-19", "RC-20", "RC-25"} <= {r.check for r in rep.results}
    # the bits per dim of Gaussian data: the ODE's error is far inside its tolerance
    rc25 = [r for r in rep.results if r.check == "RC-25"]
    assert len(rc25) == 3 and all(r.status == "PASS" and r.max_rel_err < 1e-4 for r in rc25)
    assert {r.quantity for r in rc25} == {"likelihood_fn bpd (offset 7)", "likelihood_fn bpd (offset 8)"}
    # the continuous and discrete VP schedules differ by O(1/N): reported, not failed
    assert any(r.status == "WARN" and "O(1/N)" in r.explanation for r in rep.results)
    assert "sde_lib" not in sys.modules


def test_bugged_fake_fails_the_subvp_std_and_the_likelihood_sign():
    rep = score_sde.check(FIXTURES / "score_sde_bugged", dps=30)
    failed = [(r.check, r.quantity, r.where) for r in rep.results if r.status == "FAIL"]
    assert failed[0] == ("RC-19", "marginal_prob std",
                         "subVPSDE(beta_min=0.1, beta_max=20), t in [1e-5, 1], float32")
    # delta_logp with the wrong sign: every likelihood row, VP and VE, both offsets
    assert [c for c, _, _ in failed[1:]] == ["RC-25"] * 3
    assert "sde_lib" not in sys.modules and "likelihood" not in sys.modules


def test_checkout_without_likelihood_is_reported_not_failed(tmp_path):
    (tmp_path / "sde_lib.py").write_text((FIXTURES / "score_sde_fake" / "sde_lib.py").read_text())
    rep = score_sde.check(tmp_path, dps=30)
    row = [r for r in rep.results if r.check == "RC-25"]
    assert len(row) == 1 and row[0].status == "WARN" and "not importable" in row[0].explanation
    assert rep.summary()["FAIL"] == 0


def test_bad_path(tmp_path):
    with pytest.raises(InvalidParameter):
        score_sde.check(tmp_path)
