"""Catalog-level errors, added to the hierarchy rooted in :mod:`numerics.errors`."""

from __future__ import annotations

from numerics.errors import DiffusionProofsError, InvalidParameter, NotProved, PrecisionLoss

__all__ = [
    "CatalogError",
    "DiffusionProofsError",
    "InvalidParameter",
    "NotProved",
    "PrecisionLoss",
    "UnknownEntry",
    "UsageError",
]


class UnknownEntry(InvalidParameter):
    """An entry id or pattern that names nothing in the catalog."""


class CatalogError(DiffusionProofsError):
    """A catalog entry breaks a house rule (no mutant, one route, a reused id, ...)."""


class UsageError(DiffusionProofsError):
    """A command line that cannot be carried out as written."""
