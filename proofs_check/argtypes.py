"""argparse types shared by the command line's subcommands.

Each raises ``argparse.ArgumentTypeError`` with a message that names the value and what is
valid; argparse prefixes the option, and the CLI prints it as one line with exit code 2.
"""

from __future__ import annotations

import argparse
from typing import Callable

from numerics.precision import MAX_DPS, MIN_DPS

__all__ = ["dps", "int_at_least"]


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is invalid: expected an integer >= {low}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is invalid: expected an integer >= {low}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def dps(text: str) -> int:
    """An argparse type: decimal digits for the numeric routes, in [MIN_DPS, MAX_DPS]."""
    valid = f"expected an integer number of digits in [{MIN_DPS}, {MAX_DPS}]"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is invalid: {valid}") from None
    if not MIN_DPS <= value <= MAX_DPS:
        raise argparse.ArgumentTypeError(f"{value} is invalid: {valid}")
    return value
