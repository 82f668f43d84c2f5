"""numerics: the lowest layer of diffusion-proofs.

High-precision (mpmath) routes that confirm identities independently of their closed forms,
exact Gaussian evolutions, reference tables, accurate float64 kernels and hypothesis
strategies.  This package never imports ``identities`` or ``proofs_check``; it is usable as a
plain library.  Precision changes only in :mod:`numerics.precision`.
"""

from numerics.errors import DiffusionProofsError, InvalidParameter, NotProved, PrecisionLoss
from numerics.precision import DEFAULT_DPS, workdps

__all__ = [
    "DEFAULT_DPS",
    "DiffusionProofsError",
    "InvalidParameter",
    "NotProved",
    "PrecisionLoss",
    "workdps",
]
