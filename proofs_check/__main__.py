"""``python -m proofs_check`` is the ``diffusion-proofs`` command."""

import sys

from proofs_check.cli import main

sys.exit(main())
