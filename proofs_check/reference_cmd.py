"""``diffusion-proofs reference ...``: exact tables at a chosen precision, printed or written.

Subcommands (each takes ``--dps N``, ``--digits N``, ``--format text|md|csv|json|npz`` and
``--output FILE``, before or after the subcommand name)::

    reference schedule  --schedule linear --T 1000 [--columns alpha_bar,beta_tilde] [--rows 0:10]
    reference timesteps --spacing trailing --T 1000 --steps 50   (or --openai ddim50)
    reference ddim      --schedule linear --T 1000 --spacing leading --steps 50 --eta 1
    reference karras    --n 10 --sigma-min 0.0292 --sigma-max 14.6 [--rho 7] [--no-zero]
    reference edm       --sigma 0.002 1 80 [--sigma-data 0.5]
    reference sde       --kind vp --t 1e-5 0.5 1 [--beta-min 0.1 --beta-max 20]

Numbers are given exactly as decimal strings (``0.0001``, ``1/3``) and printed with ``--digits``
significant digits (default: ``--dps``).  csv and text print the same strings; json gives each
column as a list of strings (a JSON float would lose the digits); npz holds float64 arrays
rounded to nearest (int64 for indices) and a ``meta`` string (JSON), and needs ``--output``.
The tables come from :mod:`numerics.schedules`.
"""

from __future__ import annotations

import argparse
import io
import json
from typing import Callable

import mpmath
import numpy as np

from numerics import schedules as ns
from numerics.errors import InvalidParameter
from numerics.precision import DEFAULT_DPS, check_dps
from proofs_check import argtypes
from proofs_check.errors import UsageError

__all__ = ["FORMATS", "configure", "run"]

FORMATS = ("text", "md", "csv", "json", "npz")
_SUPPRESS = argparse.SUPPRESS


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """--dps/--digits/--format/--output; defaults suppressed so an earlier value survives."""
    parser.add_argument("--dps", type=argtypes.dps, default=_SUPPRESS, metavar="N",
                        help=f"working decimal digits (default {DEFAULT_DPS})")
    parser.add_argument("--digits", type=argtypes.int_at_least(1), default=_SUPPRESS, metavar="N",
                        help="significant digits printed (default: --dps)")
    parser.add_argument("--format", choices=FORMATS, default=_SUPPRESS,
                        help="text (default), md, csv, json, or npz (needs --output)")
    parser.add_argument("--output", "-o", default=_SUPPRESS, metavar="FILE",
                        help="write to FILE atomically instead of stdout")


def _add_schedule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schedule", default="linear", choices=ns.BETA_SCHEDULES,
                   help="beta schedule (default linear)")
    p.add_argument("--T", type=argtypes.int_at_least(1), default=1000, help="training steps (default 1000)")
    p.add_argument("--beta-start", default="0.0001", metavar="B0",
                   help="first beta, exact decimal (default 0.0001)")
    p.add_argument("--beta-end", default="0.02", metavar="B1",
                   help="last beta, exact decimal (default 0.02)")
    p.add_argument("--max-beta", default="0.999", help="cap of the ratio-rule schedules")
    p.add_argument("--openai-scale", action="store_true",
                   help="scale the linear betas by 1000/T (OpenAI)")
    p.add_argument("--zero-snr", action="store_true",
                   help="rescale to zero terminal SNR (Lin et al. 2023)")
    p.add_argument("--betas-file", metavar="FILE",
                   help="user betas: a text file of exact decimals (overrides --schedule)")


