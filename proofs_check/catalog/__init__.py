"""The catalog: every statement of the notes as a registered :class:`Entry`.

Topic modules (``proofs_check/catalog/<topic>.py``, one per mathematical topic, named like
``identities/<topic>.py`` and ``numerics/<topic>.py``) call :func:`register` at import.  They
are discovered automatically, so adding a topic needs no edit here.

The data model lives in :mod:`proofs_check.entry` (a module cannot be named
``proofs_check/catalog.py`` next to this package) and is re-exported here, so topic modules
write ``from proofs_check.catalog import Entry, Ref, register``.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
from typing import Iterable

from proofs_check.entry import (
    Assumption,
    Check,
    CheckResult,
    Context,
    Entry,
    KINDS,
    Mutant,
    Outcome,
    Ref,
    ROUTES,
    Status,
)
from proofs_check.errors import CatalogError, UnknownEntry

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
    "all_entries",
    "get",
    "register",
    "select",
    "topics",
]

_REGISTRY: dict[str, Entry] = {}
_loaded = False


def register(entry: Entry) -> Entry:
    """Add an entry; raise :class:`CatalogError` if it breaks a house rule or reuses an id."""
    problems = entry.problems()
    if entry.id in _REGISTRY and _REGISTRY[entry.id] is not entry:
        problems.append(f"id {entry.id!r} is already registered")
    if problems:
        raise CatalogError(f"catalog entry {entry.id!r}: " + "; ".join(problems))
    _REGISTRY[entry.id] = entry
    return entry


def topics() -> list[str]:
    """Names of the topic modules in this package."""
    return sorted(
        info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for name in topics():
        importlib.import_module(f"{__name__}.{name}")
    _loaded = True


def all_entries() -> list[Entry]:
    """Every registered entry, grouped by topic in registration order."""
    _load()
    order = {name: i for i, name in enumerate(topics())}
    return sorted(_REGISTRY.values(), key=lambda e: order.get(e.topic, len(order)))


def get(entry_id: str) -> Entry:
    """The entry with this id; :class:`UnknownEntry` (with suggestions) if there is none."""
    _load()
    try:
        return _REGISTRY[entry_id]
    except KeyError:
        close = difflib.get_close_matches(entry_id, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "run 'diffusion-proofs list'"
        raise UnknownEntry("id", entry_id, "the id of a catalog entry", hint=hint) from None


def select(patterns: Iterable[str] = ()) -> list[Entry]:
    """Entries matching any of the ids or shell-style globs (``ddpm.*``); all when empty.

    A pattern that matches nothing raises :class:`UnknownEntry`: a typo must not silently
    verify nothing.  A bare topic name (``ddpm``) selects the whole topic.
    """
    entries = all_entries()
    patterns = list(patterns)
    if not patterns:
        return entries
    chosen: dict[str, Entry] = {}
    for pattern in patterns:
        hits = [
            e for e in entries
            if fnmatch.fnmatchcase(e.id, pattern) or e.topic == pattern
        ]
        if not hits:
            close = difflib.get_close_matches(pattern, [e.id for e in entries], n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else "run 'diffusion-proofs list'"
            raise UnknownEntry("pattern", pattern, "an entry id, a topic or a glob such as 'ddpm.*'",
                               hint=hint)
        for e in hits:
            chosen.setdefault(e.id, e)
    return [e for e in entries if e.id in chosen]
