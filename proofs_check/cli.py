"""The ``diffusion-proofs`` command line (also ``python -m proofs_check``).

Subcommands::

    diffusion-proofs list [PATTERN ...]            the catalog, one entry a line
    diffusion-proofs show ID                       one entry: statement, source, checks, mutants
    diffusion-proofs verify [ID or GLOB ...]       run the checks (all entries by default)
    diffusion-proofs reference ...                 exact tables (schedules, timesteps, sigmas)
    diffusion-proofs check TARGET [PATH]           reference checks against another codebase

Global options (before or after the subcommand): ``--format text|md|json``, ``--output FILE``,
``--dps N``, ``--seed N``, ``--quiet``.

Exit codes: 0 nothing failed; 1 a check failed; 2 bad usage or bad input (one line on stderr,
never a traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Optional, Sequence

from numerics.errors import DiffusionProofsError, InvalidParameter
from numerics.precision import DEFAULT_DPS
from proofs_check import __version__, argtypes

PROG = "diffusion-proofs"
#: Subcommands contributed by other modules: each has configure(subparsers) setting a handler.
EXTENSIONS = ("proofs_check.reference_cmd", "proofs_check.check_cmd")
#: Every format some command writes; each command refuses the ones it cannot produce.
FORMATS = ("text", "md", "json", "csv", "npz")
#: Print progress once a run has taken this long (seconds).
PROGRESS_AFTER = 2.0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {message} (see '{PROG} --help')\n")


def _add_global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """Add the global options; on a subparser, skip any the subcommand defines itself.

    On subparsers the defaults are suppressed so that an option given before the subcommand
    is not overwritten by the subparser's default.
    """
    d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    options = [
        (("--format",), dict(choices=FORMATS, default=d("text"),
                             help="output format (default: text; csv and npz for tables)")),
        (("--output", "-o"), dict(metavar="FILE", default=d(None),
                                  help="write the output to FILE (atomically) instead of stdout")),
        (("--dps",), dict(type=argtypes.dps, default=d(DEFAULT_DPS), metavar="N",
                          help=f"decimal digits for numeric routes (default {DEFAULT_DPS})")),
        (("--seed",), dict(type=argtypes.int_at_least(0), default=d(0), metavar="N",
                           help="seed of the drawn parameter points (default 0)")),
        (("--quiet", "-q"), dict(action="store_true", default=d(False),
                                 help="no progress output on stderr")),
    ]
    for flags, kwargs in options:
        if any(flag in parser._option_string_actions for flag in flags):
            continue
        parser.add_argument(*flags, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Check the mathematics of diffusion models: symbolic proofs, "
                    "high-precision confirmations, property-tested bounds, reference checks.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("list", help="list catalog entries")
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="ids, topics or globs")
    _add_global_options(p, top=False)
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("show", help="show one entry: statement, source, checks, mutants")
    p.add_argument("id", metavar="ID")
    _add_global_options(p, top=False)
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("verify", help="run the checks of entries (all by default)")
    p.add_argument("patterns", nargs="*", metavar="ID",
                   help="entry ids, topics or globs such as 'ddpm.*' (default: every entry)")
    p.add_argument("--effort", type=float, default=1.0, metavar="X",
                   help="multiply the number of drawn points (default 1)")
    _add_global_options(p, top=False)
    p.set_defaults(handler=cmd_verify)

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        before = set(sub.choices)
        module.configure(sub)
        for added in set(sub.choices) - before:
            _add_global_options(sub.choices[added], top=False)
    return parser


def _report_format(args: argparse.Namespace) -> str:
    if args.format not in ("text", "md", "json"):
        raise InvalidParameter("--format", args.format, f"text, md or json for '{args.command}'")
    return args.format


def _emit(args: argparse.Namespace, text: str) -> None:
    if args.output:
        from proofs_check.report import write_atomic

        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)


def cmd_list(args: argparse.Namespace) -> int:
    from proofs_check.catalog import select
    from proofs_check.report import render_entries

    _emit(args, render_entries(select(args.patterns), _report_format(args)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from proofs_check.catalog import get
    from proofs_check.report import render_entries

    _emit(args, render_entries([get(args.id)], _report_format(args), full=True))
    return 0


class _Progress:
    """Progress on stderr, once a run has lasted more than a couple of seconds."""

    def __init__(self, quiet: bool) -> None:
        self.start = time.monotonic()
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.shown = False

    def entry_done(self, result, i: int, n: int) -> None:
        elapsed = time.monotonic() - self.start
        if self.quiet or elapsed < PROGRESS_AFTER:
            return
        line = (f"[{i}/{n}] {result.status.value:<12} {result.entry.id} "
                f"({result.seconds:.1f}s, {elapsed:.0f}s elapsed)")
        if self.tty:
            sys.stderr.write("\r\033[K" + line + ("\n" if i == n else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        self.shown = True


def cmd_verify(args: argparse.Namespace) -> int:
    from proofs_check.catalog import select
    from proofs_check.entry import Context
    from proofs_check.report import check_writable, render
    from proofs_check.runner import run

    fmt = _report_format(args)
    if args.output:
        check_writable(args.output)  # fail now, not after the run
    if not (0 < args.effort <= 100):
        raise InvalidParameter("--effort", args.effort, "a number in (0, 100]")
    entries = select(args.patterns)
    progress = _Progress(args.quiet)
    result = run(entries, Context(dps=args.dps, seed=args.seed, effort=args.effort),
                 on_entry=progress.entry_done)
    _emit(args, render(result, fmt))
    return 1 if result.failed else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help(sys.stderr)
            return 2
        return int(args.handler(args))
    except DiffusionProofsError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug in the suite: still one line, unless --debug
        if debug:
            raise
        sys.stderr.write(f"{PROG}: internal error: {type(exc).__name__}: {exc} "
                         f"(rerun with --debug for the traceback; please report it)\n")
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
