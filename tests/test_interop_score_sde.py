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
    assert {"RC-19", "RC-20"} <= {r.check for r in rep.results}
    # the continuous and discrete VP schedules differ by O(1/N): reported, not failed
    assert any(r.status == "WARN" and "O(1/N)" in r.explanation for r in rep.results)
    assert "sde_lib" not in sys.modules


def test_bugged_fake_fails_the_subvp_std():
    rep = score_sde.check(FIXTURES / "score_sde_bugged", dps=30)
    failed = [(r.quantity, r.where) for r in rep.results if r.status == "FAIL"]
    assert failed == [("marginal_prob std", "subVPSDE(beta_min=0.1, beta_max=20), t in [1e-5, 1], float32")]


def test_bad_path(tmp_path):
    with pytest.raises(InvalidParameter):
        score_sde.check(tmp_path)
