"""The catalog's data model: what a statement is, how it is checked, what a check returns.

An :class:`Entry` binds one statement of the notes to its *claim* (the formulas as stated), its
*checks* (independent routes, each a function ``run(claim, ctx) -> Outcome``) and its *mutants*
(plausible wrong variants of the claim).  The runner runs every check on the claim and on every
mutant: the claim must pass, every mutant must be rejected by every route that applies to it.

Statuses are honest and ordered, strongest first (DESIGN.md):

PROVED        a symbolic canonical form or a decision procedure closed the claim on its domain
CERTIFIED     rigorous enclosures (Arb balls, branch and bound) establish it where stated
CONFIRMED     high-precision numeric or property evidence
FAIL          a check found the claim false (or a mutant was accepted: a check without teeth)
INCONCLUSIVE  a time budget was hit, the simplifier gave up, the solver said unknown
SKIP          not run, with a reason
REJECTED      (mutants only) every route rejected the wrong variant, as it must
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping, Optional

__all__ = [
    "Assumption",
    "Check",
    "CheckResult",
    "Context",
    "Entry",
    "KINDS",
    "Mutant",
    "Outcome",
    "Ref",
    "ROUTES",
    "Status",
]


class Status(str, Enum):
    PROVED = "PROVED"
    CERTIFIED = "CERTIFIED"
    CONFIRMED = "CONFIRMED"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    SKIP = "SKIP"
    REJECTED = "REJECTED"

    def __str__(self) -> str:  # print as the bare word
        return self.value

    @property
    def passing(self) -> bool:
        """True for the statuses that count as evidence *for* a claim."""
        return self in (Status.PROVED, Status.CERTIFIED, Status.CONFIRMED)


#: Evidence strength, strongest first (used to summarise an entry).
STRENGTH = (Status.PROVED, Status.CERTIFIED, Status.CONFIRMED)

KINDS = ("identity", "estimate", "theorem", "algorithm")

#: Names a check's route may take; reports group by them.
ROUTES = (
    "symbolic",   # sympy reduces lhs - rhs to 0
    "numeric",    # mpmath at dps digits by a route independent of the closed form
    "certified",  # Arb ball arithmetic
    "exact",      # exact rational arithmetic on a finite instance
    "property",   # hypothesis / drawn parameters: margin of a bound
    "sharpness",  # largest lhs/rhs, or the value at a declared equality case
    "rate",       # fitted slope against a declared order
    "teeth",      # dropping one assumption yields a counterexample
    "proof",      # z3 or branch-and-bound over the whole domain
    "mutant",     # a wrong variant, rejected by every route
)

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Ref:
    """Where a statement comes from.

    ``catalog`` is the item of ``shared/catalog.md`` (e.g. ``"M3.2"``); ``notes`` the place in
    the lecture notes; ``literature`` bib-style keys of the original sources.
    """

    catalog: str
    notes: str
    literature: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [self.catalog, self.notes]
        if self.literature:
            parts.append(", ".join(self.literature))
        return "; ".join(p for p in parts if p)

    def to_dict(self) -> dict:
        return {"catalog": self.catalog, "notes": self.notes, "literature": list(self.literature)}


@dataclass(frozen=True)
class Assumption:
    """A named hypothesis.  ``predicate`` (optional) tests a parameter point against it."""

    name: str
    description: str
    predicate: Optional[Callable[[Mapping[str, Any]], bool]] = None

    def holds(self, params: Mapping[str, Any]) -> bool:
        return True if self.predicate is None else bool(self.predicate(params))


@dataclass(frozen=True)
class Context:
    """What every check receives: the working precision and the seed for drawn points."""

    dps: int = 50
    seed: int = 0
    #: Multiplies the number of drawn points / examples (``verify --thorough`` raises it).
    effort: float = 1.0


@dataclass(frozen=True)
class Outcome:
    """What a check function returns; the runner adds the route, timing and precision.

    ``metric`` is the one-line human summary (e.g. ``"max rel err 3e-58 at 16 points"``);
    ``value`` the number behind it where there is one; ``counterexample`` a JSON-ready dict
    when the check found the claim false; ``extra`` JSON-ready data for reports (tables).
    """

    status: Status
    metric: str
    value: Optional[float] = None
    detail: str = ""
    counterexample: Optional[dict] = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One route: ``run(claim, ctx) -> Outcome`` within ``budget`` seconds.

    ``on_mutants`` says whether this route is also run on the mutants (a route that does not
    read the claim, e.g. a rate fit of the true dynamics, cannot judge a mutant).
    """

    route: str
    run: Callable[[Any, Context], Outcome]
    description: str = ""
    budget: float = 30.0
    on_mutants: bool = True

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"route={self.route!r} is invalid: expected one of {', '.join(ROUTES)}")


@dataclass(frozen=True)
class Mutant:
    """A plausible wrong variant of the claim, which the entry's checks must reject."""

    name: str
    description: str
    claim: Any


@dataclass(frozen=True)
class CheckResult:
    """A check's result as reported: the route, the status and the evidence behind it."""

    route: str
    status: Status
    metric: str
    seconds: float
    dps: Optional[int]
    value: Optional[float] = None
    detail: str = ""
    counterexample: Optional[dict] = None
    name: str = ""
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: True when the FAIL comes from a defect of the check (it raised), not from evidence.
    errored: bool = False

    def to_dict(self) -> dict:
        out = {
            "route": self.route,
            "status": self.status.value,
            "metric": self.metric,
            "seconds": round(self.seconds, 4),
            "dps": self.dps,
        }
        if self.name:
            out["name"] = self.name
        if self.description:
            out["description"] = self.description
        if self.value is not None:
            out["value"] = self.value
        if self.detail:
            out["detail"] = self.detail
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample
        if self.extra:
            out["extra"] = dict(self.extra)
        if self.errored:
            out["errored"] = True
        return out


@dataclass(frozen=True)
class Entry:
    """One statement of the notes, registered in the catalog.

    ``id`` is dotted and names the conclusion (``ddpm.posterior_variance``); ``statement`` is
    one LaTeX line; ``claim`` is whatever the entry's checks read (for identities, a mapping of
    formula names to sympy expressions as stated in the notes).
    """

    id: str
    title: str
    kind: str
    statement: str
    source: Ref
    claim: Any
    checks: tuple[Check, ...]
    mutants: tuple[Mutant, ...]
    assumptions: tuple[Assumption, ...] = ()
    notes: str = ""

    @property
    def topic(self) -> str:
        return self.id.split(".", 1)[0]

    def problems(self) -> list[str]:
        """What makes this entry invalid under the house rules (empty when it is valid)."""
        out = []
        if not _ID.match(self.id):
            out.append(f"id {self.id!r} must be dotted lower_snake_case naming the conclusion")
        if self.kind not in KINDS:
            out.append(f"kind {self.kind!r} must be one of {', '.join(KINDS)}")
        if not self.title.strip():
            out.append("title is empty")
        if not self.statement.strip():
            out.append("statement is empty")
        if not (self.source.catalog.strip() and self.source.notes.strip()):
            out.append("source must name the catalog item and the place in the notes")
        if len(self.checks) < 2:
            out.append("needs at least two independent checks")
        if not self.mutants:
            out.append("needs at least one mutant (a check that cannot fail is a defect)")
        if self.mutants and not any(c.on_mutants for c in self.checks):
            out.append("has mutants but no check that runs on them")
        names = [m.name for m in self.mutants]
        if len(set(names)) != len(names):
            out.append("mutant names must be unique")
        return out
