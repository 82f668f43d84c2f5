"""Every catalog entry, run as `diffusion-proofs verify` runs it, parametrised by id.

For each entry: no check fails, every mutant is REJECTED by every route that applies to it
(so every check has shown its teeth), and identity entries are PROVED by a symbolic route and
CONFIRMED or CERTIFIED by an independent numeric route.
"""

from __future__ import annotations

import pytest

from proofs_check.catalog import Status, all_entries

ENTRIES = all_entries()
NUMERIC_ROUTES = ("numeric", "certified", "exact")


def test_catalog_is_populated_across_topics():
    topics = {e.topic for e in ENTRIES}
    assert len(ENTRIES) >= 20, f"only {len(ENTRIES)} entries registered"
    assert {"gaussian", "ddpm", "tweedie", "fokker_planck"} <= topics


def test_ids_are_unique_and_sources_named():
    ids = [e.id for e in ENTRIES]
    assert len(ids) == len(set(ids))
    for e in ENTRIES:
        assert e.problems() == [], e.id


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_entry_passes_and_its_mutants_are_rejected(entry, verified):
    result = verified(entry.id)
    report = "\n".join(f"{c.route}:{c.name} {c.status.value} {c.metric} {c.detail}"
                       for c in result.all_results)
    assert result.status is not Status.FAIL, report
    assert result.status.passing, report
    assert result.mutants, "an entry without mutants has checks that cannot be shown to fail"
    for mutant in result.mutants:
        # REJECTED: every route failed it on evidence (a route that raised does not count),
        # and the report shows where
        assert mutant.status is Status.REJECTED, report
        assert mutant.counterexample, f"{mutant.name}: rejected without a counterexample"
    if entry.kind == "identity":
        statuses = {(c.route, c.status) for c in result.checks}
        assert ("symbolic", Status.PROVED) in statuses or ("proof", Status.PROVED) in statuses, report
        assert any(route in NUMERIC_ROUTES and status in (Status.CONFIRMED, Status.CERTIFIED)
                   for route, status in statuses), report
