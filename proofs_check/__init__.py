"""proofs_check: the catalog of statements, the bounds, the runner, reports and command line.

The top layer of diffusion-proofs (``proofs_check -> identities -> numerics``).  Use

* :func:`proofs_check.catalog.select` / :func:`proofs_check.catalog.get` to find entries,
* :func:`proofs_check.runner.run` / :func:`proofs_check.runner.run_entry` to check them,
* ``diffusion-proofs`` (or ``python -m proofs_check``) on the command line.
"""

__version__ = "0.1.0"
