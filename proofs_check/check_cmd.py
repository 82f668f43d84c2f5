"""``diffusion-proofs check TARGET [PATH]``: reference checks against another codebase.

Targets (reference_targets.md):

=============  =====================================================================
diffusers      the installed diffusers package (no PATH)
torch          torch.distributions KL, F.kl_div, scipy divergences (no PATH)
k-diffusion    k_diffusion/sampling.py and external.py, loaded by path (PATH optional:
               a k_diffusion directory or a checkout; default the installed wheel)
openai PATH    an improved-diffusion or guided-diffusion checkout
score_sde PATH a score_sde_pytorch checkout
arrays FILE    named arrays in .npz or .json (schema: proofs_check/interop/arrays.py)
=============  =====================================================================

Output: ``--format text|md|json`` (JSON: {"target", "version", "results": [{"check", "quantity",
"where", "max_rel_err", "max_ulps", "worst", "tolerance", "status", "explanation"}],
"summary"}), ``--output FILE`` (written atomically).  Exit code 0 when nothing FAILs, 1 when
something does, 2 for bad input (one line on stderr, raised as InvalidParameter/UsageError).
"""

from __future__ import annotations

import argparse
import sys

from numerics.errors import InvalidParameter
from proofs_check.errors import UsageError

#: target -> (module under proofs_check.interop, PATH: "none" | "optional" | "required")
TARGETS = {
    "diffusers": ("diffusers", "none"),
    "torch": ("torch_kl", "none"),
    "k-diffusion": ("kdiffusion", "optional"),
    "openai": ("openai", "required"),
    "score_sde": ("score_sde", "required"),
    "arrays": ("arrays", "required"),
}
ALIASES = {"kdiffusion": "k-diffusion", "k_diffusion": "k-diffusion", "score-sde": "score_sde",
           "scoresde": "score_sde", "improved-diffusion": "openai", "guided-diffusion": "openai"}


def configure(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="reference checks against another codebase (diffusers, torch, k-diffusion, "
                      "openai PATH, score_sde PATH, arrays FILE)",
        description=__doc__.split("\n\n")[0])
    p.add_argument("target", metavar="TARGET", help="one of " + ", ".join(TARGETS))
    p.add_argument("path", nargs="?", metavar="PATH", help="checkout, package directory or file")
    p.set_defaults(handler=run)


def resolve(target: str, path) -> tuple[str, str]:
    name = ALIASES.get(str(target).lower(), str(target).lower())
    if name not in TARGETS:
        raise InvalidParameter("TARGET", target, "one of " + ", ".join(TARGETS))
    module, needs = TARGETS[name]
    if needs == "required" and not path:
        raise UsageError(f"check {name} needs a PATH: diffusion-proofs check {name} "
                         + ("FILE" if name == "arrays" else "PATH"))
    if needs == "none" and path:
        raise UsageError(f"check {name} takes no PATH (it checks the installed package), got {path!r}")
    return name, module


def run_target(target: str, path=None, *, dps: int = 50, seed: int = 0, quiet: bool = True):
    """Run every check of a target and return its Report (the Python API of this command)."""
    import importlib

    name, module = resolve(target, path)
    mod = importlib.import_module(f"proofs_check.interop.{module}")
    if name == "arrays":
        return mod.check_file(path, dps=dps)
    if name in ("diffusers", "torch"):
        if name == "torch":
            return mod.check(dps=dps, seed=seed)
        return mod.check(dps=dps, seed=seed, quiet=quiet)
    return mod.check(path, dps=dps, seed=seed, quiet=quiet)


def run(args: argparse.Namespace) -> int:
    fmt = getattr(args, "format", "text") or "text"
    output = getattr(args, "output", None)
    dps = getattr(args, "dps", 50) or 50
    seed = getattr(args, "seed", 0) or 0
    quiet = bool(getattr(args, "quiet", False))
    if fmt not in ("text", "md", "json"):
        raise InvalidParameter("--format", fmt, "text, md or json")
    if output:
        from proofs_check.report import check_writable

        check_writable(output)  # fail before a long run
    resolve(args.target, args.path)
    if not quiet and args.target in ("diffusers",):
        sys.stderr.write(f"checking {args.target} (about 10-20 s)...\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the targets' deprecation chatter is not our report
        report = run_target(args.target, args.path, dps=dps, seed=seed, quiet=quiet)
    text = report.render(fmt)
    if output:
        from proofs_check.report import write_atomic

        write_atomic(output, text)
    else:
        sys.stdout.write(text)
    return 1 if report.failed else 0
