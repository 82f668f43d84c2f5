"""The ``k-diffusion`` target (sampling.py / external.py loaded by path); skipped when torch or the
sampling module's own imports (torchdiffeq, torchsde, tqdm, the wheel) are absent."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
for _mod in ("torchdiffeq", "torchsde", "tqdm"):
    pytest.importorskip(_mod, reason=f"{_mod} is not installed (pip install torchdiffeq torchsde tqdm)")
pytestmark = pytest.mark.torch

from numerics.errors import InvalidParameter  # noqa: E402
from proofs_check.interop import kdiffusion as kd  # noqa: E402
from proofs_check.interop.common import RunContext  # noqa: E402


@pytest.fixture(scope="module")
def modules():
    try:
        pkg = kd.find_package()
    except InvalidParameter:
        pytest.skip("k-diffusion is not installed (pip install k-diffusion --no-deps)")
    return kd.load(pkg)


def test_loading_by_path_leaves_sys_modules_clean(modules):
    assert "k_diffusion" not in sys.modules or not hasattr(sys.modules["k_diffusion"], "utils") \
        or sys.modules["k_diffusion"].utils is not modules["sampling"].utils
    assert hasattr(modules["sampling"], "get_sigmas_karras")


def test_kdiffusion_passes_every_check(modules):
    rep = kd.check(dps=30)
    assert rep.summary()["FAIL"] == 0, [r.explanation for r in rep.results if r.status == "FAIL"]
    ids = {r.check for r in rep.results}
    assert {"RC-14", "RC-15", "RC-16", "RC-17", "RC-18"} <= ids


def test_a_wrong_ancestral_step_fails(modules, monkeypatch):
    sampling = modules["sampling"]
    real = sampling.get_ancestral_step

    def no_cap(sigma_from, sigma_to, eta=1.0):  # a plausible bug: sigma_up without min(sigma_to, .)
        d, u = real(sigma_from, sigma_to, eta)
        if eta:
            u = eta * (sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2) ** 0.5
            d = (abs(sigma_to ** 2 - u ** 2)) ** 0.5
        return d, u

    monkeypatch.setattr(sampling, "get_ancestral_step", no_cap)
    rows = kd.check_ancestral(sampling, RunContext(dps=30, seed=0))
    st = {r.quantity: r.status for r in rows}
    assert "FAIL" in (st["sigma_up"], st["sigma_up <= sigma_to"], st["sigma_down^2 + sigma_up^2 = sigma_to^2"])


def test_a_wrong_karras_exponent_fails(modules, monkeypatch):
    sampling = modules["sampling"]
    real = sampling.get_sigmas_karras
    monkeypatch.setattr(sampling, "get_sigmas_karras",
                        lambda n, lo, hi, rho=7.0, device="cpu": real(n, lo, hi, rho=rho + 1, device=device))
    rows = kd.check_sigmas(sampling, RunContext(dps=30))
    assert any(r.status == "FAIL" for r in rows if r.quantity == "karras sigmas")


def test_bad_path_is_invalid_parameter(tmp_path):
    with pytest.raises(InvalidParameter):
        kd.find_package(tmp_path)
