"""The ``diffusers`` target; skipped without diffusers (and torch).

The findings are checked by an independent hand computation (not by re-reading the report):
a FAIL must be a value the scheduler really returns and the exact formula really contradicts.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
diffusers = pytest.importorskip("diffusers", reason="diffusers is not installed (pip install diffusers)")
pytestmark = [pytest.mark.torch, pytest.mark.diffusers]

import torch  # noqa: E402

from proofs_check.interop import diffusers as dd  # noqa: E402
from proofs_check.interop.common import RunContext  # noqa: E402
from proofs_check.testing import check_reference  # noqa: E402


@pytest.fixture(scope="module")
def report():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dd.check(dps=30)


def test_every_check_ran(report):
    crashed = [r for r in report.results if r.check == "-"]
    assert not crashed, [r.explanation for r in crashed]
    ids = {r.check for r in report.results}
    for cid in ("RC-01", "RC-02", "RC-03", "RC-04", "RC-05", "RC-06", "RC-07", "RC-08", "RC-09", "RC-10",
                "RC-11", "RC-12", "RC-13", "RC-14", "RC-16", "RC-17", "RC-18"):
        assert cid in ids, cid
    doc = json.loads(report.render("json"))
    assert doc["target"] == "diffusers" and len(doc["results"]) == len(report.results)
    assert all(r.explanation for r in report.results)


def test_tables_of_the_default_config_pass():
    sch = diffusers.DDPMScheduler()
    for name in ("betas", "alphas_cumprod"):
        res = check_reference(name, getattr(sch, name), schedule="linear", T=1000, dtype="float32")
        assert [r.status for r in res] == ["PASS"]


def test_each_fail_is_confirmed_by_hand(report):
    """Every FAIL of the installed version is re-derived here from the scheduler's own tables."""
    for r in (r for r in report.results if r.status == "FAIL"):
        if r.quantity.startswith("get_velocity") and r.where.startswith("EulerDiscreteScheduler"):
            sch = diffusers.EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085,
                                                   beta_end=0.012, timestep_spacing="leading", steps_offset=1)
            sch.set_timesteps(50)
            t = sch.timesteps[:1]
            x0, eps = torch.ones(1, 1), torch.zeros(1, 1)
            ab = sch.alphas_cumprod[int(t[0])]
            want = -float(torch.sqrt(1 - ab))  # v = a eps - s x0 with the named timestep's alpha_bar
            assert abs(float(sch.get_velocity(x0, eps, t)) - want) > 1e-3
        elif r.quantity.startswith("add_noise") and r.where.startswith("DPMSolverMultistepScheduler"):
            dpm, ddpm = diffusers.DPMSolverMultistepScheduler(), diffusers.DDPMScheduler()
            x0, eps, t = torch.ones(1, 1), torch.zeros(1, 1), torch.tensor([0])
            # x_0 at t = 0 must keep almost all of x0: sqrt(alpha_bar_0) = 0.99995
            assert float(ddpm.add_noise(x0, eps, t)) > 0.999
            assert float(dpm.add_noise(x0, eps, t)) < 0.5
        else:
            pytest.fail(f"an unexpected FAIL to confirm by hand: {r.quantity} @ {r.where}: {r.explanation}")


def test_ddim_previous_timestep_is_a_convention_not_a_fail(report):
    rows = [r for r in report.results if r.check == "RC-10" and "DDIMScheduler trailing offset=0 N=7" in r.where]
    assert rows and rows[0].status == "WARN" and "t - T//N" in rows[0].explanation
    # by hand: DDIM at t = 999 with trailing N = 7 moves to alpha_bar[999 - 142] = alpha_bar[857]
    sch = diffusers.DDIMScheduler(timestep_spacing="trailing", prediction_type="sample", clip_sample=False)
    sch.set_timesteps(7)
    assert [int(t) for t in sch.timesteps[:2]] == [999, 856]
    a = float(sch.alphas_cumprod[999]) ** 0.5
    y = float(sch.step(torch.ones(1, 1), 999, torch.full((1, 1), a)).prev_sample)
    assert abs(y - float(sch.alphas_cumprod[857]) ** 0.5) < abs(y - float(sch.alphas_cumprod[856]) ** 0.5)


def test_a_planted_table_bug_fails():
    sch = diffusers.DDPMScheduler(beta_schedule="squaredcos_cap_v2")
    ab = sch.alphas_cumprod.numpy().astype(np.float64)
    shifted = np.append(1.0, ab[:-1])  # alpha_bar_{t-1}: the index convention of the paper, not the code
    res = check_reference("alphas_cumprod", shifted, schedule="cosine", T=1000, dtype="float32",
                          float64_betas=True)
    assert res[0].status == "FAIL"
    res = check_reference("alphas_cumprod", ab, schedule="cosine", T=1000, dtype="float32", float64_betas=True)
    assert res[0].status == "PASS"


def test_convergence_orders_measured():
    from proofs_check.interop import ode

    rows = ode.check_diffusers(RunContext(dps=30))
    assert [r.status for r in rows] == ["PASS", "PASS", "PASS"]
    # teeth: a first-order error sequence claimed second order fails
    bad = ode.order_result("RC-17", "fake", "w", ode.NS, [1 / n for n in ode.NS], 2, floor=1e-16)
    assert bad.status == "FAIL"
