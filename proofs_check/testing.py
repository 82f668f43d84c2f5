"""Reference checks inside another project's test suite.

>>> from proofs_check.testing import assert_matches_reference
>>> assert_matches_reference("alphas_cumprod", my_scheduler.alphas_cumprod,
...                          schedule="linear", T=1000, dtype="float32")   # doctest: +SKIP

raises AssertionError naming the worst index, its value, the exact value, the error in ulps and
the tolerance (derived from the dtype and the conditioning, see proofs_check/interop/common.py),
and returns the results when every entry is within tolerance.  A documented convention (the
t = 0 entries of the posterior variance and its log) is a WARN, which passes unless
``strict=True``.  :func:`check_target` runs every check of a target (as ``diffusion-proofs check``
does) and returns the report; :func:`assert_target_passes` asserts that nothing FAILs.
"""

from __future__ import annotations

import numpy as np

from numerics.errors import InvalidParameter
from proofs_check.interop.common import FAIL, WARN, Report, Result, to_float64
from proofs_check.interop.tables import TABLE_CHECKS, ExactSchedule, check_tables, check_timesteps

__all__ = ["assert_matches_reference", "assert_target_passes", "check_reference", "check_target"]

DTYPES = ("float16", "bfloat16", "float32", "float64")
SCHEDULES = ("linear", "scaled_linear", "cosine", "sigmoid", "openai_linear", "given")


def check_reference(name: str, values, *, schedule: str = "linear", T: int | None = None,
                    beta_start="0.0001", beta_end="0.02", rescale_zero_snr: bool = False,
                    dtype: str = "float32", betas=None, timestep_spacing: str | None = None,
                    steps_offset: int = 0, float64_betas: bool = False, dps: int = 50) -> list[Result]:
    """Compare one named table (or ``timesteps``) with its exact value; returns the results.

    ``name``: a table name of :data:`TABLE_CHECKS` or ``"timesteps"``; ``values``: array-like
    (numpy, torch, list); ``schedule``: the schedule the values claim to implement (``given``
    takes ``betas`` as exact); ``dtype``: the precision the values were computed in;
    ``float64_betas``: the betas were computed in float64 then cast (diffusers' cosine).
    """
    if name != "timesteps" and name not in TABLE_CHECKS:
        raise InvalidParameter("name", name, "'timesteps' or one of " + ", ".join(TABLE_CHECKS))
    if dtype not in DTYPES:
        raise InvalidParameter("dtype", dtype, "one of " + ", ".join(DTYPES))
    if schedule not in SCHEDULES:
        raise InvalidParameter("schedule", schedule, "one of " + ", ".join(SCHEDULES))
    try:
        vals = to_float64(values)
    except (TypeError, ValueError):
        raise InvalidParameter("values", type(values).__name__, "an array of numbers") from None
    if vals.size == 0 or not np.all(np.isfinite(vals)):
        raise InvalidParameter("values", "<array>", "a non-empty array of finite numbers")
    if name == "timesteps":
        if timestep_spacing is None or T is None:
            raise InvalidParameter("timestep_spacing", timestep_spacing,
                                   "leading, trailing or linspace, with T, to check timesteps")
        return [check_timesteps(vals, timestep_spacing, int(T), int(vals.size), steps_offset,
                                f"{timestep_spacing} T={T}")]
    T = int(vals.size) if T is None else T
    given = None
    if schedule == "given":
        if betas is None:
            raise InvalidParameter("betas", None, "the betas of the chain when schedule='given'")
        given = [float(b) for b in to_float64(betas)]
    exs = ExactSchedule(schedule, T, beta_start, beta_end, zero_snr=rescale_zero_snr, dps=dps,
                        float64_betas=float64_betas, given=given)
    return check_tables({name: vals}, exs, dtype=dtype, where=f"{schedule} T={T} {dtype}")


def assert_matches_reference(name: str, values, *, strict: bool = False, **kwargs) -> list[Result]:
    """:func:`check_reference`, raising AssertionError on a FAIL (and on a WARN when strict)."""
    results = check_reference(name, values, **kwargs)
    bad = [r for r in results if r.status == FAIL or (strict and r.status == WARN)]
    if bad:
        lines = [f"{r.status} {r.check} {r.quantity} ({r.where}): worst {r.worst}, max rel err "
                 f"{r.max_rel_err}, max ulps {r.max_ulps}, tolerance {r.tolerance}: {r.explanation}"
                 for r in bad]
        raise AssertionError("\n".join(lines))
    return results


def check_target(target: str, path=None, *, dps: int = 50, seed: int = 0) -> Report:
    """Every check of a target (``diffusers``, ``torch``, ``k-diffusion``, ``openai``,
    ``score_sde``, ``arrays``), as ``diffusion-proofs check`` runs them."""
    from proofs_check.check_cmd import run_target

    return run_target(target, path, dps=dps, seed=seed, quiet=True)


def assert_target_passes(target: str, path=None, **kwargs) -> Report:
    report = check_target(target, path, **kwargs)
    failed = [r for r in report.results if r.status == FAIL]
    if failed:
        raise AssertionError("\n".join(f"FAIL {r.check} {r.quantity} @ {r.where}: {r.explanation}"
                                       for r in failed))
    return report
