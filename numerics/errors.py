"""The suite's exception hierarchy, rooted here in the lowest layer.

Every error a user can cause derives from :class:`DiffusionProofsError`, so a caller (and the
command line) can catch one class.  Messages name the parameter, the value given and what is
valid, so that the line alone tells the user what to change.

``proofs_check.errors`` re-exports these and adds the catalog-level errors.
"""

from __future__ import annotations

__all__ = [
    "DiffusionProofsError",
    "InvalidParameter",
    "NotProved",
    "PrecisionLoss",
]


class DiffusionProofsError(Exception):
    """Root of every error raised on purpose by diffusion-proofs."""


def _show(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InvalidParameter(DiffusionProofsError, ValueError):
    """A parameter is outside its domain: the message names it, its value and what is valid.

    >>> raise InvalidParameter("beta", 1.5, "a number in (0, 1)")
    Traceback (most recent call last):
    ...
    numerics.errors.InvalidParameter: beta=1.5 is invalid: expected a number in (0, 1)
    """

    def __init__(self, name: str, value: object, valid: str, hint: str = "") -> None:
        self.name = name
        self.value = value
        self.valid = valid
        message = f"{name}={_show(value)} is invalid: expected {valid}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class PrecisionLoss(DiffusionProofsError, ArithmeticError):
    """A computation could not reach the requested accuracy at the requested precision."""


class NotProved(DiffusionProofsError):
    """Raised by assertion helpers when a claimed identity or bound could not be proved."""

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result
