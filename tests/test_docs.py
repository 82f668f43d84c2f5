"""The examples in docstrings and the README run as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import numerics.errors
import proofs_check.bounds

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("module", [proofs_check.bounds, numerics.errors],
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


def test_readme_prove_your_own_derivation_example_runs():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"### Prove your own derivation\n\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # the README's own code, not user input
    assert namespace["result"].status == "PROVED"