def configure(subparsers) -> argparse.ArgumentParser:
    """Add the ``reference`` subcommand (and its own subcommands) to ``subparsers``."""
    parser = subparsers.add_parser(
        "reference", help="exact tables: schedules, timesteps, DDIM, Karras, EDM, SDE marginals",
        description="Print or write exact reference tables computed with mpmath at --dps "
                    "digits. Numbers are given as exact decimals such as 0.0001 or 1/3.")
    _add_output_options(parser)
    sub = parser.add_subparsers(dest="table", metavar="TABLE")

    p = sub.add_parser("schedule", help="per-step table of a beta schedule")
    _add_schedule_options(p)
    p.add_argument("--columns", default="beta,alpha_bar,beta_tilde,sigma",
                   help="comma-separated columns, or 'all': " + ", ".join(ns.TABLE_COLUMNS))
    p.add_argument("--rows", default=None, metavar="SPEC",
                   help="rows to print, e.g. '0:10,998,999' (default: all)")
    _add_output_options(p)

    p = sub.add_parser("timesteps", help="inference timesteps of a spacing rule")
    p.add_argument("--spacing", choices=ns.SPACINGS, default="leading")
    p.add_argument("--T", type=argtypes.int_at_least(1), default=1000)
    p.add_argument("--steps", type=argtypes.int_at_least(1), default=50, metavar="N",
                   help="number of inference steps")
    p.add_argument("--steps-offset", type=argtypes.int_at_least(0), default=0)
    p.add_argument("--openai", metavar="SPEC", default=None,
                   help="OpenAI respacing instead, e.g. '50', '10,20' or 'ddim50'")
    _add_output_options(p)

    p = sub.add_parser("ddim", help="DDIM sigma_t(eta) along a timestep table")
    _add_schedule_options(p)
    p.add_argument("--spacing", choices=ns.SPACINGS, default="leading")
    p.add_argument("--steps", type=argtypes.int_at_least(1), default=50, metavar="N")
    p.add_argument("--steps-offset", type=argtypes.int_at_least(0), default=0)
    p.add_argument("--eta", default="0", help="DDIM eta, exact decimal (default 0)")
    p.add_argument("--final-alpha-bar", default="1",
                   help="alpha_bar after the last step (1 = diffusers set_alpha_to_one)")
    _add_output_options(p)

    p = sub.add_parser("karras", help="Karras et al. sigmas")
    p.add_argument("--n", type=argtypes.int_at_least(1), required=True, help="number of sigmas")
    p.add_argument("--sigma-min", required=True)
    p.add_argument("--sigma-max", required=True)
    p.add_argument("--rho", default="7")
    p.add_argument("--no-zero", action="store_true", help="do not append the final 0")
    _add_output_options(p)

    p = sub.add_parser("edm", help="EDM preconditioning c_skip, c_out, c_in, c_noise")
    p.add_argument("--sigma", nargs="+", required=True, help="one or more noise levels")
    p.add_argument("--sigma-data", default="0.5")
    _add_output_options(p)

    p = sub.add_parser("sde", help="VP / sub-VP / VE SDE marginals (mean coefficient, std)")
    p.add_argument("--kind", choices=ns.SDE_KINDS, default="vp")
    p.add_argument("--t", nargs="+", required=True, help="one or more times in [0, 1]")
    p.add_argument("--beta-min", default="0.1")
    p.add_argument("--beta-max", default="20")
    p.add_argument("--sigma-min", default="0.01")
    p.add_argument("--sigma-max", default="50")
    _add_output_options(p)

    parser.set_defaults(handler=run, _reference_parser=parser)
    return parser


# --------------------------------------------------------------------------- tables

def _rows(spec: str | None, T: int) -> list[int]:
    if spec is None:
        return list(range(T))
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if ":" in part:
                lo, hi = part.split(":", 1)
                start = int(lo) if lo.strip() else 0
                stop = int(hi) if hi.strip() else T
                idx = list(range(T))[start:stop]
            else:
                i = int(part)
                if not -T <= i < T:
                    raise ValueError
                idx = [i % T]
        except ValueError:
            raise InvalidParameter("--rows", spec, f"indices or ranges a:b within [0, {T})",
                                   hint="e.g. '0:10,998,999'") from None
        out += idx
    if not out:
        raise InvalidParameter("--rows", spec, "a selection with at least one row")
    return out


def _read_betas(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(50_000_000)
    except OSError as exc:
        raise InvalidParameter("--betas-file", path, "a readable text file",
                               hint=exc.strerror or str(exc)) from None
    values = text.replace(",", " ").split()
    if not values:
        raise InvalidParameter("--betas-file", path, "a file with at least one number")
    return values


def _schedule_table(args, dps: int) -> ns.ScheduleTable:
    if args.betas_file:
        return ns.table_from_betas(_read_betas(args.betas_file), dps=dps,
                                   allow_terminal_one=False, description=args.betas_file)
    return ns.schedule_table(args.schedule, args.T, beta_start=args.beta_start,
                             beta_end=args.beta_end, openai_scale=args.openai_scale,
                             max_beta=args.max_beta, rescale_zero_snr=args.zero_snr, dps=dps)


def _table_schedule(args, dps):
    tab = _schedule_table(args, dps)
    names = list(ns.TABLE_COLUMNS) if args.columns.strip() == "all" else \
        [c.strip() for c in args.columns.split(",") if c.strip()]
    unknown = [c for c in names if c not in ns.TABLE_COLUMNS]
    if unknown or not names:
        raise InvalidParameter("--columns", args.columns,
                               "'all' or names among " + ", ".join(ns.TABLE_COLUMNS))
    rows = _rows(args.rows, tab.T)
    cols = {"t": rows}
    cols.update({c: [tab[c][i] for i in rows] for c in names})
    return f"schedule {tab.description}", cols


def _table_timesteps(args, dps):
    if args.openai is not None:
        kept = ns.openai_respacing(args.T, args.openai)
        return f"openai respacing {args.openai!r} of T={args.T} (ascending)", {"t": kept}
    ts = ns.timesteps(args.spacing, args.T, args.steps, steps_offset=args.steps_offset)
    return (f"{args.spacing} timesteps, T={args.T}, N={args.steps}, "
            f"steps_offset={args.steps_offset}"), {"k": list(range(len(ts))), "t": ts}


def _table_ddim(args, dps):
    tab = _schedule_table(args, dps)
    steps = ns.timesteps(args.spacing, tab.T, args.steps, steps_offset=args.steps_offset)
    if steps and steps[0] >= tab.T:
        raise InvalidParameter("--steps-offset", args.steps_offset,
                               f"an offset keeping every timestep below T = {tab.T}")
    cols = ns.ddim_table(tab, steps, args.eta, final_alpha_bar=args.final_alpha_bar, dps=dps)
    return f"ddim eta={args.eta}, {args.spacing}, {tab.description}", cols


def _table_karras(args, dps):
    sig = ns.karras_sigmas(args.n, args.sigma_min, args.sigma_max, args.rho,
                           append_zero=not args.no_zero, dps=dps)
    return (f"karras n={args.n}, sigma_min={args.sigma_min}, sigma_max={args.sigma_max}, "
            f"rho={args.rho}"), {"k": list(range(len(sig))), "sigma": sig}


def _table_edm(args, dps):
    cols: dict[str, list] = {"sigma": [], "c_skip": [], "c_out": [], "c_in": [], "c_noise": []}
    for s in args.sigma:
        vals = ns.edm_preconditioning(s, args.sigma_data, dps=dps)
        cols["sigma"].append(s)
        for k, v in vals.items():
            cols[k].append(v)
    return f"edm sigma_data={args.sigma_data}", cols


def _table_sde(args, dps):
    cols: dict[str, list] = {"t": [], "mean_coef": [], "std": [], "variance": []}
    for t in args.t:
        vals = ns.sde_marginal(args.kind, t, beta_min=args.beta_min, beta_max=args.beta_max,
                               sigma_min=args.sigma_min, sigma_max=args.sigma_max, dps=dps)
        cols["t"].append(t)
        for k, v in vals.items():
            cols[k].append(v)
    return f"{args.kind} sde marginal", cols


_TABLES: dict[str, Callable] = {
    "schedule": _table_schedule, "timesteps": _table_timesteps, "ddim": _table_ddim,
    "karras": _table_karras, "edm": _table_edm, "sde": _table_sde,
}


# --------------------------------------------------------------------------- rendering

def _text(value, digits: int) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, str):
        return value
    v = mpmath.mpmathify(value)
    if mpmath.isnan(v):
        return "nan"
    if mpmath.isinf(v):
        return "inf" if v > 0 else "-inf"
    return mpmath.nstr(v, digits, min_fixed=-4, max_fixed=digits)


