"""Reports of a verification run (text, markdown, JSON) and atomic file output.

JSON schema (``diffusion-proofs verify --format json``)::

    {
      "entries": [
        {"id", "kind", "title", "statement", "source", "source_ref", "assumptions",
         "status", "seconds",
         "checks": [{"route", "status", "metric", "seconds", "dps",
                     optional "name", "description", "value", "detail",
                     "counterexample", "extra"}]}
      ],
      "summary": {"entries", "entry_status", "check_status", "failed", "seconds", "dps"},
      "versions": {"diffusion-proofs", "python", "sympy", "mpmath", ...}
    }

Mutants appear among an entry's checks with ``"route": "mutant"``, their ``name`` and status
REJECTED (or FAIL when some route accepted them).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Iterable, Union

from numerics.errors import InvalidParameter
from proofs_check.entry import CheckResult, Entry, Status
from proofs_check.runner import RunResult

__all__ = [
    "check_writable",
    "entry_to_dict",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
    "versions",
    "write_atomic",
]

FORMATS = ("text", "md", "json")


def check_writable(path: Union[str, os.PathLike], name: str = "--output") -> Path:
    """Fail early (before any long run) if ``path`` cannot be written."""
    target = Path(path)
    if str(path).strip() == "":
        raise InvalidParameter(name, str(path), "a file path")
    if target.is_dir():
        raise InvalidParameter(name, str(path), "a file path, not a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidParameter(name, str(path), "a path in an existing directory",
                               hint=f"{parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InvalidParameter(name, str(path), "a writable file path",
                               hint=f"no permission to write in {parent}")
    return target


def write_atomic(path: Union[str, os.PathLike], data: Union[str, bytes],
                 name: str = "--output") -> Path:
    """Write ``data`` to ``path`` atomically: a temp file in the same directory, then rename.

    A reader never sees a half-written report, and an existing file is replaced only once the
    new content is complete on disk.
    """
    target = check_writable(path, name)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                               dir=str(target.parent if str(target.parent) else "."))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise InvalidParameter(name, str(path), "a writable file path", hint=str(exc)) from None
    return target


def versions() -> dict:
    """Versions of the suite and of the tools whose behaviour the results depend on."""
    out = {"python": platform.python_version()}
    for dist in ("diffusion-proofs", "sympy", "mpmath", "numpy", "scipy", "python-flint",
                 "z3-solver", "hypothesis"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def entry_to_dict(entry: Entry) -> dict:
    """An entry's description (for ``list`` and ``show``)."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "title": entry.title,
        "statement": entry.statement,
        "source": str(entry.source),
        "source_ref": entry.source.to_dict(),
        "assumptions": [{"name": a.name, "description": a.description} for a in entry.assumptions],
        "checks": [{"route": c.route, "description": c.description, "budget": c.budget}
                   for c in entry.checks],
        "mutants": [{"name": m.name, "description": m.description} for m in entry.mutants],
        "notes": entry.notes,
    }


def _label(result: CheckResult) -> str:
    return f"mutant:{result.name}" if result.route == "mutant" else result.route


def check_line(entry: Entry, result: CheckResult, id_width: int = 0) -> str:
    """One line per check: status, id, route, metric, seconds, source."""
    return (f"{result.status.value:<12} {entry.id:<{id_width}}  {_label(result):<22} "
            f"{result.metric}  ({result.seconds:.2f}s)  [{entry.source.catalog}]")


def _explain(result: CheckResult) -> list[str]:
    lines = []
    show = result.status is Status.FAIL or (result.route == "mutant" and result.counterexample)
    if result.status in (Status.FAIL, Status.INCONCLUSIVE) and result.detail:
        lines.append(f"    {result.detail}")
    if show and result.counterexample:
        label = "counterexample" if result.route != "mutant" else "rejected at"
        lines.append(f"    {label}: {json.dumps(result.counterexample, default=str)}")
    return lines


def summary_line(run: RunResult) -> str:
    s = run.summary
    entry_counts = ", ".join(f"{n} {k}" for k, n in sorted(s["entry_status"].items()))
    checks = s["check_status"]
    mutants = checks.get("REJECTED", 0)
    return (f"{s['entries']} entries: {entry_counts} | mutants rejected: {mutants} | "
            f"{s['failed']} failed | {run.seconds:.1f} s at {s['dps']} digits")


def render_text(run: RunResult) -> str:
    width = max((len(r.entry.id) for r in run.results), default=0)
    lines = []
    for r in run.results:
        for c in r.all_results:
            lines.append(check_line(r.entry, c, width))
            lines.extend(_explain(c))
    lines.append(summary_line(run))
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(run: RunResult) -> str:
    lines = ["| status | id | route | metric | seconds | source |",
             "|---|---|---|---|---|---|"]
    for r in run.results:
        for c in r.all_results:
            lines.append("| " + " | ".join(_md_cell(x) for x in (
                c.status.value, f"`{r.entry.id}`", _label(c), c.metric, f"{c.seconds:.2f}",
                str(r.entry.source))) + " |")
    lines.append("")
    lines.append(f"**Summary:** {summary_line(run)}")
    return "\n".join(lines) + "\n"


def render_json(run: RunResult) -> str:
    doc = {
        "entries": [r.to_dict() for r in run.results],
        "summary": run.summary,
        "versions": versions(),
    }
    return json.dumps(doc, indent=2, default=str) + "\n"


def render(run: RunResult, fmt: str) -> str:
    if fmt == "text":
        return render_text(run)
    if fmt == "md":
        return render_markdown(run)
    if fmt == "json":
        return render_json(run)
    raise InvalidParameter("--format", fmt, "one of " + ", ".join(FORMATS))


def render_entries(entries: Iterable[Entry], fmt: str, full: bool = False) -> str:
    """``list`` (one line each) and ``show`` (``full=True``) output."""
    entries = list(entries)
    if fmt == "json":
        docs = [entry_to_dict(e) for e in entries]
        return json.dumps(docs[0] if full and len(docs) == 1 else docs, indent=2) + "\n"
    if not full:
        if fmt == "md":
            rows = ["| id | kind | title | source |", "|---|---|---|---|"]
            rows += [f"| `{e.id}` | {e.kind} | {_md_cell(e.title)} | {_md_cell(str(e.source))} |"
                     for e in entries]
            return "\n".join(rows) + "\n"
        width = max((len(e.id) for e in entries), default=0)
        return "".join(f"{e.id:<{width}}  {e.kind:<9} [{e.source.catalog}] {e.title}\n"
                       for e in entries)
    out = []
    for e in entries:
        d = entry_to_dict(e)
        bullet = "- " if fmt == "md" else "  "
        head = f"## `{e.id}`" if fmt == "md" else e.id
        out.append(head)
        out.append(f"{e.title} ({e.kind})")
        out.append(f"statement: {e.statement}")
        out.append(f"source: {e.source}")
        if d["assumptions"]:
            out.append("assumptions:")
            out += [f"{bullet}{a['name']}: {a['description']}" for a in d["assumptions"]]
        out.append("checks:")
        out += [f"{bullet}{c['route']}: {c['description']} (budget {c['budget']:g} s)"
                for c in d["checks"]]
        out.append("mutants (each must be rejected):")
        out += [f"{bullet}{m['name']}: {m['description']}" for m in d["mutants"]]
        if e.notes:
            out.append(f"notes: {e.notes}")
        out.append("")
    return "\n".join(out)
