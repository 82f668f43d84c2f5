"""Shared test configuration: hypothesis profiles and the precision guard.

Profiles (choose with the environment variable HYPOTHESIS_PROFILE):

* ``ci`` (default): derandomised, no example database, 60 examples per test: fast and
  reproducible, for CI and everyday runs.
* ``thorough``: 10,000 examples per test, randomised: long local runs before a release.

Tests do not set ``max_examples`` themselves, so the profile decides; mpmath bodies use
``deadline=None`` because high-precision evaluation times vary.
"""

from __future__ import annotations

import os

import mpmath
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=10_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def verified():
    """``verified(entry_id, dps=50)``: the entry's EntryResult, run once per test process.

    test_catalog and the topic tests assert different things about the same runs; the checks
    are deterministic (seeded), so one run serves them all.
    """
    from proofs_check.catalog import Context, get
    from proofs_check.runner import run_entry

    cache: dict = {}

    def run(entry_id: str, dps: int = 50):
        if (entry_id, dps) not in cache:
            cache[entry_id, dps] = run_entry(get(entry_id), Context(dps=dps))
        return cache[entry_id, dps]

    return run


@pytest.fixture(autouse=True)
def mpmath_precision_unchanged():
    """Every test must leave mpmath's global precision as it found it."""
    before = (mpmath.mp.prec, mpmath.mp.dps)
    yield
    after = (mpmath.mp.prec, mpmath.mp.dps)
    assert after == before, f"mpmath precision changed by the test: {before} -> {after}"
