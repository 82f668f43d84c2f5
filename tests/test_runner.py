"""The runner's semantics on small hand-made entries: statuses are honest, mutants have teeth."""

from __future__ import annotations

import time

import pytest

from proofs_check.catalog import Check, Context, Entry, Mutant, Outcome, Ref, Status, register
from proofs_check.errors import CatalogError
from proofs_check.runner import run, run_entry

SOURCE = Ref("T0", "test fixture")


def _checks_equal_to(value):
    """Two routes that pass exactly when the claim equals ``value``."""

    def first(claim, ctx):
        return Outcome(Status.PROVED if claim == value else Status.FAIL, f"claim={claim}")

    def second(claim, ctx):
        return Outcome(Status.CONFIRMED if claim == value else Status.FAIL, f"claim={claim}",
                       counterexample=None if claim == value else {"claim": claim})

    return (Check("symbolic", first), Check("numeric", second))


def _entry(claim=4, mutants=(Mutant("five", "off by one", 5),), checks=None, **kw):
    return Entry(id=kw.pop("id", "toy.two_plus_two"), title="2 + 2 = 4", kind="identity",
                 statement="2 + 2 = 4", source=SOURCE, claim=claim,
                 checks=checks or _checks_equal_to(4), mutants=mutants, **kw)


def test_true_claim_with_rejected_mutant_is_proved():
    result = run_entry(_entry())
    assert result.status is Status.PROVED
    assert [c.status for c in result.checks] == [Status.PROVED, Status.CONFIRMED]
    (mutant,) = result.mutants
    assert mutant.status is Status.REJECTED
    assert mutant.counterexample == {"claim": 5}


def test_mutant_accepted_by_one_route_fails_the_entry():
    def lax(claim, ctx):  # a route without teeth: accepts anything
        return Outcome(Status.CONFIRMED, "always")

    checks = (_checks_equal_to(4)[0], Check("numeric", lax))
    result = run_entry(_entry(checks=checks))
    assert result.mutants[0].status is Status.FAIL
    assert "numeric" in result.mutants[0].metric
    assert result.status is Status.FAIL


def test_false_claim_fails():
    assert run_entry(_entry(claim=5, mutants=(Mutant("four", "the truth", 4),))).status is Status.FAIL


def test_exception_in_a_check_is_a_failure_naming_it():
    def broken(claim, ctx):
        raise ZeroDivisionError("boom")

    result = run_entry(_entry(checks=(_checks_equal_to(4)[0], Check("numeric", broken))))
    assert result.checks[1].status is Status.FAIL
    assert "ZeroDivisionError" in result.checks[1].metric
    assert result.status is Status.FAIL


def test_a_route_that_crashes_on_a_mutant_does_not_count_as_rejecting_it():
    def crashes_on_mutants(claim, ctx):
        if claim != 4:
            raise ValueError("cannot evaluate")
        return Outcome(Status.CONFIRMED, "ok")

    result = run_entry(_entry(checks=(_checks_equal_to(4)[0], Check("numeric", crashes_on_mutants))))
    (mutant,) = result.mutants
    assert mutant.status is Status.INCONCLUSIVE
    assert not result.checks[1].errored
    assert result.status is Status.PROVED


def test_budget_hit_is_inconclusive_and_stops_on_time():
    def slow(claim, ctx):
        while True:
            pass

    checks = (_checks_equal_to(4)[0], Check("numeric", slow, budget=0.3, on_mutants=False))
    start = time.monotonic()
    result = run_entry(_entry(checks=checks))
    assert time.monotonic() - start < 3
    assert result.checks[1].status is Status.INCONCLUSIVE
    assert "budget" in result.checks[1].metric
    # the symbolic route still proved the claim: the entry keeps the strongest honest status
    assert result.status is Status.PROVED


def test_check_returning_no_outcome_fails():
    checks = (_checks_equal_to(4)[0], Check("numeric", lambda claim, ctx: True))
    assert run_entry(_entry(checks=checks)).checks[1].status is Status.FAIL


def test_summary_counts_and_failed_flag():
    result = run([_entry(), _entry(id="toy.bad", claim=5, mutants=(Mutant("m", "m", 4),))])
    assert result.failed
    assert result.summary["entries"] == 2
    assert result.summary["failed"] == 1
    assert result.summary["check_status"]["REJECTED"] == 1


@pytest.mark.parametrize("change, message", [
    (dict(mutants=()), "mutant"),
    (dict(id="lemma3"), "dotted"),
    (dict(checks=_checks_equal_to(4)[:1]), "two independent"),
])
def test_register_refuses_entries_that_break_house_rules(change, message):
    with pytest.raises(CatalogError, match=message):
        register(_entry(**change))


def test_check_refuses_unknown_route():
    with pytest.raises(ValueError, match="route"):
        Check("vibes", lambda claim, ctx: None)


def test_context_defaults_to_fifty_digits():
    assert Context().dps == 50