def _render(title: str, cols: dict[str, list], fmt: str, digits: int, dps: int) -> str | bytes:
    names = list(cols)
    cells = {n: [_text(v, digits) for v in cols[n]] for n in names}
    nrows = len(next(iter(cells.values()))) if cells else 0
    if fmt == "json":
        return json.dumps({"table": title, "dps": dps, "digits": digits,
                           "columns": cells}, indent=1) + "\n"
    if fmt == "csv":
        lines = [",".join(names)] + [",".join(cells[n][i] for n in names) for i in range(nrows)]
        return "\n".join(lines) + "\n"
    if fmt == "md":
        lines = [f"**{title}** (dps={dps})", "", "| " + " | ".join(names) + " |",
                 "|" + "---|" * len(names)]
        lines += ["| " + " | ".join(cells[n][i] for n in names) + " |" for i in range(nrows)]
        return "\n".join(lines) + "\n"
    if fmt == "npz":
        arrays = {}
        for n in names:
            vals = cols[n]
            if all(isinstance(v, (int, np.integer)) for v in vals):
                arrays[n] = np.asarray(vals, dtype=np.int64)
            else:
                arrays[n] = ns.to_float64(mpmath.mpmathify(v) if isinstance(v, str) else v
                                          for v in vals)
        arrays["meta"] = np.array(json.dumps({"table": title, "dps": dps,
                                              "columns": names}))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()
    widths = {n: max([len(n)] + [len(c) for c in cells[n]]) for n in names}
    lines = [f"# {title} (dps={dps})", "  ".join(n.rjust(widths[n]) for n in names)]
    lines += ["  ".join(cells[n][i].rjust(widths[n]) for n in names) for i in range(nrows)]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Handler of ``diffusion-proofs reference``: returns the exit code (0)."""
    table = getattr(args, "table", None)
    if table not in _TABLES:
        raise UsageError("reference: name a table: " + ", ".join(_TABLES)
                         + " (see 'diffusion-proofs reference --help')")
    dps = check_dps(getattr(args, "dps", DEFAULT_DPS) or DEFAULT_DPS, "--dps")
    digits = getattr(args, "digits", None) or dps
    if not isinstance(digits, int) or digits < 1 or digits > dps:
        raise InvalidParameter("--digits", digits, f"an integer in [1, --dps = {dps}]")
    fmt = getattr(args, "format", "text") or "text"
    if fmt not in FORMATS:
        raise InvalidParameter("--format", fmt, "one of " + ", ".join(FORMATS))
    output = getattr(args, "output", None)
    if fmt == "npz" and not output:
        raise UsageError("reference: --format npz needs --output FILE (binary data)")
    title, cols = _TABLES[table](args, dps)
    data = _render(title, cols, fmt, digits, dps)
    if output:
        from proofs_check.report import write_atomic
        write_atomic(output, data)
    else:
        import sys
        sys.stdout.write(data if isinstance(data, str) else data.decode("utf-8"))
    return 0
