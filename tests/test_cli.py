"""The command line: output formats, exit codes, one-line errors, atomic output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from proofs_check.catalog import all_entries
from proofs_check.cli import main

FIRST = all_entries()[0].id if all_entries() else None


def run_cli(*args):
    """Run the real command in a subprocess, as a user would."""
    proc = subprocess.run([sys.executable, "-m", "proofs_check", *args],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("args, fragment", [
    (("show", "no.such.id"), "no.such.id"),
    (("verify", "--dps", "0"), "--dps"),
    (("verify", "--dps", "abc"), "abc"),
    (("--dps", "abc", "list"), "abc"),
    (("verify", "--output", "/nonexistent-dir/report.json"), "--output"),
    (("verify", "no_such_topic.*"), "no_such_topic"),
    (("frobnicate",), "frobnicate"),
    (("--format", "csv", "list"), "csv"),
    (("verify", "--format", "npz"), "npz"),
])
def test_bad_usage_prints_one_line_and_exits_2(args, fragment):
    code, out, err = run_cli(*args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_unwritable_output_file_is_refused_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        assert main(["verify", "--output", str(locked / "r.json")]) == 2
    finally:
        os.chmod(locked, 0o700)


def test_output_into_a_directory_path_is_refused(tmp_path, capsys):
    assert main(["list", "--output", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err


def test_list_json_names_every_entry(capsys):
    assert main(["list", "--format", "json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert {d["id"] for d in docs} == {e.id for e in all_entries()}
    assert all(d["source"] and d["statement"] and d["mutants"] for d in docs)


@pytest.mark.skipif(FIRST is None, reason="empty catalog")
def test_show_prints_statement_source_and_mutants(capsys):
    assert main(["show", FIRST]) == 0
    out = capsys.readouterr().out
    entry = all_entries()[0]
    assert entry.statement in out and entry.source.catalog in out
    assert all(m.name in out for m in entry.mutants)


@pytest.mark.skipif(FIRST is None, reason="empty catalog")
def test_verify_json_report_has_the_documented_shape(tmp_path):
    path = tmp_path / "report.json"
    assert main(["--quiet", "verify", FIRST, "--format", "json", "--output", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert set(doc) == {"entries", "summary", "versions"}
    (entry,) = doc["entries"]
    assert entry["id"] == FIRST
    assert {"id", "kind", "title", "statement", "source", "status", "checks"} <= set(entry)
    for check in entry["checks"]:
        assert {"route", "status", "metric", "seconds", "dps"} <= set(check)
        assert check["dps"] == 50
    assert any(c["route"] == "mutant" and c["status"] == "REJECTED" for c in entry["checks"])
    assert doc["summary"]["entries"] == 1 and doc["summary"]["failed"] == 0
    assert doc["versions"]["sympy"]
    assert not [p for p in tmp_path.iterdir() if p.name != "report.json"], "temp file left behind"


@pytest.mark.skipif(FIRST is None, reason="empty catalog")
def test_verify_text_has_one_line_per_check_and_a_summary(capsys):
    assert main(["--quiet", "verify", FIRST, "--dps", "30"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    entry = all_entries()[0]
    check_lines = [ln for ln in lines if FIRST in ln]
    assert len(check_lines) == len(entry.checks) + len(entry.mutants)
    assert "30 digits" in lines[-1] and "entries" in lines[-1]


def test_verify_exits_1_when_a_check_fails(monkeypatch, capsys):
    from proofs_check.catalog import Check, Entry, Mutant, Outcome, Ref, Status
    import proofs_check.catalog as catalog

    def fails(claim, ctx):
        return Outcome(Status.FAIL, "always fails")

    bad = Entry("toy.always_false", "false", "identity", "0 = 1", Ref("T0", "fixture"), 0,
                (Check("symbolic", fails), Check("numeric", fails)), (Mutant("m", "m", 1),))
    monkeypatch.setattr(catalog, "select", lambda patterns: [bad])
    assert main(["--quiet", "verify"]) == 1
    assert "FAIL" in capsys.readouterr().out
