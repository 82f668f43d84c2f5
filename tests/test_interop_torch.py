"""The ``torch`` target (RC-21, RC-24); skipped without torch."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
pytestmark = pytest.mark.torch

from proofs_check.interop import torch_kl  # noqa: E402


def test_torch_kl_matches_the_exact_values():
    rep = torch_kl.check(dps=30)
    assert rep.summary()["FAIL"] == 0, [r.explanation for r in rep.results if r.status == "FAIL"]
    quantities = {r.quantity for r in rep.results}
    assert "kl_divergence(Normal, Normal)" in quantities
    assert "kl_divergence(MultivariateNormal, MultivariateNormal)" in quantities
    assert any(q.startswith("F.kl_div reduction='batchmean'") for q in quantities)


def test_a_wrong_normal_kl_fails(monkeypatch):
    import torch.distributions as D

    real = D.kl_divergence

    def half_missing(p, q):  # a plausible bug: the factor 1/2 dropped
        return 2 * real(p, q)

    monkeypatch.setattr(D, "kl_divergence", half_missing)
    rep = torch_kl.check(dps=30)
    failed = {r.quantity for r in rep.results if r.status == "FAIL"}
    assert "kl_divergence(Normal, Normal)" in failed
    assert "kl_divergence(MultivariateNormal, MultivariateNormal)" in failed


def test_a_wrong_kl_div_reduction_fails(monkeypatch):
    import torch.nn.functional as F

    real = F.kl_div

    def mean_for_batchmean(inp, target, reduction="mean", log_target=False):
        if reduction == "batchmean":  # a plausible bug: batchmean divides by numel
            reduction = "mean"
        return real(inp, target, reduction=reduction, log_target=log_target)

    monkeypatch.setattr(F, "kl_div", mean_for_batchmean)
    rep = torch_kl.check(dps=30)
    st = {r.quantity: r.status for r in rep.results}
    assert st["F.kl_div reduction='batchmean'"] == "FAIL"
    assert st["F.kl_div reduction='sum'"] == "PASS"
