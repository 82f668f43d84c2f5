"""identities: sympy statements and proofs of the identities of diffusion models.

The public proof engine lives in :mod:`identities.proof`; this package never imports
``proofs_check`` (imports point down only).
"""

from identities.inequality import prove_nonnegative
from identities.proof import (
    FAIL,
    INCONCLUSIVE,
    PROVED,
    ProofResult,
    prove_equal,
    prove_zero,
)

__all__ = [
    "FAIL",
    "INCONCLUSIVE",
    "PROVED",
    "ProofResult",
    "prove_equal",
    "prove_nonnegative",
    "prove_zero",
]
