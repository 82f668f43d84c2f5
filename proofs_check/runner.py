"""Run catalog entries: every check on the claim, every applicable check on every mutant.

Each check runs under its own hard time budget (:func:`numerics.budget.run_with_budget`); a
budget hit is INCONCLUSIVE, an exception inside a check is a FAIL that names the exception
(an error is never evidence).  A mutant is REJECTED when every route that applies to it fails
it; a route that *accepts* a mutant has no teeth, and the mutant's result is then FAIL, which
fails the entry.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from numerics.budget import run_with_budget
from proofs_check.entry import (
    STRENGTH,
    Check,
    CheckResult,
    Context,
    Entry,
    Mutant,
    Outcome,
    Status,
)

__all__ = ["EntryResult", "RunResult", "run", "run_check", "run_entry", "run_mutant"]


@dataclass
class EntryResult:
    entry: Entry
    checks: list[CheckResult]
    mutants: list[CheckResult]
    status: Status
    seconds: float

    @property
    def all_results(self) -> list[CheckResult]:
        return self.checks + self.mutants

    def to_dict(self) -> dict:
        e = self.entry
        return {
            "id": e.id,
            "kind": e.kind,
            "title": e.title,
            "statement": e.statement,
            "source": str(e.source),
            "source_ref": e.source.to_dict(),
            "assumptions": [{"name": a.name, "description": a.description} for a in e.assumptions],
            "status": self.status.value,
            "seconds": round(self.seconds, 4),
            "checks": [c.to_dict() for c in self.all_results],
        }


@dataclass
class RunResult:
    results: list[EntryResult]
    seconds: float
    context: Context
    summary: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAIL for r in self.results)


def _timed(fn: Callable[[], Outcome], budget: float) -> tuple[Outcome, float, bool]:
    """Run a check; returns (outcome, seconds, errored).  ``errored`` marks a FAIL that comes
    from a defect of the check (an exception, no Outcome), not from evidence."""
    start = time.monotonic()
    try:
        outcome = run_with_budget(fn, budget)
    except Exception as exc:  # an error inside a check is reported, never raised past the runner
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return (
            Outcome(Status.FAIL, f"check raised {type(exc).__name__}",
                    detail=f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"),
            time.monotonic() - start, True,
        )
    seconds = time.monotonic() - start
    if not outcome.finished:
        return Outcome(Status.INCONCLUSIVE, f"time budget of {budget:g} s exhausted"), seconds, False
    value = outcome.value
    if not isinstance(value, Outcome):
        return (Outcome(Status.FAIL, "check returned no Outcome",
                        detail=f"got {type(value).__name__}"), seconds, True)
    return value, seconds, False


def run_check(check: Check, claim: object, ctx: Context) -> CheckResult:
    """Run one route on a claim."""
    outcome, seconds, errored = _timed(lambda: check.run(claim, ctx), check.budget)
    return CheckResult(
        route=check.route,
        status=outcome.status,
        metric=outcome.metric,
        seconds=seconds,
        dps=ctx.dps,
        value=outcome.value,
        detail=outcome.detail,
        counterexample=outcome.counterexample,
        description=check.description,
        extra=outcome.extra,
        errored=errored,
    )


def run_mutant(entry: Entry, mutant: Mutant, ctx: Context) -> CheckResult:
    """Run every applicable route on a mutant; REJECTED only if every one of them fails it."""
    start = time.monotonic()
    verdicts = [(c, run_check(c, mutant.claim, ctx)) for c in entry.checks if c.on_mutants]
    accepted = [(c, r) for c, r in verdicts if r.status.passing]
    # a route that crashed on the mutant has shown no teeth: only evidence counts as rejection
    failed = [(c, r) for c, r in verdicts if r.status is Status.FAIL and not r.errored]
    per_route = "; ".join(f"{c.route}: {r.status.value} ({r.metric})" for c, r in verdicts)
    counterexample = next((r.counterexample for _, r in failed if r.counterexample), None)
    if accepted:
        status = Status.FAIL
        metric = "accepted by " + ", ".join(c.route for c, _ in accepted) + " (a check without teeth)"
    elif verdicts and len(failed) == len(verdicts):
        status = Status.REJECTED
        metric = "rejected by " + ", ".join(c.route for c, _ in verdicts)
    else:
        status = Status.INCONCLUSIVE
        metric = "not rejected by every route"
    return CheckResult(
        route="mutant",
        status=status,
        metric=metric,
        seconds=time.monotonic() - start,
        dps=ctx.dps,
        detail=per_route,
        counterexample=counterexample,
        name=mutant.name,
        description=mutant.description,
    )


def _summarise(checks: list[CheckResult], mutants: list[CheckResult]) -> Status:
    if any(r.status is Status.FAIL for r in checks + mutants):
        return Status.FAIL
    for strong in STRENGTH:
        if any(r.status is strong for r in checks):
            return strong
    if any(r.status is Status.INCONCLUSIVE for r in checks):
        return Status.INCONCLUSIVE
    return Status.SKIP


def run_entry(
    entry: Entry,
    ctx: Optional[Context] = None,
    on_result: Optional[Callable[[Entry, CheckResult], None]] = None,
) -> EntryResult:
    """Run one entry; ``on_result`` is called after each check (for progress output)."""
    ctx = ctx or Context()
    start = time.monotonic()
    checks = []
    for check in entry.checks:
        result = run_check(check, entry.claim, ctx)
        checks.append(result)
        if on_result:
            on_result(entry, result)
    mutants = []
    for mutant in entry.mutants:
        result = run_mutant(entry, mutant, ctx)
        mutants.append(result)
        if on_result:
            on_result(entry, result)
    return EntryResult(entry, checks, mutants, _summarise(checks, mutants),
                       time.monotonic() - start)


def run(
    entries: Iterable[Entry],
    ctx: Optional[Context] = None,
    on_result: Optional[Callable[[Entry, CheckResult], None]] = None,
    on_entry: Optional[Callable[[EntryResult, int, int], None]] = None,
) -> RunResult:
    """Run several entries in order and summarise them."""
    ctx = ctx or Context()
    entries = list(entries)
    start = time.monotonic()
    results = []
    for i, entry in enumerate(entries, 1):
        result = run_entry(entry, ctx, on_result)
        results.append(result)
        if on_entry:
            on_entry(result, i, len(entries))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    checks: dict[str, int] = {}
    for r in results:
        for c in r.all_results:
            checks[c.status.value] = checks.get(c.status.value, 0) + 1
    summary = {
        "entries": len(results),
        "entry_status": counts,
        "check_status": checks,
        "failed": sum(r.status is Status.FAIL for r in results),
        "seconds": round(time.monotonic() - start, 3),
        "dps": ctx.dps,
    }
    return RunResult(results, time.monotonic() - start, ctx, summary)
